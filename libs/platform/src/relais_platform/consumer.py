"""The consumer loop every service runs.

It fetches a batch, decodes each record into its typed event, hands the batch to the service's
handler and commits the offsets only once the handler has written its effects. The commit is not
waited for: it goes out in the background, at most once per `consumer_commit_interval_s` with the
offsets of every batch handled meanwhile, and at once when the consumer stops or gives partitions up.
After a small batch it waits `consumer_linger_ms` before fetching again, so that the next one is bigger.
Every record is either handled or dead-lettered: records that are not Relais events, and records the
handler keeps failing on, go to the dead-letter topic with the original bytes (cut to fit if need be);
the loop goes on.
Faults of Kafka or Redis are retried for as long as they last and never dead-letter a record
(relais_platform.faults). Delivery is at least once: handlers are idempotent by (source, id).
"""

import asyncio
import contextlib
import os
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from relais_contracts import DecodeError, Event, decode
from relais_contracts import topics as contract_topics
from relais_platform.faults import infrastructure_fault, retry_infrastructure
from relais_platform.kafka import Publisher, client_options
from relais_platform.logs import bound_to
from relais_platform.metrics import (
    BATCH_SECONDS,
    CONSUMER_LAG,
    DEAD_LETTERS,
    DEADLETTERS_TRUNCATED,
    EVENT_TIME_CLAMPED,
    EVENTS_CONSUMED,
    HANDLER_RETRIES,
    INFRASTRUCTURE_RETRIES,
)
from relais_platform.settings import ServiceSettings

log = structlog.get_logger(__name__)

LOG_APPEND_TIME = 1  # a record's timestamp_type when the broker stamped it
# A batch of fewer records than this is followed by `consumer_linger_ms` before the next fetch: with
# 4 ms, the context store's batches at half the pipeline's maximum went from 13-16 records to 21-22,
# its CPU a message and Kafka's fell 10-12 % and p99 10-17 % (bench/pipeline.py, stop 25).
_SMALL_BATCH = 50
# Bytes of a record's framing beside its key, value and headers (lengths, offsets, attributes), with
# room to spare, and of the batch around a record sent alone.
_RECORD_OVERHEAD = 1024


def log_time(record: ConsumerRecord, settings: ServiceSettings) -> float:
    """The reference time of a record, in seconds: the broker's append time, which no sender can set.

    On a topic stamped with the producer's time instead (CreateTime, e.g. created by hand), the
    producer's time is trusted only as far as the consumer's own clock: never in the future.
    """
    now = time.time()
    if record.timestamp is None or record.timestamp < 0:
        return now
    stamped = float(record.timestamp) / 1000
    return stamped if record.timestamp_type == LOG_APPEND_TIME else min(stamped, now)


def clamp_time(event: Event, at: float, settings: ServiceSettings) -> tuple[Event, str | None]:
    """The event with its `time` replaced by `at` when it is too far from it; and which way it was."""
    claimed = event.time.timestamp()
    if claimed > at + settings.event_time_max_ahead_s:
        direction = "ahead"
    elif claimed < at - settings.event_time_max_behind_s:
        direction = "behind"
    else:
        return event, None
    return event.model_copy(update={"time": datetime.fromtimestamp(at, UTC)}), direction


@dataclass(frozen=True, slots=True)
class Delivery:
    """A decoded event and the record it came from."""

    event: Event
    topic: str  # contract name, without the deployment namespace
    partition: int
    offset: int
    record: ConsumerRecord  # kept for dead-lettering the original bytes
    # The broker's append time of the record, in seconds (see log_time): the clock of a service's
    # timers, which a sender's `time` cannot move. 0 when the delivery was not made from a record.
    log_time: float = 0.0


BatchHandler = Callable[[Sequence[Delivery]], Awaitable[None]]
Partition = tuple[str, int]  # (contract topic, partition)
PartitionsHook = Callable[[set[Partition]], Awaitable[None]]
# Called with the committed offset of each newly assigned partition (None: nothing committed yet);
# returns the offsets to start reading from instead, for a service that keeps its own (a snapshot's).
AssignedHook = Callable[[dict[Partition, int | None]], Awaitable[dict[Partition, int] | None]]
# Called once the handler's failing delivery is dead-lettered, for a handler that keeps bookkeeping
# of deliveries in flight (the router's unsent outputs) to forget it.
DeadLetteredHook = Callable[["Delivery"], Awaitable[None]]


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: "EventConsumer") -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # What was handled is committed while the partitions are still ours: their next owner starts
        # after it instead of handling it again.
        await self._consumer.flush_commits()
        if self._consumer.on_revoked and revoked:
            await self._consumer.on_revoked(
                {(self._consumer.contract(tp.topic), tp.partition) for tp in revoked}
            )

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info(
            "partitions assigned", consumer=self._consumer.name, partitions=sorted(str(tp) for tp in assigned)
        )
        if self._consumer.on_assigned and assigned:
            await self._consumer.seek_assigned(self._consumer.on_assigned, assigned)


class EventConsumer:
    """One consumer group member feeding one handler; `run()` until `stop()`."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        service: str,
        name: str,
        topics: Sequence[str],
        handler: BatchHandler,
        publisher: Publisher,
        on_assigned: AssignedHook | None = None,
        on_revoked: PartitionsHook | None = None,
        on_dead_lettered: DeadLetteredHook | None = None,
        group: str | None = None,
    ) -> None:
        self.name = name
        self.on_dead_lettered = on_dead_lettered
        self.settings = settings
        self.on_assigned = on_assigned
        self.on_revoked = on_revoked
        self._service = service
        self._topics = [settings.topic(t) for t in topics]
        self._handler = handler
        self._publisher = publisher
        self._group = group or settings.group(f"{service}-{name}")
        self._stopping = asyncio.Event()
        self._batches = 0
        # Offsets handled and not yet sent in a commit, and the task committing (one at a time).
        self._uncommitted: dict[TopicPartition, int] = {}
        self._committing: asyncio.Task[None] | None = None
        self._commit_lock = asyncio.Lock()  # commits go out one at a time, in the order handled
        self._commit_now = asyncio.Event()  # set while flushing: no waiting for the interval
        self._last_commit = 0.0
        self.running = False

    def contract(self, physical_topic: str) -> str:
        return physical_topic.removeprefix(self.settings.namespace)

    async def seek_assigned(self, hook: AssignedHook, assigned: set[TopicPartition]) -> None:
        by_contract = {(self.contract(tp.topic), tp.partition): tp for tp in assigned}
        committed = {p: await self._consumer.committed(tp) for p, tp in by_contract.items()}
        for partition, offset in sorted((await hook(committed) or {}).items()):
            log.info("resuming partition from the service's own offset", partition=partition, offset=offset)
            self._consumer.seek(by_contract[partition], offset)

    async def run(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **client_options(self.settings),
            group_id=self._group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        await self._consumer.start()
        self._consumer.subscribe(self._topics, listener=_Rebalance(self))
        self.running = True
        log.info("consumer started", consumer=self.name, group=self._group, topics=self._topics)
        try:
            while not self._stopping.is_set():
                batch = await self._consumer.getmany(
                    timeout_ms=200, max_records=self.settings.consumer_batch_max
                )
                if batch:
                    await self._process(batch)
                    if sum(map(len, batch.values())) < _SMALL_BATCH and self.settings.consumer_linger_ms:
                        await asyncio.sleep(self.settings.consumer_linger_ms / 1000)
            await self.flush_commits()
        except Exception as exc:
            if not (self._stopping.is_set() and infrastructure_fault(exc)):
                raise
            # Stopping during an outage: the batch in hand is not committed, the next owner takes it.
            log.warning(
                "consumer stopped during an infrastructure fault", consumer=self.name, error=repr(exc)
            )
        finally:
            self.running = False
            if self._committing is not None and not self._committing.done():
                self._committing.cancel()  # not flushed: the loop failed, the next owner replays
            await self._consumer.stop()
            log.info("consumer stopped", consumer=self.name)

    def stop(self) -> None:
        """Ask the loop to finish the batch in hand, commit it and leave the group."""
        self._stopping.set()

    async def _process(self, batch: dict[TopicPartition, list]) -> None:  # type: ignore[type-arg]
        started = time.perf_counter()
        deliveries: list[Delivery] = []
        for tp, records in batch.items():
            for record in records:
                delivery = await self._accept(tp, record)
                if delivery is not None:
                    deliveries.append(delivery)
        if deliveries:
            await self._handle(deliveries)
        self._batches += 1
        if self.settings.fault_kill_before_commit and self._batches >= self.settings.fault_kill_before_commit:
            log.warning("fault injection: killing the process before the commit", consumer=self.name)
            os.kill(os.getpid(), signal.SIGKILL)
        offsets = {tp: records[-1].offset + 1 for tp, records in batch.items()}
        self._commit_later(offsets)
        for tp, next_offset in offsets.items():
            end = self._consumer.highwater(tp)
            if end is not None:
                CONSUMER_LAG.labels(self._service, self.name, self.contract(tp.topic), tp.partition).set(
                    end - next_offset
                )
        BATCH_SECONDS.labels(self._service, self.name).observe(time.perf_counter() - started)

    def _commit_later(self, offsets: dict[TopicPartition, int]) -> None:
        """Queue a handled batch's offsets for the next commit.

        A commit per batch, waited for, was a broker round trip in every batch of every hop and a write
        to the offsets topic each: at half the pipeline's maximum rate the broker spent a quarter of its
        CPU on them. Delivery stays at least once: only handled offsets are committed, and a crash
        before their commit replays them to idempotent handlers.
        """
        self._uncommitted.update(offsets)
        if self._committing is not None and self._committing.done():
            self._committing.result()  # a commit that failed for good stops the loop, as it always did
            self._committing = None
        if self._committing is None:
            self._committing = asyncio.create_task(self._commit_uncommitted())

    async def _commit_uncommitted(self) -> None:
        async with self._commit_lock:
            while self._uncommitted:
                due = self._last_commit + self.settings.consumer_commit_interval_s - time.monotonic()
                if due > 0 and not self._commit_now.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._commit_now.wait(), due)
                self._last_commit = time.monotonic()
                assigned = self._consumer.assignment()
                # Offsets of partitions given up meanwhile are the next owner's to commit.
                offsets = {tp: offset for tp, offset in self._uncommitted.items() if tp in assigned}
                self._uncommitted = {}
                if offsets:
                    await self._commit(offsets)

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        try:
            await self._retrying("commit", lambda: self._consumer.commit(offsets))
        except (CommitFailedError, IllegalStateError) as exc:
            # The partitions moved to another member meanwhile; it resumes from the last commit and
            # handlers are idempotent, so the batch is handled again there, not lost.
            log.warning("commit refused after a rebalance", consumer=self.name, error=repr(exc))

    async def flush_commits(self) -> None:
        """Commit everything handled so far, now, and wait for it."""
        self._commit_now.set()
        try:
            committing, self._committing = self._committing, None
            if committing is not None:
                await committing
            await self._commit_uncommitted()
        finally:
            self._commit_now.clear()

    async def _accept(self, tp: TopicPartition, record: ConsumerRecord) -> Delivery | None:
        """The record as a delivery, or None once it is dead-lettered: a record never stops the loop."""
        try:
            event = decode(record.value)
        except DecodeError as exc:
            await self._dead_letter(record, exc.reason, exc.detail)
            return None
        except Exception as exc:  # decode promises DecodeError only; this is the loop's own guarantee
            await self._dead_letter(record, "undecodable", f"{type(exc).__name__}: {exc}")
            return None
        at = log_time(record, self.settings)
        event, clamped = clamp_time(event, at, self.settings)
        topic = self.contract(tp.topic)
        if clamped:
            EVENT_TIME_CLAMPED.labels(self._service, topic, clamped).inc()
            log.warning("event time replaced by the log time", consumer=self.name, direction=clamped)
        return Delivery(event, topic, tp.partition, record.offset, record, at)

    async def _retrying(self, what: str, operation: Callable[[], Awaitable[object]]) -> None:
        await retry_infrastructure(
            operation, service=self._service, consumer=self.name, what=what, stopping=self._stopping.is_set
        )

    async def _handle(self, deliveries: list[Delivery]) -> None:
        """Handle a batch; if it keeps failing, isolate the failing record and dead-letter it alone."""
        try:
            await self._with_retries(deliveries)
        except Exception as exc:
            if infrastructure_fault(exc):
                raise  # only once stopping: an outage never dead-letters a record
            if len(deliveries) == 1:
                await self._dead_letter_delivery(deliveries[0], exc)
                return
            for delivery in deliveries:
                await self._handle([delivery])
            return
        # One labels() lookup per kind of event in the batch, not per event: it validates and locks.
        for (topic, kind), n in Counter((d.topic, d.event.type) for d in deliveries).items():
            EVENTS_CONSUMED.labels(self._service, topic, kind).inc(n)

    async def _with_retries(self, deliveries: list[Delivery]) -> None:
        attempts = self.settings.consumer_attempts

        def give_up(state: RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            infra = exc is not None and infrastructure_fault(exc) is not None
            return self._stopping.is_set() if infra else state.attempt_number >= attempts

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            fault = infrastructure_fault(exc) if exc is not None else None
            if fault:
                INFRASTRUCTURE_RETRIES.labels(self._service, self.name, fault).inc()
            else:
                HANDLER_RETRIES.labels(self._service, self.name).inc()
            log.warning(
                "handler failed, retrying",
                consumer=self.name,
                attempt=state.attempt_number,
                fault=fault,
                error=repr(exc),
            )

        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(Exception),
            stop=give_up,
            wait=wait_exponential(multiplier=0.05, max=5),
            before_sleep=before_sleep,
            reraise=True,
        ):
            with attempt:
                await self._handler(deliveries)

    async def _dead_letter_delivery(self, delivery: Delivery, exc: Exception) -> None:
        with bound_to(delivery.event):
            log.error("handler gave up on event, dead-lettering it", consumer=self.name, exc_info=exc)
            await self._dead_letter(delivery.record, "handler", f"{type(exc).__name__}: {exc}")
        if self.on_dead_lettered is not None:
            await self.on_dead_lettered(delivery)

    async def _dead_letter(self, record: ConsumerRecord, reason: str, error: str) -> None:
        """Publish the record as it was (value, key, headers) with the reason in `relais.dlq.*` headers.

        A copy that would not fit the maximum message size once the headers are added is cut (header
        `relais.dlq.truncated`: the original value's length in bytes), never refused.
        """
        source_topic = self.contract(record.topic)
        ours = [
            ("relais.dlq.reason", reason.encode()),
            ("relais.dlq.error", error[:4000].encode("utf-8", "replace")),
            ("relais.dlq.consumer", self._group.encode()),
            ("relais.dlq.topic", source_topic.encode()),
            ("relais.dlq.partition", str(record.partition).encode()),
            ("relais.dlq.offset", str(record.offset).encode()),
            ("relais.dlq.time", datetime.now(UTC).isoformat().encode()),
        ]
        value, key, headers = fit_dead_letter(
            record.value, record.key, list(record.headers or ()), ours, self.settings.kafka_max_message_bytes
        )
        if len(value) < len(record.value or b""):
            DEADLETTERS_TRUNCATED.labels(self._service, source_topic).inc()
        await self._retrying(
            "dead letter", lambda: self._publisher.send_raw(contract_topics.DEADLETTER, value, key, headers)
        )
        DEAD_LETTERS.labels(self._service, source_topic, reason).inc()
        log.warning(
            "record dead-lettered",
            consumer=self.name,
            reason=reason,
            error=error[:500],
            topic=source_topic,
            partition=record.partition,
            offset=record.offset,
        )


Header = tuple[str, bytes | None]


def fit_dead_letter(
    value: bytes | None, key: bytes | None, original: Sequence[Header], ours: Sequence[Header], max_bytes: int
) -> tuple[bytes, bytes | None, list[Header]]:
    """Value, key and headers of a dead letter, cut to fit `max_bytes`: the value first, then the
    original headers, then the key. Ours (the reason) are always kept."""

    def size(value: bytes, key: bytes | None, headers: list[Header]) -> int:
        return (
            len(value)
            + len(key or b"")
            + sum(len(k.encode("utf-8", "replace")) + len(v or b"") + 16 for k, v in headers)
            + _RECORD_OVERHEAD
        )

    whole = value or b""
    headers: list[Header] = [*original, *ours]
    if size(whole, key, headers) <= max_bytes:
        return whole, key, headers
    headers.append(("relais.dlq.truncated", str(len(whole)).encode()))
    if size(b"", key, headers) > max_bytes:
        headers = [
            *ours,
            ("relais.dlq.truncated", str(len(whole)).encode()),
            ("relais.dlq.headers-dropped", str(len(original)).encode()),
        ]
    if size(b"", key, headers) > max_bytes:
        key = (key or b"")[:1024]
    return whole[: max(0, max_bytes - size(b"", key, headers))], key, headers

"""The consumer loop every service runs.

It fetches a batch, decodes each record into its typed event, hands the batch to the service's
handler and commits the offsets only once the handler has written its effects. Records that are not
Relais events, and records the handler keeps failing on, go to the dead-letter topic with the
original bytes; the loop goes on. Delivery is at least once: handlers are idempotent by event id.
"""

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaConnectionError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from relais_contracts import DecodeError, Event, decode
from relais_contracts import topics as contract_topics
from relais_platform.kafka import Publisher, client_options
from relais_platform.logs import bound_to
from relais_platform.metrics import (
    BATCH_SECONDS,
    CONSUMER_LAG,
    DEAD_LETTERS,
    EVENTS_CONSUMED,
    HANDLER_RETRIES,
)
from relais_platform.settings import ServiceSettings

log = structlog.get_logger(__name__)

# Failures that say nothing about the record: retried without limit, never dead-lettered.
INFRASTRUCTURE_ERRORS = (
    KafkaConnectionError, RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Delivery:
    """A decoded event and the record it came from."""

    event: Event
    topic: str  # contract name, without the deployment namespace
    partition: int
    offset: int
    record: ConsumerRecord  # kept for dead-lettering the original bytes


BatchHandler = Callable[[Sequence[Delivery]], Awaitable[None]]
Partition = tuple[str, int]  # (contract topic, partition)
PartitionsHook = Callable[[set[Partition]], Awaitable[None]]
# Called with the committed offset of each newly assigned partition (None: nothing committed yet);
# returns the offsets to start reading from instead, for a service that keeps its own (a snapshot's).
AssignedHook = Callable[[dict[Partition, int | None]], Awaitable[dict[Partition, int] | None]]


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: "EventConsumer") -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
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
        group: str | None = None,
    ) -> None:
        self.name = name
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
        finally:
            self.running = False
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
                try:
                    event = decode(record.value)
                except DecodeError as exc:
                    await self._dead_letter(record, exc.reason, exc.detail)
                    continue
                deliveries.append(
                    Delivery(event, self.contract(tp.topic), tp.partition, record.offset, record)
                )
        if deliveries:
            await self._handle(deliveries)
        self._batches += 1
        if self.settings.fault_kill_before_commit and self._batches >= self.settings.fault_kill_before_commit:
            log.warning("fault injection: killing the process before the commit", consumer=self.name)
            os.kill(os.getpid(), signal.SIGKILL)
        offsets = {tp: records[-1].offset + 1 for tp, records in batch.items()}
        await self._consumer.commit(offsets)
        for tp, next_offset in offsets.items():
            end = self._consumer.highwater(tp)
            if end is not None:
                CONSUMER_LAG.labels(self._service, self.name, self.contract(tp.topic), tp.partition).set(
                    end - next_offset
                )
        BATCH_SECONDS.labels(self._service, self.name).observe(time.perf_counter() - started)

    async def _handle(self, deliveries: list[Delivery]) -> None:
        """Handle a batch; if it keeps failing, isolate the failing record and dead-letter it alone."""
        try:
            await self._with_retries(deliveries)
        except INFRASTRUCTURE_ERRORS:
            raise
        except Exception as exc:
            if len(deliveries) == 1:
                await self._dead_letter_delivery(deliveries[0], exc)
                return
            for delivery in deliveries:
                await self._handle([delivery])
            return
        for d in deliveries:
            EVENTS_CONSUMED.labels(self._service, d.topic, d.event.type).inc()

    async def _with_retries(self, deliveries: list[Delivery]) -> None:
        attempts = self.settings.consumer_attempts

        def give_up(state: RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            infra = isinstance(exc, INFRASTRUCTURE_ERRORS)
            return self._stopping.is_set() if infra else state.attempt_number >= attempts

        def before_sleep(state: RetryCallState) -> None:
            HANDLER_RETRIES.labels(self._service, self.name).inc()
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "handler failed, retrying", consumer=self.name, attempt=state.attempt_number, error=repr(exc)
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

    async def _dead_letter(self, record: ConsumerRecord, reason: str, error: str) -> None:
        """Publish the record as it was (value, key, headers) with the reason in `relais.dlq.*` headers."""
        source_topic = self.contract(record.topic)
        headers = [
            *(record.headers or ()),
            ("relais.dlq.reason", reason.encode()),
            ("relais.dlq.error", error[:4000].encode()),
            ("relais.dlq.consumer", self._group.encode()),
            ("relais.dlq.topic", source_topic.encode()),
            ("relais.dlq.partition", str(record.partition).encode()),
            ("relais.dlq.offset", str(record.offset).encode()),
            ("relais.dlq.time", datetime.now(UTC).isoformat().encode()),
        ]
        await self._publisher.send_raw(contract_topics.DEADLETTER, record.value or b"", record.key, headers)
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

"""Notice that Redis lost a service's views, and rebuild them from Kafka before taking new records.

Redis only holds views of the Kafka logs. A wipe (FLUSHALL, a restart without persistence, a fail-over
to an empty replica) takes them all; a restart that lost the last writes leaves them older than what
the service knows it applied. Either way the service must not go on as if nothing happened: a
returning customer would be taken for a new one, a mid-conversation customer greeted again.

A *marker* key holds the generation of the views: a random id written once the views are complete
(after a rebuild, or at the first start on an empty log). Every batch checks it first (one script
call): a missing marker, one of another generation than this process last saw, or another run of the
Redis server, means the views went away under it. `SelfHealing` then runs the service's rebuild once,
with its consumers held at the check (paused: a batch waits, nothing is committed), stamps a new
generation and lets them go on. The service also calls `ensure(lost=True)` itself when it sees a lost
suffix (its views' offsets behind what it applied). With several replicas, one rebuilds (a lock key
with a lease) and the others wait for its new marker; a replica that waits stops waiting when its
service stops.

A handler that publishes through `SelfHealing.publisher` checks again after its reads, before anything
reaches the log. That check also stands for its next batch's first one (`before_batch`): one round
trip a batch less.
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import Counter
from redis.asyncio import Redis

from relais_contracts import DecodeError, Outgoing, decode
from relais_platform.consumer import BatchHandler, Delivery
from relais_platform.kafka import Publishes, client_options
from relais_platform.settings import ServiceSettings

log = structlog.get_logger(__name__)

VIEWS_REBUILDS = Counter(
    "relais_views_rebuilds_total",
    "Rebuilds of a service's Redis views from Kafka after they were found missing or behind",
    ["service", "reason"],
)


class ViewsLost(ConnectionError):
    """The views went away while a batch was being decided: its reads may have seen them half gone.
    A ConnectionError, so the consumer loop retries the batch (as for any fault of Redis) and never
    dead-letters it; the retry finds the marker gone and rebuilds first."""


class StoppedWaiting(ConnectionError):
    """The service stops while a batch waits for another replica's rebuild: the batch is left
    uncommitted for the next owner. A ConnectionError, so the consumer loop ends without dead-lettering
    it, as for a fault of Redis or Kafka met while stopping."""


# The marker, the server's run id, and the values of the other keys given (a caller's own check in
# the same trip); a Lua `false` (no such key) comes back as None.
_READ = """
local info = redis.call('INFO', 'server')
local out = {redis.call('GET', KEYS[1]), string.match(info, 'run_id:(%x+)') or ''}
if #KEYS > 1 then out[3] = redis.call('MGET', unpack(KEYS, 2)) end
return out
"""


class ViewsMarker:
    """The marker key of one service's views and the lock of their rebuild."""

    def __init__(self, redis: "Redis", settings: ServiceSettings, service: str) -> None:
        self._redis = redis
        self.key = settings.key("views", service, "generation")
        self._lock = settings.key("views", service, "rebuilding")
        self._read = redis.register_script(_READ)

    async def generation(self) -> str | None:
        raw = await self._redis.get(self.key)
        return raw.decode() if isinstance(raw, bytes) else raw

    async def read(self) -> tuple[str | None, str]:
        """The generation, and the run id of the Redis server (new at each restart of it), in one trip.

        Every batch of every service makes this call: the run id is cut out of INFO by the server, since
        sending INFO's whole section and parsing it here cost more than the rest of the check."""
        generation, run_id, _ = await self.read_with(())
        return generation, run_id

    async def read_with(self, keys: Sequence[str]) -> tuple[str | None, str, list[bytes | None]]:
        """As `read`, with the values of `keys` read in the same trip."""
        raw, run_id, *values = await self._read(keys=[self.key, *keys])
        return (
            raw.decode() if isinstance(raw, bytes) else raw,
            run_id.decode() if isinstance(run_id, bytes) else str(run_id),
            list(values[0]) if values else [],
        )

    async def begin_rebuild(self, owner: str, lease_s: float) -> bool:
        """Take the rebuild lock (or renew it when this owner holds it) and withdraw the marker, so the
        other replicas stop writing; False when another owner holds it."""
        taken = await self._redis.set(self._lock, owner, nx=True, px=int(lease_s * 1000))
        if not taken:
            holder = await self._redis.get(self._lock)
            if (holder.decode() if isinstance(holder, bytes) else holder) != owner:
                return False
            await self._redis.pexpire(self._lock, int(lease_s * 1000))
        await self._redis.delete(self.key)
        return True

    async def finish_rebuild(self) -> str:
        """Stamp a new generation and release the lock, in one MULTI/EXEC."""
        generation = uuid.uuid4().hex
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self.key, generation)
            pipe.delete(self._lock)
            await pipe.execute()
        return generation


class SelfHealing:
    """Holds a service's consumers at a check of the marker; rebuilds when the views went away."""

    def __init__(
        self,
        marker: ViewsMarker,
        rebuild: Callable[[], Awaitable[object]],
        *,
        service: str,
        lease_s: float = 600.0,
        poll_s: float = 0.2,
        follow: Callable[[], Awaitable[object]] | None = None,
        restarted: Callable[[], Awaitable[bool]] | None = None,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self._marker = marker
        self._rebuild = rebuild
        # Run when another replica rebuilt the shared views: for a service whose replicas each hold a
        # part of the state (the router's partitions), to write its own part again.
        self._follow = follow
        # Run when Redis restarted with the marker kept (persistence): it may have lost its last writes.
        # Returns True when the views are behind the log (then they are rebuilt).
        self._restarted = restarted
        # The service's `Runtime.stopping`: another replica's rebuild can outlast the shutdown timeout,
        # which would then cancel the consumer instead of letting it leave the group cleanly.
        self._stopping = stopping
        self._run_id: str | None = None
        self._service = service
        self._lease_s = lease_s
        self._poll_s = poll_s
        self._owner = uuid.uuid4().hex
        self._local = asyncio.Lock()  # one healer per process; the other callers wait on it
        self.generation: str | None = None
        self.rebuilds = 0
        self.healing = False

    async def ensure(self, *, lost: bool = False) -> bool:
        """Return once the views are whole; True when they were just rebuilt (here or elsewhere).

        `lost=True`: the caller saw its views behind what it applied, whatever the marker says."""
        if (
            not lost
            and self.generation is not None
            and await self._marker.read() == (self.generation, self._run_id)
        ):
            return False  # the one round trip of the normal path
        async with self._local:
            current, run_id = await self._marker.read()
            if not lost and current is not None and current == self.generation:
                if run_id == self._run_id:
                    return False  # healed by another caller while this one waited
                restarted = self._run_id is not None
                self._run_id = run_id
                if not restarted:
                    return False
                log.warning("Redis restarted and kept the views: checking them against the log")
                if not (self._restarted and await self._restarted()):
                    return False
                lost = True
            if not lost and current is not None and self.generation is None:
                self.generation, self._run_id = current, run_id  # start-up over views that are whole
                return False
            if not lost and current is not None:
                log.warning("views rebuilt by another replica", service=self._service)
                self.generation, self._run_id = current, run_id
                if self._follow:
                    await self._follow()
                return True
            self.healing = True
            try:
                await self._heal(lost, expected=self.generation)
            finally:
                self.healing = False
            return True

    async def ensure_reading(self, keys: Sequence[str]) -> tuple[bool, list[bytes | None]]:
        """As `ensure()`, with the values of `keys` (the caller's own check) read in the same trip on the
        normal path: (rebuilt, their values; empty after a rebuild)."""
        if self.generation is not None:
            generation, run_id, values = await self._marker.read_with(keys)
            if (generation, run_id) == (self.generation, self._run_id):
                return False, values
        if await self.ensure():
            return True, []
        return False, (await self._marker.read_with(keys))[2]

    async def _heal(self, lost: bool, expected: str | None) -> None:
        reason = "behind" if lost else ("missing" if expected is not None else "missing at start-up")
        while True:
            if await self._marker.begin_rebuild(self._owner, self._lease_s):
                log.warning("views lost: rebuilding them from the log", service=self._service, reason=reason)
                started = time.perf_counter()
                await self._rebuild()
                self.generation = await self._marker.finish_rebuild()
                self._run_id = (await self._marker.read())[1]
                self.rebuilds += 1
                VIEWS_REBUILDS.labels(self._service, reason).inc()
                log.warning(
                    "views rebuilt; taking new records again",
                    service=self._service,
                    seconds=round(time.perf_counter() - started, 3),
                )
                return
            # Another replica rebuilds: wait for its marker.
            current = await self._marker.generation()
            if current is not None and current != expected:
                self.generation = current
                self._run_id = (await self._marker.read())[1]
                if self._follow:
                    await self._follow()
                return
            if self._stopping():
                raise StoppedWaiting(
                    "stopping while another replica rebuilds the views: batch left uncommitted"
                )
            await asyncio.sleep(self._poll_s)

    async def intact(self) -> bool:
        """Whether the views are still the ones this process last found whole: the same generation, on
        the same run of the Redis server."""
        return self.generation is not None and await self._marker.read() == (self.generation, self._run_id)

    def publisher(self, inner: Publishes) -> "CheckedPublisher":
        """`inner`, publishing only while the views are the ones the batch started on: a wipe between
        the check before a batch and its reads would otherwise let a decision made on empty views (a
        returning customer taken for a new one) reach the log."""
        return CheckedPublisher(inner, self)

    async def before_batch(self, vouched_by: "CheckedPublisher | None" = None) -> None:
        """The check before a batch, unless `vouched_by` (the batch handler's own checked publisher)
        found the views whole after the previous batch's reads. Whatever happened to them since, this
        batch's own check after its reads catches before anything reaches the log; and a rebuild
        wipes what a batch wrote before it published, then writes it again from the log."""
        if vouched_by is not None and vouched_by.vouch():
            return
        await self.ensure()

    def guard(self, handler: BatchHandler, vouched_by: "CheckedPublisher | None" = None) -> BatchHandler:
        """`handler`, run only on whole views; `vouched_by`: see `before_batch`."""

        async def guarded(batch: Sequence[Delivery]) -> None:
            await self.before_batch(vouched_by)
            await handler(batch)

        return guarded


class CheckedPublisher:
    """A publisher that checks the views before each publish (`SelfHealing.publisher`); for one handler."""

    def __init__(self, inner: Publishes, healing: SelfHealing) -> None:
        self._inner = inner
        self._healing = healing
        self._whole = False  # the last check found the views whole, and no batch has used that since

    def vouch(self) -> bool:
        """Whether the last check found the views whole; once: the next batch checks for itself."""
        whole, self._whole = self._whole, False
        return whole

    async def publish(self, outgoing: Iterable[Outgoing]) -> None:
        self._whole = False
        if not await self._healing.intact():
            raise ViewsLost("the views changed under this batch: it is decided again on whole views")
        self._whole = True
        await self._inner.publish(outgoing)


# Beyond the commit interval, for a batch in hand to finish (or fail on the withdrawn marker) and its
# commit to reach the broker.
_COMMITS_LAND_S = 0.5


async def handled_offsets(
    settings: ServiceSettings, topic: str, group: str
) -> tuple[list[int], dict[int, int]]:
    """As `committed_offsets`, once every batch the group's consumers handled is committed: a rebuild
    replays up to them while the live consumers carry on from where they are. The consumers commit in
    the background, at most once per `consumer_commit_interval_s`, and take no new batch while the
    marker is withdrawn (a rebuild holds it), so one interval after it was withdrawn they all are."""
    await asyncio.sleep(settings.consumer_commit_interval_s + _COMMITS_LAND_S)
    return await committed_offsets(settings, topic, group)


async def committed_offsets(
    settings: ServiceSettings, topic: str, group: str | None
) -> tuple[list[int], dict[int, int]]:
    """The partitions of a contract topic, and the last offset the consumer group handled in each
    (its committed offset - 1; partitions without a commit are left out)."""
    physical = settings.topic(topic)
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        described = await admin.describe_topics([physical])
        offsets = await admin.list_consumer_group_offsets(group) if group else {}
    finally:
        await admin.close()
    partitions = sorted(p["partition"] for d in described for p in d.get("partitions", ()))
    committed = {
        tp.partition: m.offset - 1 for tp, m in offsets.items() if tp.topic == physical and m.offset > 0
    }
    return partitions, committed


async def replay(
    settings: ServiceSettings, topic: str, until: dict[int, int], handle: BatchHandler
) -> tuple[int, int]:
    """Feed a topic from its beginning to `until` (partition -> last offset, included) to `handle`, in
    batches, as the live consumer would; records that do not decode are skipped (they were
    dead-lettered when consumed live). Returns the events replayed and the records skipped."""
    physical = settings.topic(topic)
    wanted = [TopicPartition(physical, p) for p, last in sorted(until.items()) if last >= 0]
    if not wanted:
        return 0, 0
    consumer = AIOKafkaConsumer(
        **client_options(settings), enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    replayed = skipped = 0
    try:
        consumer.assign(wanted)
        await consumer.seek_to_beginning(*wanted)
        remaining = set(wanted)
        while remaining:
            fetched = await consumer.getmany(
                *remaining, timeout_ms=500, max_records=settings.consumer_batch_max
            )
            batch: list[Delivery] = []
            for tp, records in fetched.items():
                for record in records:
                    if record.offset > until[tp.partition]:
                        continue
                    try:
                        event = decode(record.value)
                    except (DecodeError, ValueError, TypeError, RecursionError):
                        skipped += 1
                        continue
                    batch.append(Delivery(event, topic, tp.partition, record.offset, record))
            if batch:
                await handle(batch)
                replayed += len(batch)
            for tp in list(remaining):
                if await consumer.position(tp) > until[tp.partition]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return replayed, skipped


async def end_offsets(settings: ServiceSettings, topic: str) -> dict[int, int]:
    """The last offset of each partition of a contract topic now (-1 for an empty partition)."""
    physical = settings.topic(topic)
    partitions, _ = await committed_offsets(settings, topic, None)
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        ends = (
            await consumer.end_offsets([TopicPartition(physical, p) for p in partitions])
            if partitions
            else {}
        )
    finally:
        await consumer.stop()
    return {tp.partition: offset - 1 for tp, offset in ends.items()}

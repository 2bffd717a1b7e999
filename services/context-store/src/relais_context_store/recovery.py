"""The context store heals its views by itself when Redis loses them (relais_platform.views_marker).

Both consumers check the views' marker before each batch (the inbound one, after its reads too). The
log consumer also checks that the views' offsets of its partitions are not behind what it applied (a
Redis restart that lost its last writes).
Either finding pauses both consumers while `rebuild` replays the log; then the inbound consumer also
waits until the log consumer has materialized what the log held at that moment: the links and open
conversations of messages resolved just before the loss are only on the log, and resolving a returning
customer's next message without them would take them for a new customer.
"""

import asyncio
import time
from collections.abc import Callable, Sequence

import structlog
from redis.asyncio import Redis

from relais_context_store.adapters.conversation_log import ConversationLog, recorded_offsets
from relais_context_store.consumers import ConversationLogHandler
from relais_context_store.rebuild import LOG_CONSUMER, rebuild
from relais_context_store.service_layer.store_lock import StoreLock
from relais_context_store.settings import ContextStoreSettings
from relais_contracts import topics
from relais_platform.consumer import BatchHandler, Delivery
from relais_platform.views_marker import (
    CheckedPublisher,
    SelfHealing,
    ViewsMarker,
    committed_offsets,
    end_offsets,
)

log = structlog.get_logger(__name__)


class Stopping(ConnectionError):
    """The service stops while an inbound batch waits for the log consumer, which has stopped: the
    batch is left uncommitted for the next owner. A ConnectionError, so the consumer loop ends without
    dead-lettering it, as for a fault of Redis or Kafka met while stopping."""


class ViewsRecovery:
    def __init__(
        self,
        settings: ContextStoreSettings,
        redis: "Redis",
        views: ConversationLog,
        log_handler: ConversationLogHandler,
        lock: StoreLock,
        service: str,
        stopping: Callable[[], bool],
    ) -> None:
        self._settings = settings
        self._views = views
        self._log_handler = log_handler
        self._lock = lock
        self._service = service
        self._stopping = stopping
        self.healing = SelfHealing(
            ViewsMarker(redis, settings, service),
            self._rebuild,
            service=service,
            lease_s=settings.views_rebuild_lease_s,
            restarted=self._restarted,
            stopping=stopping,
        )
        self._applied: dict[int, int] = {}  # log partition -> last offset this process applied
        self._catch_up: dict[int, int] = {}  # log partition -> offset to materialize before resolving

    async def _rebuild(self) -> None:
        async with self._lock.exclusive():
            report = await rebuild(self._settings, self._views, self._log_handler, self._service)
            self._applied = dict(report.partitions)
            ends = await end_offsets(self._settings, topics.CONVERSATIONS)
            self._catch_up = {p: end for p, end in ends.items() if end > report.partitions.get(p, -1)}

    async def _restarted(self) -> bool:
        """Redis restarted and kept the views (persistence), perhaps without its last writes: behind
        what the log consumer committed means rebuild; else inbound waits for the log consumer to
        materialize what the log holds (the resolver's own writes of the last moment may be lost)."""
        group = self._settings.group(f"{self._service}-{LOG_CONSUMER}")
        _, committed = await committed_offsets(self._settings, topics.CONVERSATIONS, group)
        recorded = await self._views.offsets(topics.CONVERSATIONS)
        behind = {p: (recorded.get(p), c) for p, c in committed.items() if recorded.get(p, -1) < c}
        if behind:
            log.warning("the views are behind what the log consumer committed", partitions=behind)
            return True
        ends = await end_offsets(self._settings, topics.CONVERSATIONS)
        self._catch_up = {p: end for p, end in ends.items() if end > recorded.get(p, -1)}
        return False

    async def start(self) -> None:
        """At start-up, before any record: rebuild if the views are not there."""
        await self.healing.ensure()

    def _behind(self, recorded: dict[int, int | None]) -> bool:
        behind = {p: (o, self._applied[p]) for p, o in recorded.items() if o is None or o < self._applied[p]}
        if behind:
            log.warning("the views are behind what this process applied", partitions=behind)
        return bool(behind)

    def log(self, handler: BatchHandler) -> BatchHandler:
        """The conversation log's handler, on whole views. It publishes what the views say (deliveries,
        cancellations) unchecked, so it checks before every batch, with its offsets in the same trip."""

        async def guarded(batch: Sequence[Delivery]) -> None:
            mine = sorted({d.partition for d in batch} & set(self._applied))
            keys = self._views.offset_keys(topics.CONVERSATIONS, mine)
            rebuilt, raw = await self.healing.ensure_reading(keys)
            if not rebuilt and self._behind(recorded_offsets(mine, raw)):
                await self.healing.ensure(lost=True)
            await handler(batch)
            for d in batch:
                self._applied[d.partition] = max(d.offset, self._applied.get(d.partition, -1))

        return guarded

    def inbound(self, handler: BatchHandler, publisher: CheckedPublisher) -> BatchHandler:
        """The inbound handler, on whole views that hold everything the log held when they were rebuilt;
        `publisher`, the handler's own, checks them after its reads (`SelfHealing.before_batch`)."""

        async def guarded(batch: Sequence[Delivery]) -> None:
            await self.healing.before_batch(vouched_by=publisher)
            if self._catch_up:
                await self._caught_up()
            await handler(batch)

        return guarded

    async def _caught_up(self) -> None:
        deadline = time.monotonic() + self._settings.views_catch_up_timeout_s
        while self._catch_up:
            recorded = await self._views.offsets_of(topics.CONVERSATIONS, sorted(self._catch_up))
            self._catch_up = {
                p: end for p, end in self._catch_up.items() if (r := recorded[p]) is None or r < end
            }
            if not self._catch_up:
                log.info("the views hold the whole log again: resolving inbound messages")
                return
            if self._stopping():
                # The log consumer has stopped or is about to: waiting on would hold the stop until
                # the shutdown timeout cancels this consumer.
                raise Stopping("stopping while the log consumer catches up: the batch is left uncommitted")
            if time.monotonic() > deadline:
                log.warning(
                    "the log consumer did not catch up in time; resolving inbound messages anyway",
                    behind=self._catch_up,
                )
                self._catch_up = {}
                return
            await asyncio.sleep(0.05)

"""The router's shell: feeds routing-topic events to the tenants' cores and does their I/O.

A partition of the routing topic is a set of tenants, owned by one instance at a time. The owner
keeps its tenants' routers in memory, publishes their outputs before the offsets are committed, and
saves a snapshot of the partition (with the offset it covers) every few thousand events or seconds.
A new owner loads the snapshot and replays the log after it. Outputs of events below the committed
offset were already published, so the replay only rebuilds state; after that, outputs that may or
may not have been published go out again with the same derived ids, and consumers drop duplicates.
"""

import asyncio
import contextlib
import gc
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import structlog

from relais_contracts import Outgoing, now_time, topics
from relais_contracts.routing import QueuesConfigured, QueuesConfiguredData, TimerTick, TimerTickData
from relais_platform.consumer import Delivery, Partition
from relais_platform.kafka import Publishes
from relais_router import metrics
from relais_router.adapters.config_files import read_configs
from relais_router.adapters.snapshots import Snapshots, Views
from relais_router.domain import SOURCE, TenantRouter
from relais_router.domain.view import queue_stats, view_json
from relais_router.settings import RouterSettings

log = structlog.get_logger(__name__)


class _Partition:
    def __init__(self, routers: dict[str, TenantRouter], replay_until: int) -> None:
        self.routers = routers
        self.replay_until = replay_until  # outputs of events below this offset were published
        self.next_offset: int | None = None  # after the last event applied
        self.unsaved = 0
        self.saved_at = time.monotonic()
        # Outputs of events applied by a try of the current batch whose publish has not succeeded:
        # a retry finds the events already applied and sends these. While any are here, the state is
        # ahead of what was published, and is not snapshotted.
        self.unsent: dict[str, list[Outgoing]] = {}


class RoutingHandler:
    def __init__(
        self, settings: RouterSettings, snapshots: Snapshots, views: Views, publisher: Publishes
    ) -> None:
        self._settings = settings
        self._snapshots = snapshots
        self._views = views
        self._publisher = publisher
        self._partitions: dict[int, _Partition] = {}
        # One batch, snapshot or rebalance at a time: a snapshot never sees half a batch.
        self._lock = asyncio.Lock()
        self._ticks_pending: dict[str, float] = {}  # tenant -> when its tick was written
        self._published_configs: dict[str, str] = {}  # tenant -> digest written by this instance
        # tenant -> queues, and away reasons, with gauges set by this instance
        self._gauged: dict[str, tuple[set[str], set[str]]] = {}

    # --- the consumer's hooks -------------------------------------------------------------------

    async def on_assigned(self, committed: dict[Partition, int | None]) -> dict[Partition, int]:
        seek: dict[Partition, int] = {}
        async with self._lock:
            for (topic, partition), offset in sorted(committed.items()):
                loaded = await self._snapshots.load(partition)
                start, routers = loaded if loaded is not None else (0, {})
                self._partitions[partition] = _Partition(routers, replay_until=offset or 0)
                if loaded is not None:
                    self._partitions[partition].next_offset = start  # what a resave may write again
                seek[(topic, partition)] = start
                # The loaded state is long-lived: keep the cyclic collector from rescanning it on
                # every collection, which keeps the decisions' latency tail short.
                _freeze_state()
                log.info(
                    "routing partition taken over",
                    partition=partition,
                    snapshot_offset=start,
                    committed=offset,
                    tenants=len(routers),
                )
        return seek

    async def on_revoked(self, partitions: set[Partition]) -> None:
        async with self._lock:
            for _, partition in sorted(partitions):
                await self._save(partition)
                owned = self._partitions.pop(partition, None)
                for tenant in owned.routers if owned else ():
                    _forget_gauges(tenant, *self._gauged.pop(tenant, (set(), set())))

    async def on_dead_lettered(self, delivery: Delivery) -> None:
        """The event's outputs will never be sent: forget them, or no snapshot would be saved again."""
        async with self._lock:
            if owned := self._partitions.get(delivery.partition):
                owned.unsent.pop(delivery.event.uid, None)

    async def __call__(self, batch: Sequence[Delivery]) -> None:
        async with self._lock:
            outputs: list[Outgoing] = []
            touched: set[int] = set()
            applied: list[tuple[_Partition, str]] = []  # (partition, event uid) of this batch
            for delivery in batch:
                owned = self._partitions.get(delivery.partition)
                if owned is None:
                    continue  # revoked while this batch was in flight: the new owner replays it
                event = delivery.event
                router = owned.routers.get(event.tenant)
                if router is None:
                    router = owned.routers[event.tenant] = TenantRouter(event.tenant)
                if isinstance(event, TimerTick):
                    self._ticks_pending.pop(event.tenant, None)
                # No log context is bound here: the core never logs, and a failure is logged with
                # its event by the consumer (bound_to) once it gives up.
                started = time.perf_counter()
                produced = router.apply(event, delivery.log_time or None)
                metrics.DECISION_SECONDS.observe(time.perf_counter() - started)
                if router.facts:
                    metrics.count(router.tenant, router.facts)
                    router.facts.clear()
                uid = event.uid
                if not produced and uid in owned.unsent:
                    produced = owned.unsent[uid]  # applied by an earlier try of this batch
                owned.unsent[uid] = produced
                applied.append((owned, uid))
                if delivery.offset >= owned.replay_until:
                    outputs.extend(produced)
                owned.next_offset = delivery.offset + 1
                owned.unsaved += 1
                touched.add(delivery.partition)
            # Publish first, snapshot second: a snapshot never covers an event whose outputs are unsent.
            await self._publisher.publish(outputs)
            for owned, uid in applied:
                # Only this batch's: when the consumer retries a failing batch record by record, the
                # records not retried yet keep theirs.
                owned.unsent.pop(uid, None)
            for partition in sorted(touched):
                owned = self._partitions[partition]
                if owned.unsaved >= self._settings.snapshot_every_events:
                    await self._save(partition)

    # --- background loops -----------------------------------------------------------------------

    async def fire_timers(self) -> None:
        """Write a tick to the log for each tenant whose next timer is due and has none in flight;
        save the snapshots that are due by time."""
        now = time.time()
        ticks = []
        for owned in list(self._partitions.values()):
            for tenant, router in owned.routers.items():
                due = router.next_deadline()
                pending = self._ticks_pending.get(tenant)
                # A tick lost with a partition move is written again after a while.
                if due is None or due > now or (pending is not None and now - pending < 10):
                    continue
                self._ticks_pending[tenant] = now
                ticks.append(_tick(tenant, due))
        if ticks:
            await self._publisher.publish(ticks)
        async with self._lock:
            for partition, owned in sorted(self._partitions.items()):
                if owned.unsaved and time.monotonic() - owned.saved_at >= self._settings.snapshot_every_s:
                    await self._save(partition)

    async def refresh_views(self) -> None:
        """Refresh the per-queue gauges and the read API's views of the tenants this instance owns."""
        views = {}
        for owned in list(self._partitions.values()):
            for tenant, router in list(owned.routers.items()):
                queues, reasons = _gauges(router)
                gauged = self._gauged.setdefault(tenant, (set(), set()))
                gauged[0].update(queues)
                gauged[1].update(reasons)
                views[tenant] = view_json(router, self._settings.view_waiting_limit)
        await self._views.save(views)

    async def reload_configs(self) -> None:
        await self.publish_configs()

    async def publish_configs(self) -> list[str]:
        """Write each tenant's changed configuration to the routing topic; returns the files' errors."""
        directory = self._settings.routing_config_dir
        if directory is None:
            return []
        configs, errors = read_configs(directory)
        for error in errors:
            log.error("routing configuration file rejected", error=error)
        changed = [c for c in configs if self._published_configs.get(c.tenant) != c.digest]
        events = [
            Outgoing(
                topics.ROUTING,
                c.tenant,
                QueuesConfigured(
                    # A new id each time: going back to an earlier file is a change too (the core skips
                    # a configuration equal to the one in force by its digest).
                    id=str(uuid.uuid4()),
                    source=SOURCE,
                    time=now_time(),
                    tenant=c.tenant,
                    data=QueuesConfiguredData(config=c.config, digest=c.digest),
                ),
            )
            for c in changed
        ]
        await self._publisher.publish(events)
        for c in changed:
            self._published_configs[c.tenant] = c.digest
            log.info("routing configuration published", tenant=c.tenant, digest=c.digest[:12])
        return errors

    async def save_all(self) -> None:
        async with self._lock:
            for partition in sorted(self._partitions):
                await self._save(partition)

    async def resave(self) -> None:
        """Redis lost the snapshots and views (relais_platform.views_marker): write them again at once
        from the state in memory, so a crash now does not mean a replay from the start."""
        async with self._lock:
            for partition in sorted(self._partitions):
                await self._save(partition, force=True)
        await self.refresh_views()

    async def _save(self, partition: int, *, force: bool = False) -> None:
        owned = self._partitions.get(partition)
        if owned is None or owned.next_offset is None or not (owned.unsaved or force) or owned.unsent:
            return  # nothing new, or a batch applied but not published: the last snapshot stands
        size = await self._snapshots.save(partition, owned.next_offset, owned.routers)
        log.info("routing snapshot saved", partition=partition, offset=owned.next_offset, bytes=size)
        owned.unsaved = 0
        owned.saved_at = time.monotonic()
        _freeze_state()


def _freeze_state() -> None:
    """Take what is alive now out of the cyclic collector's scans, as after a takeover.

    The tenants' state (tens of thousands of waiting conversations with their packets) outlives
    thousands of batches; left to the collector, each full collection walks all of it again (0.3 s
    at 5,000 agents and 50,000 waiting), on the Kafka path and in the decisions' latency tail.
    Frozen objects are still freed by reference counting when the state drops them (it holds no
    cycles); the collection first makes sure no garbage cycle is frozen with them, and it only
    walks what was made since the last freeze."""
    gc.collect()
    gc.freeze()


def _tick(tenant: str, due: float) -> Outgoing:
    event = TimerTick(
        id=str(uuid.uuid4()),
        source=SOURCE,
        time=now_time(),
        tenant=tenant,
        data=TimerTickData(due=datetime.fromtimestamp(due, UTC)),
    )
    return Outgoing(topics.ROUTING, tenant, event)


def _gauges(router: TenantRouter) -> tuple[list[str], list[str]]:
    """Set the tenant's gauges; returns the queues and the away reasons they were set for."""
    tenant = router.tenant
    queues = router.queue_names()
    for queue in queues:
        stats = queue_stats(router, queue)
        metrics.WAITING.labels(tenant, queue).set(stats.waiting)
        metrics.LONGEST_WAIT.labels(tenant, queue).set(stats.longest_wait_s)
        metrics.SERVICE_LEVEL.labels(tenant, queue).set(stats.service_level)
        metrics.ELIGIBLE_AGENTS.labels(tenant, queue).set(stats.eligible_agents)
    states = dict.fromkeys(metrics.AGENT_STATES, 0)
    away: dict[str, int] = dict.fromkeys(router.config.away_reasons, 0)
    load = slots = 0
    for agent in router.agents.values():
        states[agent.state] += 1
        if agent.presence == "away":
            reason = agent.away_reason or "unspecified"
            away[reason] = away.get(reason, 0) + 1
        if agent.routable:
            load += agent.total_load
            slots += agent.total_capacity or sum(agent.capacity.values())
        elif agent.presence == "away" and _productive(router, agent.away_reason):
            # Away on work that is part of the job: busy, not out of the pool.
            busy = agent.total_capacity or sum(agent.capacity.values())
            load += busy
            slots += busy
    for state, n in states.items():
        metrics.AGENTS.labels(tenant, state).set(n)
    for reason, n in away.items():
        metrics.AWAY.labels(tenant, reason).set(n)
    metrics.OCCUPANCY.labels(tenant).set(load / slots if slots else 0)
    return queues, list(away)


def _productive(router: TenantRouter, reason: str | None) -> bool:
    known = router.config.away_reasons.get(reason) if reason else None
    return known is not None and known.productive


def _forget_gauges(tenant: str, queues: set[str], away_reasons: set[str]) -> None:
    """The tenant moved to another instance: its gauges are that instance's to report now."""
    for queue in queues:
        for gauge in (metrics.WAITING, metrics.LONGEST_WAIT, metrics.SERVICE_LEVEL, metrics.ELIGIBLE_AGENTS):
            with contextlib.suppress(KeyError):
                gauge.remove(tenant, queue)
    for state in metrics.AGENT_STATES:
        with contextlib.suppress(KeyError):
            metrics.AGENTS.remove(tenant, state)
    with contextlib.suppress(KeyError):
        metrics.OCCUPANCY.remove(tenant)
    for reason in away_reasons:
        with contextlib.suppress(KeyError):
            metrics.AWAY.remove(tenant, reason)

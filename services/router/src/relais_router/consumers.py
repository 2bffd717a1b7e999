"""The routing-topic handler: apply each event to its tenant's state, publish the outputs, then save."""

from collections import defaultdict
from collections.abc import Sequence

import structlog

from relais_contracts import Event, Outgoing
from relais_contracts.agents import OfferCreated, OfferRescinded
from relais_contracts.conversation import Assigned
from relais_contracts.routing import OfferRejected
from relais_platform.consumer import Delivery
from relais_platform.kafka import Publishes
from relais_router import metrics
from relais_router.adapters.tenant_states import TenantStates
from relais_router.domain import RouterState, apply

log = structlog.get_logger(__name__)


class RoutingHandler:
    """Effectively once: an event id is applied once; a replayed event re-derives the same output ids."""

    def __init__(self, states: TenantStates, publisher: Publishes) -> None:
        self._states = states
        self._publisher = publisher
        # Tenants seen per partition, so their gauges go when the partition moves to another instance.
        self._tenants: defaultdict[tuple[str, int], set[str]] = defaultdict(set)

    async def __call__(self, batch: Sequence[Delivery]) -> None:
        # Each tenant is read from Redis once per batch, then kept here. A failed batch is retried
        # with a new call, so the retry starts again from what Redis holds.
        states: dict[str, RouterState] = {}
        for delivery in batch:
            event = delivery.event
            tenant = event.tenant
            self._tenants[(delivery.topic, delivery.partition)].add(tenant)
            with structlog.contextvars.bound_contextvars(tenant=tenant, event_id=event.id, type=event.type):
                if tenant not in states:
                    states[tenant] = await self._states.load(tenant)
                if await self._states.was_applied(tenant, event.id):
                    log.info("routing event already applied, skipped")
                    continue
                before = states[tenant]
                after, outputs = apply(before, event)
                # Publish first, save second: a crash in between replays the event, which derives the
                # same output ids again, and consumers drop the duplicates. The other order could
                # save a decision whose events were never sent.
                await self._publisher.publish(outputs)
                await self._states.save(after, event.id)
                states[tenant] = after
                _observe(event, before, after, outputs)

    async def on_revoked(self, partitions: set[tuple[str, int]]) -> None:
        for partition in sorted(partitions):
            for tenant in sorted(self._tenants.pop(partition, set())):
                metrics.WAITING.remove(tenant)


def _observe(event: Event, before: RouterState, after: RouterState, outputs: list[Outgoing]) -> None:
    tenant = after.tenant
    metrics.WAITING.labels(tenant).set(len(after.queue))
    made = sum(isinstance(o.event, OfferCreated) for o in outputs)
    rescinded = sum(isinstance(o.event, OfferRescinded) for o in outputs)
    assigned = sum(isinstance(o.event, Assigned) for o in outputs)
    if made:
        metrics.OFFERS.labels(tenant).inc(made)
    if rescinded:
        metrics.RESCINDS.labels(tenant).inc(rescinded)
    if assigned:
        metrics.ACCEPTS.labels(tenant).inc(assigned)
    if isinstance(event, OfferRejected) and event.data.offer_id in before.offers.keys() - after.offers.keys():
        metrics.REJECTS.labels(tenant).inc()

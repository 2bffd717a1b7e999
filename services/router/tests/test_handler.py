"""The routing handler against real Redis: events applied once, replays re-derive the same outputs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING

import pytest
from redis.asyncio import Redis

from relais_contracts import Event, topics
from relais_contracts.agents import OfferCreated
from relais_platform.consumer import Delivery
from relais_platform.kafka import Outgoing
from relais_platform.redis_client import connect_redis
from relais_platform.testing import Infra
from relais_router.adapters.tenant_states import TenantStates
from relais_router.consumers import RoutingHandler
from relais_router.domain import RouterState
from relais_router.settings import RouterSettings

if TYPE_CHECKING:
    from conftest import Events

pytestmark = pytest.mark.integration


class RecordingPublisher:
    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def publish(self, outgoing: Iterable[Outgoing]) -> None:
        self.sent.extend(outgoing)


class CrashOnceBeforeSave(TenantStates):
    """Fails one event's first save, as a process killed between publishing and writing its state."""

    crash_on: str | None = None

    async def save(self, state: RouterState, event_id: str) -> None:
        if event_id == self.crash_on:
            self.crash_on = None
            raise RuntimeError("killed before the state was written")
        await super().save(state, event_id)


def deliveries(events: list[Event]) -> list[Delivery]:
    return [Delivery(e, topics.ROUTING, 0, offset, None) for offset, e in enumerate(events)]  # type: ignore[arg-type]


@pytest.fixture
def settings(infra: Infra, namespace: str) -> RouterSettings:
    return RouterSettings(namespace=namespace, redis_url=infra.redis_url)


@pytest.fixture
async def redis(settings: RouterSettings) -> AsyncIterator[Redis]:
    client = connect_redis(settings)
    yield client
    await client.aclose()


async def test_a_redelivered_batch_is_skipped(settings: RouterSettings, redis: Redis, events: Events) -> None:
    states = TenantStates(redis, settings)
    publisher = RecordingPublisher()
    handler = RoutingHandler(states, publisher)  # type: ignore[arg-type]
    batch = deliveries([events.presence("a1"), events.submit("c1"), events.submit("c2")])

    await handler(batch)
    saved = await states.load(events.tenant)
    sent = list(publisher.sent)
    assert [type(o.event) for o in sent].count(OfferCreated) == 1
    assert [i.conversation_id for i in saved.queue] == ["c2"]

    await handler(batch)
    assert publisher.sent == sent
    assert await states.load(events.tenant) == saved
    assert await redis.ttl(settings.key("router", "applied", events.tenant, batch[0].event.id)) > 0


async def test_a_crash_before_saving_replays_the_same_output_ids(
    settings: RouterSettings, redis: Redis, events: Events
) -> None:
    states = CrashOnceBeforeSave(redis, settings)
    publisher = RecordingPublisher()
    handler = RoutingHandler(states, publisher)  # type: ignore[arg-type]
    submit = events.submit("c1")
    batch = deliveries([events.presence("a1"), submit])
    states.crash_on = submit.id

    with pytest.raises(RuntimeError, match="killed"):
        await handler(batch)
    first_try = [o.event.id for o in publisher.sent]
    assert len(first_try) == 3  # queued, offer created, offered: published, state not saved
    await handler(batch)  # what the consumer does: the same batch again

    assert [o.event.id for o in publisher.sent] == first_try * 2  # duplicates that consumers drop
    state = await states.load(events.tenant)
    assert len(state.offers) == 1
    assert state.agents["a1"].load == {"webchat": 1}

"""The routing handler against real Redis: a batch whose publish fails is retried without losing its
outputs, and a partition whose state is ahead of what was published is never snapshotted."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pytest

from relais_contracts import Outgoing, topics
from relais_contracts.agents import OfferCreated
from relais_platform.consumer import Delivery
from relais_platform.redis_client import connect_redis
from relais_platform.testing import Infra
from relais_router.adapters.snapshots import Snapshots, Views
from relais_router.consumers import RoutingHandler
from relais_router.settings import RouterSettings

if TYPE_CHECKING:
    from conftest import Events

pytestmark = pytest.mark.integration


class BrokerDownOnce:
    """Kafka refusing the first publish (a broker restart), then acknowledging everything."""

    def __init__(self) -> None:
        self.failures = 1
        self.sent: list[Outgoing] = []

    async def publish(self, outgoing: Iterable[Outgoing]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker not available")
        self.sent.extend(outgoing)


async def test_a_retried_batch_publishes_what_its_failed_try_applied(
    infra: Infra, namespace: str, events: Events
) -> None:
    settings = RouterSettings(namespace=namespace, redis_url=infra.redis_url, snapshot_every_events=1)
    redis = connect_redis(settings)
    snapshots = Snapshots(redis, settings)
    publisher = BrokerDownOnce()
    handler = RoutingHandler(settings, snapshots, Views(redis, settings), publisher)
    await handler.on_assigned({(topics.ROUTING, 0): None})
    batch = [
        Delivery(e, topics.ROUTING, 0, offset, None)  # type: ignore[arg-type]
        for offset, e in enumerate([events.presence("a1"), events.submit("c1")])
    ]
    with pytest.raises(ConnectionError):
        await handler(batch)
    assert await snapshots.load(0) is None  # applied but not published: no snapshot covers it
    await handler(batch)  # the consumer's retry of the same batch
    offers = [o.event for o in publisher.sent if isinstance(o.event, OfferCreated)]
    assert [(o.data.conversation_id, o.data.agent_id) for o in offers] == [("c1", "a1")]
    saved = await snapshots.load(0)
    assert saved is not None
    assert saved[0] == 2  # the snapshot covers both events, now that their outputs are out
    await redis.aclose()


class Recording:
    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def publish(self, outgoing: Iterable[Outgoing]) -> None:
        self.sent.extend(outgoing)


async def test_a_refused_event_is_isolated_and_the_others_outputs_all_go_out(
    infra: Infra, namespace: str, events: Events
) -> None:
    settings = RouterSettings(namespace=namespace, redis_url=infra.redis_url)
    redis = connect_redis(settings)
    publisher = Recording()
    handler = RoutingHandler(settings, Snapshots(redis, settings), Views(redis, settings), publisher)
    await handler.on_assigned({(topics.ROUTING, 0): None})
    bad = events.configure({"queues": {"q": {"skills": {"x": 9}}}})
    batch = [
        Delivery(e, topics.ROUTING, 0, offset, None)  # type: ignore[arg-type]
        for offset, e in enumerate(
            [events.presence("a1", capacity={"*": 2}), events.submit("c1"), bad, events.submit("c2")]
        )
    ]
    with pytest.raises(ValueError, match="less than or equal to 5"):
        await handler(batch)
    # What the platform's consumer does next: each record alone, the failing one dead-lettered.
    for delivery in batch:
        if delivery.event is bad:
            with pytest.raises(ValueError, match="less than or equal to 5"):
                await handler([delivery])
        else:
            await handler([delivery])
    offers = [o.event.data.conversation_id for o in publisher.sent if isinstance(o.event, OfferCreated)]
    assert offers == ["c1", "c2"]
    await redis.aclose()


class RefusesOneConversation:
    """Kafka refusing the outputs about one conversation every time (a record too large, say)."""

    def __init__(self, conversation: str) -> None:
        self.conversation = conversation
        self.sent: list[Outgoing] = []

    async def publish(self, outgoing: Iterable[Outgoing]) -> None:
        batch = list(outgoing)
        if any(o.event.subject == self.conversation for o in batch):
            raise ValueError("record too large")
        self.sent.extend(batch)


async def test_a_dead_lettered_event_leaves_no_unsent_outputs_and_snapshots_go_on(
    infra: Infra, namespace: str, events: Events
) -> None:
    settings = RouterSettings(namespace=namespace, redis_url=infra.redis_url, snapshot_every_events=1)
    redis = connect_redis(settings)
    snapshots = Snapshots(redis, settings)
    handler = RoutingHandler(settings, snapshots, Views(redis, settings), RefusesOneConversation("c1"))
    await handler.on_assigned({(topics.ROUTING, 0): None})
    presence, doomed = (
        Delivery(e, topics.ROUTING, 0, offset, None)  # type: ignore[arg-type]
        for offset, e in enumerate([events.presence("a1"), events.submit("c1")])
    )
    await handler([presence])
    for _ in range(3):  # the consumer's attempts, then it dead-letters the record
        with pytest.raises(ValueError, match="too large"):
            await handler([doomed])
    await handler.on_dead_lettered(doomed)
    later = Delivery(events.submit("c2"), topics.ROUTING, 0, 2, None)  # type: ignore[arg-type]
    await handler([later])
    saved = await snapshots.load(0)
    assert saved is not None
    assert saved[0] == 3, "the snapshot covers the events after the dead letter"
    await redis.aclose()

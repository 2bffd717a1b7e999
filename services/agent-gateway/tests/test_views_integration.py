"""The Redis views and a desk session against a real Redis, without Kafka or a server process."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

import pytest

from relais_agent_gateway.auth import Agent
from relais_agent_gateway.domain.inbox import InboxUpdate, OfferRecord
from relais_agent_gateway.protocol import OfferRescindedMessage
from relais_agent_gateway.session import DeskSession
from relais_agent_gateway.views import DeskViews
from relais_contracts import Outgoing
from relais_platform.redis_client import connect_redis
from relais_platform.settings import ServiceSettings
from relais_platform.testing import Infra, poll

pytestmark = pytest.mark.integration

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
async def views(infra: Infra, namespace: str) -> AsyncIterator[DeskViews]:
    settings = ServiceSettings(redis_url=infra.redis_url, namespace=namespace)
    redis = connect_redis(settings)
    try:
        yield DeskViews(redis, settings)
    finally:
        await redis.aclose()


def rescind(offer_id: str) -> InboxUpdate:
    message = OfferRescindedMessage(offer_id=offer_id, conversation_id="c-1", reason="test", at=T0)
    return InboxUpdate(agent_id="a-1", message=message, closed_offer=offer_id)


async def test_an_event_is_pushed_once_however_often_it_is_applied(views: DeskViews) -> None:
    start = await views.inbox_end("acme", "a-1")
    assert start == "0-0"
    for _ in range(3):
        await views.apply("acme", "e-1", rescind("o-1"))
    await views.apply("acme", "e-2", rescind("o-2"))
    entries = await views.read_inbox("acme", "a-1", start, block_ms=100)
    assert [json.loads(entry)["offer_id"] for _, entry in entries] == ["o-1", "o-2"]
    assert await views.inbox_end("acme", "a-1") == entries[-1][0]
    assert await views.read_inbox("acme", "a-1", entries[-1][0], block_ms=100) == []


async def test_offers_and_assignments_are_per_tenant(views: DeskViews) -> None:
    offer = OfferRecord("o-1", "acme", "a-1", "c-1")
    await views.apply("acme", "e-1", InboxUpdate(open_offer=offer, assignment=("c-1", "a-1")))
    assert await views.offer("acme", "o-1") == offer
    assert await views.offer("globex", "o-1") is None
    assert await views.assignee("acme", "c-1") == "a-1"
    assert await views.assignee("globex", "c-1") is None
    await views.apply("acme", "e-2", InboxUpdate(closed_offer="o-1"))
    assert await views.offer("acme", "o-1") is None


class FakeSocket:
    """The part of a WebSocket a session uses; the client never writes and never leaves."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None

    async def receive(self) -> dict[str, Any]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send_text(self, text: str) -> None:
        self.sent.append(json.loads(text))

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


class NoPublisher:
    async def publish(self, outgoing: Iterable[Outgoing]) -> None:
        raise AssertionError("nothing to publish")


async def test_a_session_pushes_new_entries_and_ends_with_its_token(views: DeskViews) -> None:
    await views.apply("acme", "e-0", rescind("o-old"))
    socket = FakeSocket()
    agent = Agent(id="a-1", tenant="acme", name="Alice", roles=("agent",), expires_at=int(time.time()) + 2)
    session = asyncio.create_task(DeskSession(socket, agent, views, NoPublisher()).run(None))  # type: ignore[arg-type]
    await poll(lambda: socket.sent, what="ready")
    await views.apply("acme", "e-1", rescind("o-new"))
    await poll(lambda: len(socket.sent) == 2, what="the new entry")
    ready, pushed = socket.sent
    assert ready["type"] == "ready"
    assert (pushed["offer_id"], pushed["seq"]) == ("o-new", await views.inbox_end("acme", "a-1"))
    await asyncio.wait_for(session, timeout=10)
    assert socket.closed is not None
    assert socket.closed[0] == 4401

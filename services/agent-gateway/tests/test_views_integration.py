"""The Redis views and a desk session against a real Redis, without Kafka or a server process."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio import Redis

from relais_agent_gateway.auth import Agent, TokenAuthority
from relais_agent_gateway.domain.inbox import InboxUpdate, OfferRecord, project
from relais_agent_gateway.inbox_hub import InboxHub
from relais_agent_gateway.protocol import ConversationMessage, OfferMessage, OfferRescindedMessage
from relais_agent_gateway.reveal import reveal
from relais_agent_gateway.session import DeskSession
from relais_agent_gateway.settings import GatewaySettings
from relais_agent_gateway.upstream import Upstream
from relais_agent_gateway.views import DeskViews
from relais_contracts import Outgoing
from relais_contracts.conversation import (
    HandoffPacket,
    NoteAdded,
    NoteData,
    ReplyAuthor,
    ReplyData,
    ReplyPosted,
    TranscriptEntry,
)
from relais_platform.redis_client import connect_redis
from relais_platform.sealing import ERASED_TEXT, CustomerKeys, key_id, seal, seal_packet, seal_written
from relais_platform.settings import ServiceSettings
from relais_platform.testing import Infra, poll

pytestmark = pytest.mark.integration

T0 = datetime(2025, 1, 1, tzinfo=UTC)
TOKENS = TokenAuthority(GatewaySettings(env="test"))


@pytest.fixture
async def redis(infra: Infra, namespace: str) -> AsyncIterator["Redis"]:
    client = connect_redis(ServiceSettings(redis_url=infra.redis_url, namespace=namespace))
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def views(redis: "Redis", namespace: str) -> DeskViews:
    return DeskViews(redis, ServiceSettings(namespace=namespace))


@pytest.fixture
def keys(redis: "Redis", namespace: str) -> CustomerKeys:
    return CustomerKeys(redis, ServiceSettings(namespace=namespace))


@pytest.fixture
async def hub(redis: "Redis", namespace: str) -> AsyncIterator[InboxHub]:
    """A listening hub, as the service runs it."""
    hub = InboxHub(redis, ServiceSettings(namespace=namespace))
    listening = asyncio.create_task(hub.run())
    try:
        yield hub
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)


def rescind(offer_id: str) -> InboxUpdate:
    message = OfferRescindedMessage(offer_id=offer_id, conversation_id="c-1", reason="test", at=T0)
    return InboxUpdate(agent_id="a-1", message=message, closed_offer=offer_id)


async def test_an_event_is_pushed_once_however_often_it_is_applied(views: DeskViews) -> None:
    start = await views.inbox_end("acme", "a-1")
    assert start == "0-0"
    for _ in range(3):
        await views.apply("acme", "e-1", rescind("o-1"))
    await views.apply("acme", "e-2", rescind("o-2"))
    entries = await views.read_inbox("acme", "a-1", start, count=100)
    assert [json.loads(entry)["offer_id"] for _, entry in entries] == ["o-1", "o-2"]
    assert await views.inbox_end("acme", "a-1") == entries[-1][0]
    assert await views.read_inbox("acme", "a-1", entries[-1][0], count=100) == []


async def test_offers_and_assignments_are_per_tenant(views: DeskViews) -> None:
    offer = OfferRecord("o-1", "acme", "a-1", "c-1")
    await views.apply("acme", "e-1", InboxUpdate(open_offer=offer, assignment=("c-1", "a-1")))
    assert await views.offer("acme", "o-1") == offer
    assert await views.offer("globex", "o-1") is None
    assert await views.assignee("acme", "c-1") == "a-1"
    assert await views.assignee("globex", "c-1") is None
    await views.apply("acme", "e-2", InboxUpdate(closed_offer="o-1"))
    assert await views.offer("acme", "o-1") is None


async def test_a_release_forgets_the_assignment_only_if_it_is_still_that_agent_s(views: DeskViews) -> None:
    await views.apply("acme", "e-1", InboxUpdate(assignment=("c-1", "a-1")))
    await views.apply("acme", "e-2", InboxUpdate(assignment=("c-2", "a-1")))
    assert await views.assigned("acme", "a-1") == ["c-1", "c-2"]
    # Transferred to a-2, who was assigned before a-1's release was projected.
    await views.apply("acme", "e-3", InboxUpdate(assignment=("c-1", "a-2")))
    await views.apply("acme", "e-4", InboxUpdate(unassignment=("c-1", "a-1")))
    assert await views.assignee("acme", "c-1") == "a-2"
    assert await views.assigned("acme", "a-1") == ["c-2"]
    await views.apply("acme", "e-5", InboxUpdate(unassignment=("c-2", "a-1")))
    assert await views.assignee("acme", "c-2") is None


async def test_sealed_text_is_opened_on_its_way_to_the_desk_until_the_key_is_destroyed(
    keys: CustomerKeys,
) -> None:
    key = (await keys.ensure("acme", ["cu-1"]))[key_id("acme", "cu-1")]
    entry = TranscriptEntry(message_id="m-1", author_kind="customer", channel="sms", text="", at=T0)
    stored = ConversationMessage(
        conversation_id="c-1", message=entry, sealed=seal(key, "my card is 4111", "Bob"), key_id="acme/cu-1"
    ).to_json()
    assert "4111" not in stored
    shown = json.loads(await reveal(stored.encode(), "1-0", "acme", keys))
    assert (shown["message"]["text"], shown["message"]["author_name"], shown["seq"]) == (
        "my card is 4111",
        "Bob",
        "1-0",
    )
    assert "sealed" not in shown
    assert "key_id" not in shown
    # A desk of another tenant never opens it, even if an entry named this key.
    assert json.loads(await reveal(stored.encode(), "1-0", "globex", keys))["message"]["text"] == ERASED_TEXT
    await keys.destroy("acme", "cu-1")
    assert json.loads(await reveal(stored.encode(), "1-0", "acme", keys))["message"]["text"] == ERASED_TEXT


async def test_sealed_replies_and_notes_stay_sealed_in_the_inbox_and_open_for_the_desk(
    keys: CustomerKeys,
) -> None:
    kid = key_id("acme", "cu-1")
    key = (await keys.ensure("acme", ["cu-1"]))[kid]
    author = ReplyAuthor(kind="agent", name="Ana", id="a-1")
    envelope = {"source": "relais/agent-gateway", "time": T0, "tenant": "acme", "subject": "c-1"}
    reply = ReplyPosted(
        id="r-1", **envelope, data=ReplyData(message_id="r-1", author=author, text="parcel 8812")
    )
    note = NoteAdded(
        id="n-1", **envelope, data=NoteData(note_id="n-1", author=author, text="angry about 8812")
    )
    shown = []
    for written in (reply, note):
        update = project(seal_written(key, kid, written), assignee="a-1")
        assert update.message is not None
        stored = update.message.to_json()
        assert "8812" not in stored  # the inbox holds it sealed
        shown.append(json.loads(await reveal(stored.encode(), "1-0", "acme", keys)))
    assert (shown[0]["message"]["text"], shown[0]["message"]["author_name"]) == ("parcel 8812", "Ana")
    assert (shown[1]["note"]["text"], shown[1]["note"]["author_name"]) == ("angry about 8812", "Ana")
    assert not {"sealed", "key_id"} & {*shown[0], *shown[1]}
    await keys.destroy("acme", "cu-1")
    for written in (reply, note):
        update = project(seal_written(key, kid, written), assignee="a-1")
        assert update.message is not None
        after = json.loads(await reveal(update.message.to_json().encode(), "1-0", "acme", keys))
        assert ERASED_TEXT in (after.get("message") or after["note"])["text"]


async def test_a_sealed_handoff_packet_is_opened_for_the_desk(keys: CustomerKeys) -> None:
    key = (await keys.ensure("acme", ["cu-2"]))[key_id("acme", "cu-2")]
    packet = HandoffPacket(reason="asked_for_human", summary="Refund for order 1234", customer_id="cu-2")
    offer = OfferMessage(
        offer_id="o-1",
        conversation_id="c-1",
        channel="sms",
        packet=seal_packet(key, "acme/cu-2", packet),
        at=T0,
    )
    assert "1234" not in offer.to_json()
    shown = json.loads(await reveal(offer.to_json().encode(), "2-0", "acme", keys))
    assert shown["packet"]["summary"] == "Refund for order 1234"
    assert "sealed" not in shown["packet"]


class FakeSocket:
    """The part of a WebSocket a session uses; the client sends `incoming` and then stays silent."""

    def __init__(self, *incoming: dict[str, Any]) -> None:
        self.incoming = [json.dumps(m) for m in incoming]
        self.sent: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None

    async def receive(self) -> dict[str, Any]:
        if self.incoming:
            return {"type": "websocket.receive", "text": self.incoming.pop(0)}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send_text(self, text: str) -> None:
        self.sent.append(json.loads(text))

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


class NoPublisher:
    async def publish(self, outgoing: Iterable[Outgoing]) -> None:
        raise AssertionError("nothing to publish")


def session(
    socket: FakeSocket, agent: Agent, views: DeskViews, keys: CustomerKeys, hub: InboxHub
) -> DeskSession:
    return DeskSession(
        socket,  # type: ignore[arg-type]
        agent,
        views=views,
        publisher=NoPublisher(),
        tokens=TOKENS,
        keys=keys,
        hub=hub,
        # Never asked: these sessions post no reply.
        upstream=Upstream(GatewaySettings(env="test", context_store_url="http://127.0.0.1:9")),
        dispositions=("resolved",),
    )


async def test_a_session_pushes_new_entries_and_ends_with_its_token(
    views: DeskViews, keys: CustomerKeys, hub: InboxHub
) -> None:
    await views.apply("acme", "e-0", rescind("o-old"))
    socket = FakeSocket()
    agent = Agent(id="a-1", tenant="acme", name="Alice", roles=("agent",), expires_at=int(time.time()) + 2)
    running = asyncio.create_task(session(socket, agent, views, keys, hub).run(None))
    await poll(lambda: socket.sent, what="ready")
    await views.apply("acme", "e-1", rescind("o-new"))
    await poll(lambda: len(socket.sent) == 2, what="the new entry")
    ready, pushed = socket.sent
    assert ready["type"] == "ready"
    assert (pushed["offer_id"], pushed["seq"]) == ("o-new", await views.inbox_end("acme", "a-1"))
    await asyncio.wait_for(running, timeout=10)
    assert socket.closed is not None
    assert socket.closed[0] == 4401


async def test_a_fresh_token_of_the_same_agent_extends_the_session(
    views: DeskViews, keys: CustomerKeys, hub: InboxHub
) -> None:
    now = int(time.time())
    other = TOKENS.issue(tenant="acme", agent_id="a-2", name="Eve")
    fresh = TOKENS.issue(tenant="acme", agent_id="a-1", name="Alice")
    socket = FakeSocket(
        {"type": "token", "token": other, "ref": 1}, {"type": "token", "token": fresh, "ref": 2}
    )
    agent = Agent(id="a-1", tenant="acme", name="Alice", roles=("agent",), expires_at=now + 1)
    running = asyncio.create_task(session(socket, agent, views, keys, hub).run(None))
    await poll(lambda: len(socket.sent) == 3, what="ready and two answers")
    assert [(m["type"], m.get("code")) for m in socket.sent[1:]] == [("error", "forbidden"), ("ack", None)]
    # Past the first token's expiry, the session is still open.
    await poll(lambda: time.time() > now + 2, what="the old expiry passes")
    assert socket.closed is None
    assert not running.done()
    running.cancel()


async def test_erasure_drops_the_conversations_entries_from_every_inbox_and_their_assignments(
    views: DeskViews,
) -> None:
    def message(conversation_id: str, text: str) -> InboxUpdate:
        entry = {"kind": "message", "message_id": text, "author_kind": "customer", "text": text, "at": T0}
        return InboxUpdate(
            agent_id="a-1" if conversation_id != "c-3" else "a-2",
            message=ConversationMessage(conversation_id=conversation_id, message=entry),
        )

    await views.apply("acme", "e-1", InboxUpdate(assignment=("c-1", "a-1")))
    await views.apply("acme", "e-2", message("c-1", "secret of c-1"))
    await views.apply("acme", "e-3", message("c-2", "kept"))
    await views.apply("acme", "e-4", message("c-3", "secret of c-3"))
    await views.apply("globex", "e-5", InboxUpdate(agent_id="a-1", message=rescind("o-9").message))
    assert await views.erase_conversations("acme", ["c-1", "c-3"]) == 2
    left = [json.loads(m) for _, m in await views.read_inbox("acme", "a-1", "0-0", count=100)]
    assert [e["conversation_id"] for e in left] == ["c-2"]
    assert await views.read_inbox("acme", "a-2", "0-0", count=100) == []
    assert await views.assignee("acme", "c-1") is None
    assert await views.assigned("acme", "a-1") == []
    assert len(await views.read_inbox("globex", "a-1", "0-0", count=100)) == 1  # another tenant's: kept

"""The gateway as a process against real Kafka and Redis, driven the way the desk and the router drive it."""

import asyncio
import base64
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from relais_contracts import derive_key, now_time, topics
from relais_contracts.agents import OfferCreated, OfferCreatedData, OfferRescinded, OfferRescindedData
from relais_contracts.conversation import (
    Assigned,
    AssignedData,
    CustomerMessage,
    CustomerMessageData,
    HandoffPacket,
    ReplyAuthor,
    ReplyData,
    ReplyPosted,
    TranscriptEntry,
)
from relais_platform.testing import (
    Infra,
    RawPublisher,
    ServiceProcess,
    TopicReader,
    create_topics,
    desk_socket,
    service_env,
)

pytestmark = pytest.mark.integration

WAIT_S = 30.0


async def login(http: httpx.AsyncClient, tenant: str, agent_id: str, name: str) -> str:
    response = await http.post("/v1/dev/login", json={"tenant": tenant, "agent_id": agent_id, "name": name})
    response.raise_for_status()
    return str(response.json()["token"])


def socket(gateway: ServiceProcess, token: str, after: str | None = None) -> websockets.connect:
    return desk_socket(gateway.url, token, after)


async def expect(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next server message, which must be of type `kind`."""
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
    assert message["type"] == kind, message
    return message


async def send(ws: ClientConnection, **message: Any) -> None:
    await ws.send(json.dumps(message))


def tampered(token: str) -> str:
    """The same token with its tenant changed and its signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "tenant": "globex"}).encode())
    return f"{header}.{forged.rstrip(b'=').decode()}.{signature}"


def record_key(reader: TopicReader, topic: str, event_id: str) -> bytes:
    for record in reader.records:
        if record.topic == f"{reader.namespace}{topic}" and json.loads(record.value)["id"] == event_id:
            return bytes(record.key)
    raise AssertionError(f"no record for event {event_id}")


def rescinded(tenant: str, offer_id: str) -> OfferRescinded:
    data = OfferRescindedData(offer_id=offer_id, agent_id="a-1", conversation_id="c-0", reason="test")
    return OfferRescinded(**router_event(tenant=tenant), data=data)


def router_event(**fields: Any) -> dict[str, Any]:
    envelope = {"id": str(uuid.uuid4()), "source": "relais/test-router", "time": now_time(), "tenant": "acme"}
    return envelope | fields


async def test_agent_desk_session(infra: Infra, namespace: str, tmp_path: Path) -> None:
    await create_topics(infra, namespace)
    env = service_env(infra, namespace, RELAIS_ENV="dev")
    gateway = ServiceProcess("relais_agent_gateway", env, tmp_path, name="agent-gateway").start()
    try:
        await gateway.wait_ready()
        async with (
            TopicReader(infra, namespace, [topics.ROUTING, topics.CONVERSATIONS]) as log,
            RawPublisher(infra, namespace) as router,
            httpx.AsyncClient(base_url=gateway.url) as http,
        ):
            alice_token = await login(http, "acme", "a-1", "Alice")
            # Same agent id, another tenant: only the tenant tells them apart.
            mallory_token = await login(http, "globex", "a-1", "Mallory")
            me = await http.get("/v1/me", headers={"Authorization": f"Bearer {alice_token}"})
            assert (me.status_code, me.json()["tenant"], me.json()["id"]) == (200, "acme", "a-1")

            async with (
                socket(gateway, alice_token) as alice,
                socket(gateway, mallory_token) as mallory,
            ):
                ready = await expect(alice, "ready")
                assert ready["agent"] == {"id": "a-1", "tenant": "acme", "name": "Alice", "roles": ["agent"]}
                await expect(mallory, "ready")

                # An invalid message gets an error and the session goes on.
                await alice.send("not json")
                assert (await expect(alice, "error"))["code"] == "invalid"

                await send(alice, type="presence", presence="available", capacity={"*": 2}, ref="p1")
                ack = await expect(alice, "ack")
                assert ack["ref"] == "p1"
                presence = await log.wait_event(
                    topics.ROUTING, lambda e: e.type == "relais.routing.agent.presence.changed"
                )
                assert presence.tenant == "acme"
                assert presence.data.agent_id == "a-1"
                assert presence.data.capacity == {"*": 2}
                assert presence.id == ack["event_id"]
                assert record_key(log, topics.ROUTING, presence.id) == b"acme"

                packet = HandoffPacket(
                    reason="asked_for_human",
                    summary="Wants a refund for order 42",
                    transcript=(
                        TranscriptEntry(
                            message_id="m-0", author_kind="customer", text="a human please", at=now_time()
                        ),
                    ),
                )
                offer = OfferCreated(
                    **router_event(),
                    data=OfferCreatedData(
                        offer_id="o-1",
                        agent_id="a-1",
                        conversation_id="c-1",
                        channel="sms",
                        packet=packet,
                        expires_at=now_time(),
                    ),
                )
                await router.event(topics.AGENTS, "a-1", offer)
                pushed = await expect(alice, "offer")
                assert (pushed["offer_id"], pushed["conversation_id"], pushed["channel"]) == (
                    "o-1",
                    "c-1",
                    "sms",
                )
                assert pushed["packet"]["transcript"][0]["text"] == "a human please"
                assert pushed["expires_at"]
                assert pushed["seq"]
                offer_seq = pushed["seq"]

                # Redelivered (a replay after a crash): never pushed twice. The rescind after it, on the
                # same partition, must be the next thing Alice sees.
                await router.event(topics.AGENTS, "a-1", offer)
                await router.event(topics.AGENTS, "a-1", rescinded("acme", "o-0"))
                assert (await expect(alice, "offer.rescinded"))["offer_id"] == "o-0"

                await send(mallory, type="accept", offer_id="o-1", ref="steal")
                assert (await expect(mallory, "error")) | {"message": ""} == {
                    "type": "error",
                    "ref": "steal",
                    "code": "not_yours",
                    "message": "",
                }

                await send(alice, type="accept", offer_id="o-1", ref="a1")
                accept_id = (await expect(alice, "ack"))["event_id"]
                accepted = await log.wait_event(topics.ROUTING, lambda e: e.id == accept_id)
                assert accepted.type == "relais.routing.offer.accepted"
                assert (accepted.tenant, accepted.data.offer_id, accepted.data.conversation_id) == (
                    "acme",
                    "o-1",
                    "c-1",
                )
                assert record_key(log, topics.ROUTING, accept_id) == b"acme"

                assigned = Assigned(
                    **router_event(subject="c-1"),
                    data=AssignedData(offer_id="o-1", agent_id="a-1", agent_name="Alice"),
                )
                customer = CustomerMessage(
                    **router_event(subject="c-1", source="relais/test-context-store"),
                    data=CustomerMessageData(
                        message_id="m-1",
                        channel="sms",
                        address="+33600000000",
                        customer_name="Bob",
                        text="Hello, is someone there?",
                        external_id="sms-1",
                    ),
                )
                bot = ReplyPosted(
                    **router_event(subject="c-1", source="relais/test-bot"),
                    data=ReplyData(
                        message_id="m-2", author=ReplyAuthor(kind="bot", name="Relais"), text="Connecting you"
                    ),
                )
                for event in (assigned, customer, bot):
                    await router.event(topics.CONVERSATIONS, "c-1", event)
                assert (await expect(alice, "assigned"))["conversation_id"] == "c-1"
                message = await expect(alice, "message")
                assert message["conversation_id"] == "c-1"
                assert message["message"] | {"at": ""} == {
                    "message_id": "m-1",
                    "author_kind": "customer",
                    "author_name": "Bob",
                    "channel": "sms",
                    "text": "Hello, is someone there?",
                    "at": "",
                }
                assert (await expect(alice, "message"))["message"]["author_kind"] == "bot"

                await send(mallory, type="reply", conversation_id="c-1", text="Hi, this is Mallory", ref="r0")
                assert (await expect(mallory, "error"))["code"] == "not_yours"

                reply = {"type": "reply", "conversation_id": "c-1", "text": "Hi Bob, Alice here"}
                await send(alice, **reply, client_msg_id="cm-1", ref="r1")
                reply_id = (await expect(alice, "ack"))["event_id"]
                assert reply_id == derive_key("acme", "a-1", "cm-1")
                posted = await log.wait_event(topics.CONVERSATIONS, lambda e: e.id == reply_id)
                assert posted.type == "relais.conversation.reply.posted"
                assert (posted.subject, posted.tenant, posted.data.text) == (
                    "c-1",
                    "acme",
                    "Hi Bob, Alice here",
                )
                assert posted.data.author == ReplyAuthor(kind="agent", name="Alice", id="a-1")
                assert record_key(log, topics.CONVERSATIONS, reply_id) == b"c-1"
                # The reply comes back through the log, in conversation order.
                echo = await expect(alice, "message")
                assert (echo["message"]["message_id"], echo["message"]["author_kind"]) == (reply_id, "agent")

                # Nothing of acme's reached the globex agent of the same id: her first inbox message is
                # this one, published after everything else on the same partition.
                await router.event(topics.AGENTS, "a-1", rescinded("globex", "o-g"))
                assert (await expect(mallory, "offer.rescinded"))["offer_id"] == "o-g"

            # Resume after the offer, as a desk that lost its connection would.
            async with socket(gateway, alice_token, after=offer_seq) as again:
                assert (await expect(again, "ready"))["seq"] == offer_seq
                assert (await expect(again, "offer.rescinded"))["offer_id"] == "o-0"
                assert (await expect(again, "assigned"))["offer_id"] == "o-1"
                resumed = [(await expect(again, "message"))["message"]["message_id"] for _ in range(3)]
                assert resumed == ["m-1", "m-2", reply_id]

            assert not [e for e in log.events(topics.ROUTING) if e.tenant == "globex"]
            assert not [e for e in log.events(topics.CONVERSATIONS) if e.tenant == "globex"]

            forged = tampered(alice_token)
            assert (
                await http.get("/v1/me", headers={"Authorization": f"Bearer {forged}"})
            ).status_code == 401
            async with socket(gateway, forged) as refused:
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(refused.recv(), WAIT_S)
                assert refused.close_code == 4401

            # A token in the URL is refused, valid or not: URLs end up in proxies' and access logs.
            url = gateway.url.replace("http", "ws") + f"/v1/agent/ws?token={alice_token}"
            async with websockets.connect(url) as in_url:
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(in_url.recv(), WAIT_S)
                assert in_url.close_code == 4401
                assert "URL" in str(in_url.close_reason)

            # A rolling restart closes sessions with 1012, and the desk reconnects elsewhere with after=seq.
            async with socket(gateway, alice_token) as leaving:
                await expect(leaving, "ready")
                gateway.terminate()
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(leaving.recv(), WAIT_S)
                assert leaving.close_code == 1012

        assert "token=[redacted]" in gateway.log_path.read_text()
        assert alice_token not in gateway.log_path.read_text()
    finally:
        gateway.terminate()

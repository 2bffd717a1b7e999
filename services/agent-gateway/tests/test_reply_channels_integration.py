"""One agent's reply on a channel the customer cannot be reached on is refused by the gateway before
anything is posted, and a resent reply is one reply. The gateway and the context store run as real
processes on real Kafka and Redis; the customer writes through the inbound topic as an integrator would."""

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from relais_contracts import now_time, topics
from relais_contracts.channel import MessageSend
from relais_contracts.conversation import Assigned, AssignedData, Opened, ReplyPosted
from relais_platform.testing import (
    Infra,
    RawPublisher,
    ServiceProcess,
    TopicReader,
    api_headers,
    create_topics,
    poll,
    service_env,
)

from .test_gateway_integration import WAIT_S, login, send, socket

pytestmark = pytest.mark.integration


async def frame(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next server message of type `kind`, skipping the inbox messages before it."""
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
        if message["type"] == kind:
            return message
        assert message["type"] not in {"ack", "error"}, message  # an answer to something else


async def answer(ws: ClientConnection) -> dict[str, Any]:
    """The gateway's answer (ack or error) to the last desk message, skipping inbox messages."""
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
        if message["type"] in {"ack", "error"}:
            return message


def inbound(channel: str, address: str, text: str) -> dict[str, Any]:
    """A customer message as an integrator publishes it; the email hint makes every channel one customer."""
    event_id = str(uuid.uuid4())
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": f"test/{channel}",
        "type": "relais.channel.message.received",
        "time": datetime.now(UTC).isoformat(),
        "tenant": "acme",
        "data": {
            "channel": channel,
            "from": {"address": address, "name": "Camille"},
            "text": text,
            "external_id": event_id,
            "identity": {"email": "camille@example.com", "verified": True},  # a hint alone is only a claim
        },
    }


async def test_a_reply_on_a_channel_without_address_is_refused_and_a_resent_reply_is_one_reply(
    infra: Infra, namespace: str, tmp_path: Path
) -> None:
    await create_topics(infra, namespace)
    store = ServiceProcess(
        "relais_context_store",
        service_env(infra, namespace, RELAIS_BOT_SILENCE_TIMEOUT_S="0"),
        tmp_path,
        name="context-store",
    ).start()
    gateway = ServiceProcess(
        "relais_agent_gateway",
        service_env(infra, namespace, RELAIS_ENV="dev", RELAIS_CONTEXT_STORE_URL=store.url),
        tmp_path,
        name="agent-gateway",
    )
    gateway.start()
    try:
        await asyncio.gather(store.wait_ready(), gateway.wait_ready())
        async with (
            TopicReader(infra, namespace, [topics.CONVERSATIONS, topics.OUTBOUND]) as log,
            RawPublisher(infra, namespace) as outside,
            httpx.AsyncClient(base_url=gateway.url) as http,
        ):
            # A web chat visitor who gave an email, and no phone.
            await outside.event(
                topics.INBOUND, "acme:webchat:visitor-7", inbound("webchat", "visitor-7", "I need a person")
            )
            opened = await log.wait_event(topics.CONVERSATIONS, lambda e: isinstance(e, Opened))
            cid = opened.subject
            assert cid

            token = await login(http, "acme", "a-1", "Alice")
            async with socket(gateway, token) as alice:
                await frame(alice, "ready")
                assigned = Assigned(
                    id=str(uuid.uuid4()),
                    source="relais/test-router",
                    time=now_time(),
                    tenant="acme",
                    subject=cid,
                    data=AssignedData(offer_id="o-1", agent_id="a-1", agent_name="Alice"),
                )
                await outside.event(topics.CONVERSATIONS, cid, assigned)
                await frame(alice, "assigned")

                # SMS: no phone is known for this customer. Refused before anything is posted.
                bad = {"type": "reply", "conversation_id": cid, "text": "By SMS then", "channel": "sms"}
                await send(alice, **bad, client_msg_id="cm-sms", ref="r1")
                assert await answer(alice) == {
                    "type": "error",
                    "ref": "r1",
                    "code": "no_address",
                    "message": "the customer has no sms address",
                }

                # On the channel the customer used, and resent after a "lost" ack: one reply.
                good = {"type": "reply", "conversation_id": cid, "text": "Hello Camille"}
                await send(alice, **good, client_msg_id="cm-1", ref="r2")
                first = await answer(alice)
                await send(alice, **good, client_msg_id="cm-1", ref="r3")
                again = await answer(alice)
                assert (first["type"], again["type"]) == ("ack", "ack")
                assert (first["ref"], again["ref"]) == ("r2", "r3")
                assert first["event_id"] == again["event_id"]

                # By email, which the customer gave: delivered there.
                await send(alice, type="reply", conversation_id=cid, text="Also by email", channel="email",
                           client_msg_id="cm-2", ref="r4")  # fmt: skip
                by_email = await answer(alice)
                assert by_email["type"] == "ack", by_email

                # The customer now writes by SMS: the refusal above is not remembered against them.
                await outside.event(
                    topics.INBOUND, "acme:sms:+33611112222", inbound("sms", "+33611112222", "Here by SMS")
                )

                async def sms_reachable() -> bool:
                    async with httpx.AsyncClient(base_url=store.url) as cs:
                        found = await cs.get(
                            f"/v1/conversations/{cid}/reply-channels", headers=api_headers("acme")
                        )
                    return "sms" in found.json()["channels"]

                await poll(sms_reachable, what="the context store knowing the SMS address")
                await send(alice, **bad, client_msg_id="cm-sms", ref="r5")
                by_sms = await answer(alice)
                assert (by_sms["type"], by_sms["ref"]) == ("ack", "r5")

            sent = await log.wait_event(
                topics.OUTBOUND,
                lambda e: isinstance(e, MessageSend) and e.data.message_id == by_email["event_id"],
            )
            assert isinstance(sent, MessageSend)
            assert (sent.data.channel, sent.data.to.address) == ("email", "camille@example.com")
            # The conversation log is ordered per conversation: everything posted before is in it now.
            await log.wait_event(
                topics.OUTBOUND,
                lambda e: isinstance(e, MessageSend) and e.data.message_id == by_sms["event_id"],
            )
            replies = log.events(topics.CONVERSATIONS, lambda e: isinstance(e, ReplyPosted))
            assert [(r.id, r.data.text, r.data.channel) for r in replies] == [
                (first["event_id"], "Hello Camille", None),
                (by_email["event_id"], "Also by email", "email"),
                (by_sms["event_id"], "By SMS then", "sms"),
            ]
            delivered = log.events(
                topics.OUTBOUND,
                lambda e: isinstance(e, MessageSend) and e.data.message_id == first["event_id"],
            )
            assert [(m.data.channel, m.data.to.address) for m in delivered] == [("webchat", "visitor-7")]
    finally:
        gateway.terminate()
        store.terminate()

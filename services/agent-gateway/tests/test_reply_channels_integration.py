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
import websockets
from websockets.asyncio.client import ClientConnection

from relais_contracts import now_time, topics
from relais_contracts.channel import MessageSend
from relais_contracts.conversation import Assigned, AssignedData, Opened, ReplyPosted
from relais_platform.testing import (
    Infra,
    RawPublisher,
    ServiceProcess,
    TopicReader,
    create_topics,
    service_env,
)

from .test_gateway_integration import WAIT_S, login, send, socket_url

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
                topics.INBOUND,
                "acme:webchat:visitor-7",
                {
                    "specversion": "1.0",
                    "id": str(uuid.uuid4()),
                    "source": "test/webchat",
                    "type": "relais.channel.message.received",
                    "time": datetime.now(UTC).isoformat(),
                    "tenant": "acme",
                    "data": {
                        "channel": "webchat",
                        "from": {"address": "visitor-7", "name": "Camille"},
                        "text": "I need a person",
                        "external_id": "wc-1",
                        "identity": {"email": "camille@example.com"},
                    },
                },
            )
            opened = await log.wait_event(topics.CONVERSATIONS, lambda e: isinstance(e, Opened))
            cid = opened.subject
            assert cid

            token = await login(http, "acme", "a-1", "Alice")
            async with websockets.connect(socket_url(gateway, token)) as alice:
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

            sent = await log.wait_event(
                topics.OUTBOUND,
                lambda e: isinstance(e, MessageSend) and e.data.message_id == by_email["event_id"],
            )
            assert isinstance(sent, MessageSend)
            assert (sent.data.channel, sent.data.to.address) == ("email", "camille@example.com")
            # The conversation log is ordered per conversation: everything posted before is in it now.
            replies = log.events(topics.CONVERSATIONS, lambda e: isinstance(e, ReplyPosted))
            assert [(r.id, r.data.text, r.data.channel) for r in replies] == [
                (first["event_id"], "Hello Camille", None),
                (by_email["event_id"], "Also by email", "email"),
            ]
            delivered = log.events(
                topics.OUTBOUND,
                lambda e: isinstance(e, MessageSend) and e.data.message_id == first["event_id"],
            )
            assert [(m.data.channel, m.data.to.address) for m in delivered] == [("webchat", "visitor-7")]
    finally:
        gateway.terminate()
        store.terminate()

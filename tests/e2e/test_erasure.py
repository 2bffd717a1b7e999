"""Right to erasure across the whole system: for a tenant whose customer text is sealed, the bot reads
the customer, hands over with a sealed packet, and after the customer is erased nothing they said can
be read in Redis (views, bot state, routing state, agent inboxes) or in a replay of any topic: neither
their words, nor the bot's and the agent's replies, the agent's notes, their attachments' URLs, nor (in
Redis) their addresses. What stays on the topics by design is listed in docs/operations.md (Erasure)."""

import json
import uuid
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from relais_contracts import decode, topics
from relais_contracts.channel import MessageSend
from relais_contracts.conversation import CustomerMessage, HandoffRequested, NoteAdded, Opened, ReplyPosted
from relais_contracts.routing import WorkSubmitted
from relais_platform.sealing import ERASED_TEXT, CustomerKeys, unseal_messages, unseal_packets, unseal_replies
from relais_platform.settings import ServiceSettings
from relais_platform.testing import (
    Infra,
    RawPublisher,
    TopicReader,
    api_headers,
    desk_socket,
    poll,
    redis_dump,
)
from tests.e2e.system import MODULES, TENANT, AgentSocket, inbound, start_system

pytestmark = pytest.mark.e2e

FOLLOWED = [topics.CONVERSATIONS, topics.ROUTING, topics.AGENTS, topics.OUTBOUND]


async def test_an_erased_customer_leaves_no_readable_word_anywhere(infra: Infra, tmp_path: Path) -> None:
    system = await start_system(
        infra,
        tmp_path,
        list(MODULES),
        **{"context-store": {"RELAIS_SEAL_TENANTS": f'["{TENANT}"]'}},
    )
    marker = f"Tombouctou{uuid.uuid4().hex[:8]}"
    answer, noted = f"Ouagadougou{uuid.uuid4().hex[:8]}", f"Nouakchott{uuid.uuid4().hex[:8]}"
    key = topics.inbound_key(TENANT, "webchat", "visitor-77")
    redis = Redis.from_url(infra.redis_url)
    keys = CustomerKeys(redis, ServiceSettings(namespace=system.namespace))
    try:
        gateway = system.url("agent-gateway")
        async with (
            RawPublisher(infra, system.namespace) as channel,
            TopicReader(infra, system.namespace, FOLLOWED) as reader,
            httpx.AsyncClient(timeout=30) as http,
        ):
            login = await http.post(
                f"{gateway}/v1/dev/login", json={"tenant": TENANT, "agent_id": "a-1", "name": "Ana"}
            )
            desk_token = login.json()["token"]
            desk = AgentSocket(await desk_socket(gateway, desk_token))
            await desk.send({"type": "presence", "presence": "available", "ref": "p"})
            await desk.expect("ack", ref="p")
            # A plain greeting first: a random word in it could make the bot ask to clarify instead.
            await channel.event(topics.INBOUND, key, inbound("Bonjour", address="visitor-77"))
            greeting = await reader.wait_event(
                topics.OUTBOUND, lambda e: isinstance(e, MessageSend), what="reply"
            )
            assert "Bonjour" in greeting.data.text  # the bot read the sealed message (and answers in French)
            await channel.event(
                topics.INBOUND,
                key,
                inbound(f"je veux parler a un conseiller, commande {marker}", address="visitor-77"),
            )
            handoff = await reader.wait_event(
                topics.CONVERSATIONS, lambda e: isinstance(e, HandoffRequested), what="the handoff"
            )
            work = await reader.wait_event(
                topics.ROUTING, lambda e: isinstance(e, WorkSubmitted), what="work"
            )
            assert isinstance(handoff, HandoffRequested)
            assert isinstance(work, WorkSubmitted)
            assert handoff.data.packet.reason == "customer-request"
            assert handoff.data.packet.sealed  # the words travel in the customer's key
            (packet,) = await unseal_packets(keys, [handoff.data.packet])
            assert [t.text for t in packet.transcript if t.author_kind == "customer"] == [
                "Bonjour",
                f"je veux parler a un conseiller, commande {marker}",
            ]
            # The agent reads the customer's words: the gateway opens them on their way to the desk only.
            offer = await desk.expect("offer", timeout=60)
            assert marker in offer["packet"]["transcript"][-1]["text"]
            # The agent takes the conversation, answers and leaves a note: both reach the log sealed, and
            # the desk shows them in clear.
            await desk.send({"type": "accept", "offer_id": offer["offer_id"], "ref": "a"})
            await desk.expect("ack", ref="a")
            await desk.expect("assigned", conversation_id=offer["conversation_id"])
            reply_text, note_text = f"parcel {answer} is on its way", f"customer {noted} was upset"
            for ref, action in {
                "r": {"type": "reply", "text": reply_text},
                "n": {"type": "note", "text": note_text},
            }.items():
                await desk.send({**action, "conversation_id": offer["conversation_id"], "ref": ref})
                await desk.expect("ack", ref=ref)
            shown = await desk.expect("note", conversation_id=offer["conversation_id"])
            assert shown["note"]["text"] == note_text
            echoed = await desk.expect(
                "message",
                conversation_id=offer["conversation_id"],
                where=lambda m: m["message"]["author_kind"] == "agent",
            )
            assert echoed["message"]["text"] == reply_text
            assert echoed["message"]["author_name"] == "Ana"
            # The reply leaves for the customer's channel in clear (the outbound topic is the channels').
            await reader.wait_event(
                topics.OUTBOUND,
                lambda e: isinstance(e, MessageSend) and e.data.text == reply_text,
                what="sent",
            )
            await desk.ws.close()
            written = [
                e for e in reader.events(topics.CONVERSATIONS) if isinstance(e, ReplyPosted | NoteAdded)
            ]
            assert {e.data.author.kind for e in written} == {"bot", "agent"}
            assert all(e.data.sealed for e in written)  # the bot's replies too
            # No topic carries the customer's words, the replies or the note in clear (the inbound one
            # is the integrator's, the outbound one the channels').
            assert all(marker.encode() not in r.value for r in reader.records)
            logged = [r for r in reader.records if not r.topic.endswith(topics.OUTBOUND)]
            assert all(w.encode() not in r.value for r in logged for w in (answer, noted))
            opened = reader.events(topics.CONVERSATIONS, lambda e: isinstance(e, Opened))[0]
            assert isinstance(opened, Opened)
            await poll(
                lambda: _holds(infra, system.namespace, marker), what="the customer's words in the views"
            )

            async with httpx.AsyncClient(base_url=system.url("context-store"), timeout=30) as http:
                erased = await http.delete(
                    f"/v1/customers/{opened.data.customer_id}",
                    headers=api_headers(TENANT, caller="ops"),
                )
            assert erased.status_code == 200, erased.text

            async def nothing_readable() -> bool:
                return not await _holds(infra, system.namespace, marker)

            await poll(nothing_readable, what="no word of the customer left in Redis")
            dump = repr(await redis_dump(infra, system.namespace))
            assert not [w for w in (answer, noted, "visitor-77") if w in dump]

            # The agents' inboxes no longer hold the erased conversation's offer, messages or notes
            # (the router's later "offer rescinded" notice, which carries no words, may follow).
            async def inbox_types() -> list[str]:
                dump = await redis_dump(infra, system.namespace)
                entries = [
                    json.loads(fields[b"m"])
                    for key, stream in dump.items()
                    if key.endswith(":inbox")
                    for _, fields in stream
                ]
                return [e["type"] for e in entries if e.get("conversation_id") == opened.subject]

            async def no_words_in_inboxes() -> bool:
                return not {"offer", "message", "note"} & set(await inbox_types())

            await poll(no_words_in_inboxes, what="the offer gone from the inbox")

        # A replay of every topic the services write: the sealed words can no longer be opened.
        async with TopicReader(infra, system.namespace, FOLLOWED) as replay:
            await replay.wait_event(
                topics.CONVERSATIONS, lambda e: e.type == "relais.customer.erased", what="erasure"
            )
            records = list(replay.records)
        logged = [r for r in records if not r.topic.endswith(topics.OUTBOUND)]
        assert all(w.encode() not in r.value for r in logged for w in (marker, answer, noted))
        events = [decode(r.value) for r in records]
        writes = [e for e in events if isinstance(e, ReplyPosted | NoteAdded)]
        assert {w.data.text for w in await unseal_replies(keys, writes)} == {ERASED_TEXT}
        messages = [e for e in events if isinstance(e, CustomerMessage)]
        assert {m.data.text for m in await unseal_messages(keys, messages)} == {ERASED_TEXT}
        packets = [e.data.packet for e in events if isinstance(e, HandoffRequested | WorkSubmitted)]
        assert packets
        assert {p.summary for p in await unseal_packets(keys, packets)} == {ERASED_TEXT}
    finally:
        await redis.aclose()
        system.stop()


async def _holds(infra: Infra, namespace: str, text: str) -> bool:
    return text in repr(await redis_dump(infra, namespace))

"""Size budgets that agree end to end: a customer who writes 50 messages of 20,000 characters in Cyrillic
and emoji (about 50 KB each in UTF-8), and one longer than the log keeps, then asks for a person, reaches
an agent on a sealed and on an unsealed tenant; nothing is dead-lettered, every record stays within its
budget, and the desk reads the whole conversation."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from relais_contracts import decode, topics
from relais_contracts.agents import OfferCreated
from relais_contracts.channel import CUSTOMER_TEXT_MAX, MessageSend
from relais_contracts.conversation import PACKET_MAX_BYTES, CustomerMessage, HandoffRequested
from relais_contracts.routing import WorkSubmitted
from relais_platform.testing import Infra, RawPublisher, TopicReader, all_consumed, desk_socket, poll
from tests.e2e.system import MODULES, AgentSocket, System, inbound, start_system

pytestmark = pytest.mark.e2e

MESSAGES = 50
# The broker's default record limit (message.max.bytes), which the local and in-cluster brokers keep.
BROKER_MAX = 1_048_588
# What a handoff, a work item or an offer adds around its packet: envelope, ids, routing fields.
ENVELOPE = 4096
# A greeting the bot answers (so the conversation stays with it for all 50 messages), in Cyrillic and
# emoji: about 1.6 UTF-8 bytes a character.
WORDS = "hello 😀 hello 👍 hello Привет спасибо "


def long_message(i: int, chars: int = CUSTOMER_TEXT_MAX) -> str:
    return (f"{i}: " + WORDS * (chars // len(WORDS) + 1))[:chars]


async def test_long_messages_in_any_script_reach_an_agent(infra: Infra, tmp_path: Any) -> None:
    system = await start_system(
        infra,
        tmp_path,
        list(MODULES),
        **{
            # The bot reads every message (seconds each at this length on a loaded machine): the
            # handoff must be its own, with the whole conversation, not a fail-over or the watchdog's.
            "context-store": {"RELAIS_SEAL_TENANTS": '["vault"]', "RELAIS_BOT_SILENCE_TIMEOUT_S": "1800"},
            "bot": {"RELAIS_BOT_MESSAGE_TIMEOUT_S": "120"},
        },
    )
    try:
        async with (
            RawPublisher(infra, system.namespace) as channel,
            TopicReader(
                infra, system.namespace, [topics.CONVERSATIONS, topics.ROUTING, topics.AGENTS]
            ) as log,
            TopicReader(infra, system.namespace, [topics.DEADLETTER]) as dead,
            TopicReader(infra, system.namespace, [topics.OUTBOUND]) as outbound,
            httpx.AsyncClient(timeout=60) as http,
        ):
            conversations = await asyncio.gather(
                *(
                    customer_reaches_an_agent(system, channel, outbound, http, tenant)
                    for tenant in ("acme", "vault")
                )
            )
            await all_consumed(infra, system.namespace)  # a dead letter would be written by now
        assert not dead.records, [r.headers for r in dead.records]
        sizes: dict[str, int] = {}
        for record in log.records:
            event = decode(record.value)
            assert len(record.value) <= BROKER_MAX
            if isinstance(event, HandoffRequested | WorkSubmitted | OfferCreated):
                assert len(record.value) <= PACKET_MAX_BYTES + ENVELOPE, event.type
                assert len(event.data.packet.model_dump_json(exclude_none=True).encode()) <= PACKET_MAX_BYTES
                sizes[event.type] = max(sizes.get(event.type, 0), len(record.value))
            if isinstance(event, CustomerMessage) and event.subject in conversations:
                sizes["customer message"] = max(sizes.get("customer message", 0), len(record.value))
        assert {"relais.routing.work.submitted", "relais.agent.offer.created"} <= set(sizes)
        print(f"largest records (bytes): {sizes}")
    finally:
        system.stop()


async def customer_reaches_an_agent(
    system: System, channel: RawPublisher, outbound: TopicReader, http: httpx.AsyncClient, tenant: str
) -> str:
    gateway = system.url("agent-gateway")
    login = await http.post(
        f"{gateway}/v1/dev/login", json={"tenant": tenant, "agent_id": "a-1", "name": "Ana"}
    )
    token = login.json()["token"]
    async with desk_socket(gateway, token) as ws:
        desk = AgentSocket(ws)
        await desk.send({"type": "presence", "presence": "available", "ref": "p"})
        await desk.expect("ack", ref="p")
        address = f"visitor-{uuid.uuid4().hex[:6]}"
        key = topics.inbound_key(tenant, "webchat", address)
        texts = [long_message(i) for i in range(MESSAGES)]
        texts += [long_message(MESSAGES, CUSTOMER_TEXT_MAX + 5000), "je veux parler à un conseiller"]
        for text in texts[:-1]:
            await channel.event(topics.INBOUND, key, {**inbound(text, address=address), "tenant": tenant})

        def answered() -> bool:
            replies = outbound.events(
                topics.OUTBOUND, lambda e: e.tenant == tenant and isinstance(e, MessageSend)
            )
            return len(replies) >= len(texts) - 1

        # The bot has read every long message (seconds each) before the customer asks for a person, so
        # the offer the router makes is not already past its deadline when the agent sees it.
        await poll(answered, timeout=900, interval=1, what=f"the bot's answers to {tenant}'s long messages")
        await channel.event(topics.INBOUND, key, {**inbound(texts[-1], address=address), "tenant": tenant})

        offer = await desk.expect("offer", timeout=120)
        packet = offer["packet"]
        # The request for a person and the newest messages before it, the older ones left to the timeline.
        assert packet["reason"] == "customer-request"
        assert packet["transcript"][-1]["text"] == texts[-1]
        assert packet["transcript_omitted"] > 0
        await desk.send({"type": "accept", "offer_id": offer["offer_id"], "ref": "a"})
        await desk.expect("assigned", conversation_id=offer["conversation_id"], timeout=60)

        async def whole_conversation() -> list[dict[str, Any]] | None:
            read = await http.get(
                f"{gateway}/v1/conversations/{offer['conversation_id']}",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert read.status_code == 200, read.text
            said = [e for e in read.json()["timeline"] if e.get("author_kind") == "customer"]
            return said if len(said) == len(texts) else None

        said = await poll(whole_conversation, timeout=120, interval=0.5, what="the whole conversation")
        assert [e["text"] for e in said[:MESSAGES]] == texts[:MESSAGES]
        cut = said[MESSAGES]
        assert len(cut["text"]) == CUSTOMER_TEXT_MAX
        assert cut["text"].endswith(" […]")
        assert cut["truncated_from"] == CUSTOMER_TEXT_MAX + 5000
        assert said[-1]["text"] == texts[-1]
        return str(offer["conversation_id"])

"""The whole path through real Kafka and Redis, acting only as a channel integrator and an agent would:
channel -> context store -> bot -> router -> agent -> channel."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from relais_contracts import topics
from relais_contracts.channel import MessageSend
from relais_platform.testing import RawPublisher, TopicReader, all_consumed, api_headers, desk_socket, poll
from tests.e2e.system import ADDRESS, TENANT, AgentSocket, inbound

pytestmark = pytest.mark.e2e


@pytest.fixture
async def reader(system: Any) -> AsyncIterator[TopicReader]:
    async with TopicReader(
        system.infra, system.namespace, [topics.OUTBOUND, topics.CONVERSATIONS, topics.DEADLETTER]
    ) as reader:
        yield reader


async def test_customer_to_bot_to_agent_and_back(system: Any, reader: TopicReader) -> None:
    async with RawPublisher(system.infra, system.namespace) as channel, httpx.AsyncClient() as http:
        key = topics.inbound_key(TENANT, "webchat", ADDRESS)

        # 1. The customer greets; the bot answers on the same channel and address.
        await channel.event(topics.INBOUND, key, inbound("Bonjour"))
        greeting = await reader.wait_event(
            topics.OUTBOUND,
            lambda e: isinstance(e, MessageSend) and e.data.author.kind == "bot",
            what="bot reply",
        )
        assert isinstance(greeting, MessageSend)
        assert (greeting.data.channel, greeting.data.to.address) == ("webchat", ADDRESS)
        assert "Bonjour" in greeting.data.text  # answered in French
        conversation_id = greeting.subject
        assert conversation_id

        # 2. An agent logs in (dev login), opens the desk socket and goes available.
        login = await http.post(
            f"{system.url('agent-gateway')}/v1/dev/login",
            json={"tenant": TENANT, "agent_id": "agent-007", "name": "Alex"},
        )
        assert login.status_code == 200, login.text
        token = login.json()["token"]
        async with desk_socket(system.url("agent-gateway"), token) as ws:
            agent = AgentSocket(ws)
            await agent.send({"type": "presence", "presence": "available", "ref": "p1"})
            await agent.expect("ack", ref="p1")

            # 3. The customer asks for a person; the agent is offered the conversation with its history.
            await channel.event(topics.INBOUND, key, inbound("je veux parler à un conseiller"))
            offer = await agent.expect("offer")
            assert offer["conversation_id"] == conversation_id
            transcript = [(m["author_kind"], m["text"]) for m in offer["packet"]["transcript"]]
            assert transcript[0] == ("customer", "Bonjour")
            assert transcript[1] == ("bot", greeting.data.text)
            assert transcript[2] == ("customer", "je veux parler à un conseiller")
            assert offer["channel"] == "webchat"

            # 4. Accept, reply: the reply goes out on the customer's channel and address.
            await agent.send({"type": "accept", "offer_id": offer["offer_id"], "ref": "a1"})
            await agent.expect("assigned", conversation_id=conversation_id)
            await agent.send(
                {
                    "type": "reply",
                    "conversation_id": conversation_id,
                    "text": "Bonjour, ici Alex.",
                    "ref": "r1",
                }
            )
            sent = await reader.wait_event(
                topics.OUTBOUND,
                lambda e: isinstance(e, MessageSend) and e.data.author.kind == "agent",
                what="agent reply on outbound",
            )
            assert isinstance(sent, MessageSend)
            assert (sent.data.channel, sent.data.to.address, sent.subject) == (
                "webchat",
                ADDRESS,
                conversation_id,
            )
            assert sent.data.text == "Bonjour, ici Alex."
            assert sent.data.author.name == "Alex"

            # 5. The agent keeps receiving what the customer writes next, and the bot stays quiet.
            await channel.event(topics.INBOUND, key, inbound("Merci ! Ma commande 4417 n'est pas arrivée."))
            message = await agent.expect(
                "message",
                conversation_id=conversation_id,
                where=lambda m: m["message"]["author_kind"] == "customer",
            )
            assert message["message"]["text"] == "Merci ! Ma commande 4417 n'est pas arrivée."

        # 6. The timeline holds every message exactly once, in order.
        async def timeline() -> list[dict[str, Any]] | None:
            response = await http.get(
                f"{system.url('context-store')}/v1/conversations/{conversation_id}",
                headers=api_headers(TENANT),
            )
            entries = response.json()["timeline"] if response.status_code == 200 else []
            messages = [e for e in entries if e["kind"] == "message"]
            return messages if len(messages) >= 6 else None

        messages = await poll(timeline, what="six messages in the timeline")
        assert [(m["author_kind"], m["text"]) for m in messages] == [
            ("customer", "Bonjour"),
            ("bot", greeting.data.text),
            ("customer", "je veux parler à un conseiller"),
            ("bot", messages[3]["text"]),
            ("agent", "Bonjour, ici Alex."),
            ("customer", "Merci ! Ma commande 4417 n'est pas arrivée."),
        ]
        assert "conseiller" in messages[3]["text"]  # the handoff notice, in French
        assert len({m["message_id"] for m in messages}) == 6
        # Every service has handled the customer's last message and what follows from it (the bot, then
        # the context store: 2 hops), so a bot answer to a conversation an agent holds would be out.
        await all_consumed(system.infra, system.namespace, hops=2)
        bot_replies = reader.events(
            topics.OUTBOUND, lambda e: isinstance(e, MessageSend) and e.data.author.kind == "bot"
        )
        assert len({e.id for e in bot_replies}) == 2  # the greeting and the handoff notice, nothing more

        # Another tenant sees nothing of it.
        other = await http.get(
            f"{system.url('context-store')}/v1/conversations/{conversation_id}",
            headers=api_headers("globex"),
        )
        assert other.status_code == 404
        assert [r for r in reader.records if r.topic.endswith(topics.DEADLETTER)] == []

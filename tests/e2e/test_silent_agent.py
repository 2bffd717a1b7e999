"""No conversation stalls with a person: an agent accepts and goes silent; after the queue's
reassign_after a second agent is offered it with the transcript, the customer is told in their
language that someone else takes over, and the first agent's desk shows it is gone."""

from pathlib import Path

import httpx
import pytest

from relais_contracts import topics
from relais_contracts.channel import MessageSend
from relais_platform.testing import Infra, RawPublisher, TopicReader, desk_socket
from tests.e2e.system import ADDRESS, TENANT, AgentSocket, inbound, start_system

pytestmark = pytest.mark.e2e

REASSIGN_AFTER_S = 4
ROUTING = f"""
default_queue: general
queues:
  general: {{reassign_after_s: {REASSIGN_AFTER_S}, response: {{first_response_s: 60}}}}
  care: {{reassign_after_s: {REASSIGN_AFTER_S}}}
"""


async def login(http: httpx.AsyncClient, gateway: str, agent_id: str) -> str:
    response = await http.post(
        f"{gateway}/v1/dev/login", json={"tenant": TENANT, "agent_id": agent_id, "name": agent_id.title()}
    )
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


async def test_a_silent_agent_s_conversation_goes_to_another_agent(infra: Infra, tmp_path: Path) -> None:
    routing = tmp_path / "routing"
    routing.mkdir()
    (routing / f"{TENANT}.yaml").write_text(ROUTING)
    system = await start_system(
        infra,
        tmp_path,
        ["context-store", "bot", "router", "agent-gateway"],
        router={"RELAIS_ROUTING_CONFIG_DIR": str(routing)},
    )
    try:
        gateway = system.url("agent-gateway")
        async with (
            RawPublisher(infra, system.namespace) as channel,
            TopicReader(infra, system.namespace, [topics.OUTBOUND, topics.CONVERSATIONS]) as log,
            httpx.AsyncClient(timeout=30) as http,
        ):
            alice_token = await login(http, gateway, "alice")
            bob_token = await login(http, gateway, "bob")
            async with (
                desk_socket(gateway, alice_token) as alice_ws,
                desk_socket(gateway, bob_token) as bob_ws,
            ):
                alice, bob = AgentSocket(alice_ws), AgentSocket(bob_ws)
                await alice.expect("ready")
                await bob.expect("ready")
                await alice.send({"type": "presence", "presence": "available", "ref": "a1"})
                await alice.expect("ack", ref="a1")

                key = topics.inbound_key(TENANT, "webchat", ADDRESS)
                await channel.event(topics.INBOUND, key, inbound("Bonjour"))
                await channel.event(topics.INBOUND, key, inbound("je veux parler à un conseiller"))
                offer = await alice.expect("offer", timeout=60)
                conversation = offer["conversation_id"]
                await alice.send({"type": "accept", "offer_id": offer["offer_id"], "ref": "a2"})
                await alice.expect("assigned", conversation_id=conversation)
                # Bob comes in after: nothing waits, so nothing is offered to him yet.
                await bob.send({"type": "presence", "presence": "available", "ref": "b1"})
                await bob.expect("ack", ref="b1")

                # Alice says nothing. After reassign_after, Bob is offered it with the whole transcript.
                second = await bob.expect("offer", conversation_id=conversation, timeout=60)
                transcript = [(m["author_kind"], m["text"]) for m in second["packet"]["transcript"]]
                assert ("customer", "je veux parler à un conseiller") in transcript
                assert ("customer", "Bonjour") in transcript

                # Alice's desk: told why, then released.
                taken = await alice.expect("conversation.taken", conversation_id=conversation)
                assert taken["reason"] == "silent"
                released = await alice.expect("released", conversation_id=conversation)
                assert released["reason"] == "reassigned"

                # The customer hears it in French, on their channel and address.
                notice = await log.wait_event(
                    topics.OUTBOUND,
                    lambda e: isinstance(e, MessageSend) and "prend le relais" in e.data.text,
                    what="the reassignment notice",
                )
                assert isinstance(notice, MessageSend)
                assert (notice.data.to.address, notice.data.author.kind) == (ADDRESS, "bot")

                # Bob takes it and answers: a reply stops the clock, the conversation stays his.
                await bob.send({"type": "accept", "offer_id": second["offer_id"], "ref": "b2"})
                await bob.expect("assigned", conversation_id=conversation)
                await bob.send(
                    {"type": "reply", "conversation_id": conversation, "text": "Je suis là", "ref": "b3"}
                )
                await bob.expect("ack", ref="b3")
                replied = await log.wait_event(
                    topics.OUTBOUND,
                    lambda e: isinstance(e, MessageSend) and e.data.text == "Je suis là",
                    what="Bob's reply",
                )
                assert replied.data.author.kind == "agent"  # type: ignore[attr-defined]
                # Past reassign_after (Bob's reply was the answer): still Bob's, nothing is taken.
                with pytest.raises(AssertionError, match="timed out"):
                    await bob.expect("conversation.taken", timeout=REASSIGN_AFTER_S + 2)
    finally:
        system.stop()

"""An agent's work through the gateway, against the real context store and router: the conversation
read with its whole timeline, a note, a reply, a transfer, a return to the bot and a wrap-up; every
step scoped to the token's tenant and to the agent the conversation is with."""

from pathlib import Path
from typing import Any

import httpx
import pytest

from relais_contracts import topics
from relais_platform.testing import Infra, RawPublisher, TopicReader, desk_socket, poll
from tests.e2e.system import ADDRESS, TENANT, AgentSocket, System, inbound, start_system

pytestmark = pytest.mark.e2e

# No bot runs: the context store's watchdog hands every conversation over after this silence.
WATCHDOG = {"RELAIS_BOT_SILENCE_TIMEOUT_S": "1", "RELAIS_BOT_WATCHDOG_INTERVAL_S": "0.3"}


class Desk:
    """One logged-in agent: REST with the bearer token, and the WebSocket session."""

    def __init__(self, system: System, http: httpx.AsyncClient, token: str) -> None:
        self.base = system.url("agent-gateway")
        self.http = http
        self.token = token
        self.socket: AgentSocket

    async def get(self, path: str) -> httpx.Response:
        return await self.http.get(f"{self.base}{path}", headers={"Authorization": f"Bearer {self.token}"})

    async def send(self, ref: str, **message: Any) -> dict[str, Any]:
        """Send and wait for its ack."""
        await self.socket.send({**message, "ref": ref})
        return await self.socket.expect("ack", ref=ref)

    async def act(self, ref: str, **message: Any) -> dict[str, Any]:
        """Send and return the ack or error that answers it."""
        await self.socket.send({**message, "ref": ref})
        return await self.socket.expect(("ack", "error"), ref=ref)


async def login(system: System, http: httpx.AsyncClient, tenant: str, agent_id: str, **extra: Any) -> Desk:
    body = {"tenant": tenant, "agent_id": agent_id, "name": agent_id.title(), **extra}
    response = await http.post(f"{system.url('agent-gateway')}/v1/dev/login", json=body)
    response.raise_for_status()
    return Desk(system, http, response.json()["token"])


async def test_an_agent_s_work_is_scoped_to_the_agent_and_the_tenant(infra: Infra, tmp_path: Path) -> None:
    system = await start_system(
        infra, tmp_path, ["context-store", "router", "agent-gateway"], **{"context-store": WATCHDOG}
    )
    try:
        async with (
            RawPublisher(infra, system.namespace) as channel,
            TopicReader(
                infra, system.namespace, [topics.CONVERSATIONS, topics.OUTBOUND, topics.FACTS]
            ) as log,
            httpx.AsyncClient(timeout=30) as http,
        ):
            alice = await login(system, http, TENANT, "alice")
            bob = await login(system, http, TENANT, "bob")
            sam = await login(system, http, TENANT, "sam", roles=["supervisor"])
            # Another tenant's agent with the same id as Alice, and a supervisor role there.
            mallory = await login(system, http, "globex", "alice", roles=["agent", "supervisor"])
            gateway = system.url("agent-gateway")
            async with (
                desk_socket(gateway, alice.token) as alice_ws,
                desk_socket(gateway, bob.token) as bob_ws,
                desk_socket(gateway, mallory.token) as mallory_ws,
            ):
                alice.socket, bob.socket, mallory.socket = (
                    AgentSocket(alice_ws),
                    AgentSocket(bob_ws),
                    AgentSocket(mallory_ws),
                )
                for desk in (alice, bob, mallory):
                    await desk.socket.expect("ready")
                await alice.send("p1", type="presence", presence="available")
                await mallory.send("p2", type="presence", presence="available")

                key = topics.inbound_key(TENANT, "sms", ADDRESS)
                await channel.event(topics.INBOUND, key, inbound("my parcel never arrived", channel="sms"))
                offer = await alice.socket.expect("offer", timeout=60)
                conversation = offer["conversation_id"]
                first = offer["offer_id"]

                # Not Mallory's offer, even with the same agent id: another tenant.
                refused = await mallory.act("m1", type="accept", offer_id=offer["offer_id"])
                assert refused["code"] == "not_yours"
                await alice.send("a1", type="accept", offer_id=offer["offer_id"])
                await alice.socket.expect("assigned", conversation_id=conversation)
                # A second desk of Alice's (a reload, another tab) starts with her conversations.
                async with desk_socket(gateway, alice.token) as second_tab:
                    assert (await AgentSocket(second_tab).expect("ready"))["conversations"] == [conversation]

                # The whole timeline, from the context store, for the agent it is assigned to.
                mine = await alice.get(f"/v1/conversations/{conversation}")
                assert mine.status_code == 200, mine.text
                timeline = mine.json()["timeline"]
                assert [(e["text"], e["channel"]) for e in timeline if e["kind"] == "message"] == [
                    ("my parcel never arrived", "sms")
                ]
                assert any(e["kind"] == "assigned" and e["agent_id"] == "alice" for e in timeline)
                assert (await sam.get(f"/v1/conversations/{conversation}")).status_code == 200
                for outsider in (bob, mallory):  # another agent's, another tenant's: not found alike
                    assert (await outsider.get(f"/v1/conversations/{conversation}")).status_code == 404
                assert (await http.get(f"{alice.base}/v1/conversations/{conversation}")).status_code == 401

                for ref, action in {
                    "m2": {"type": "reply", "conversation_id": conversation, "text": "hi from globex"},
                    "m3": {"type": "note", "conversation_id": conversation, "text": "globex note"},
                    "m4": {"type": "transfer", "conversation_id": conversation, "to_queue": "general"},
                    "m5": {"type": "wrap_up", "conversation_id": conversation, "disposition": "resolved"},
                    "m6": {"type": "return_to_bot", "conversation_id": conversation},
                }.items():
                    assert (await mallory.act(ref, **action))["code"] == "not_yours", action
                assert (await bob.act("b0", type="note", conversation_id=conversation, text="x"))[
                    "code"
                ] == "not_yours"

                await alice.send(
                    "a2", type="note", conversation_id=conversation, text="VIP customer, be gentle"
                )
                note = await alice.socket.expect("note", conversation_id=conversation)
                assert (note["note"]["text"], note["note"]["author_id"]) == (
                    "VIP customer, be gentle",
                    "alice",
                )
                reply = await alice.send(
                    "a3", type="reply", conversation_id=conversation, text="Looking into it"
                )
                sent = await log.wait_event(topics.OUTBOUND, lambda e: e.data.message_id == reply["event_id"])
                assert sent.data.text == "Looking into it"

                await channel.event(topics.INBOUND, key, inbound("thanks, it is order 1234", channel="sms"))
                live = await alice.socket.expect(
                    "message", where=lambda m: m["message"]["author_kind"] == "customer"
                )
                assert live["message"]["text"] == "thanks, it is order 1234"

                # Transfer to Bob with a note: Alice is released, Bob gets it with everything so far.
                await alice.send(
                    "a4", type="transfer", conversation_id=conversation, to_agent_id="bob", note="refund"
                )
                released = await alice.socket.expect("released", conversation_id=conversation)
                assert released["reason"] == "transferred"
                await bob.send("b1", type="presence", presence="available")
                offer = await bob.socket.expect("offer", conversation_id=conversation, timeout=60)
                await bob.send("b2", type="accept", offer_id=offer["offer_id"])
                await bob.socket.expect("assigned", conversation_id=conversation)
                assert (await alice.get(f"/v1/conversations/{conversation}")).status_code == 404
                seen = (await bob.get(f"/v1/conversations/{conversation}")).json()["timeline"]
                kinds = {e["kind"] for e in seen}
                assert {"message", "note", "transferred", "assigned"} <= kinds
                assert [e["text"] for e in seen if e["kind"] == "note"] == ["VIP customer, be gentle"]
                assert "Looking into it" in [e.get("text") for e in seen]

                bad = await bob.act(
                    "b3", type="wrap_up", conversation_id=conversation, disposition="whatever"
                )
                assert (bad["type"], bad["code"]) == ("error", "invalid")
                await bob.send("b4", type="return_to_bot", conversation_id=conversation, note="answered")
                back = await bob.socket.expect("released", conversation_id=conversation)
                assert back["reason"] == "returned-to-bot"
                returned = await log.wait_event(
                    topics.CONVERSATIONS, lambda e: e.type.endswith("returned_to_bot")
                )
                assert (returned.subject, returned.data.agent_id, returned.data.note) == (
                    conversation,
                    "bob",
                    "answered",
                )

                # The bot is silent again: the watchdog hands over; this time the agent wraps up.
                await channel.event(topics.INBOUND, key, inbound("one more question", channel="sms"))
                again = await alice.socket.expect(
                    "offer", conversation_id=conversation, where=lambda m: m["offer_id"] != first, timeout=60
                )
                await alice.send("a5", type="accept", offer_id=again["offer_id"])
                await alice.socket.expect("assigned", offer_id=again["offer_id"])
                await alice.send("a6", type="wrap_up", conversation_id=conversation, disposition="resolved")
                done = await alice.socket.expect("released", conversation_id=conversation, reason="completed")
                assert done["disposition"] == "resolved"

                # The wrap-up writes the conversation's fact, from what the real services logged.
                fact = (await log.wait_event(topics.FACTS, lambda e: e.subject == conversation)).data
                assert (fact.ended_by, fact.handed_over, fact.handoff_reason, fact.handoffs) == (
                    "wrap-up", True, "bot-silent", 2,
                )  # fmt: skip
                assert (fact.agents, fact.transfers, fact.disposition, fact.channels) == (
                    ("alice", "bob"), 1, "resolved", ("sms",),
                )  # fmt: skip
                assert (fact.customer_messages, fact.agent_replies, fact.bot_outcome) == (3, 1, "handed-over")
                assert fact.wait_to_accept_s is not None
                assert (fact.handle_s or 0) > 0

                # Nothing of the note reached the customer.
                assert not [e for e in log.events(topics.OUTBOUND) if "VIP" in e.data.text]

            # Supervisors see their own tenant's routing, agents do not see it at all.
            agents = await poll(
                lambda: _agent_ids(sam), timeout=30, what="the router's agent view lists alice and bob"
            )
            assert {"alice", "bob"} <= agents
            assert (await alice.get("/v1/supervisor/queues")).status_code == 403
            theirs = await mallory.get("/v1/supervisor/agents")
            assert theirs.status_code in (200, 404)
            assert "bob" not in theirs.text
    finally:
        system.stop()


async def _agent_ids(desk: Desk) -> set[str] | None:
    response = await desk.get("/v1/supervisor/agents")
    if response.status_code != 200:
        return None
    ids = {a["agent_id"] for a in response.json()["agents"]}
    return ids if {"alice", "bob"} <= ids else None

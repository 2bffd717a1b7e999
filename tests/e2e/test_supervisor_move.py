"""A supervisor's move through the whole system: the customer asks the bot for a person, Alice takes the
conversation, the supervisor moves it to Bob through the gateway's API; Bob is offered it with the whole
story, Alice's desk says who took it, and the log holds the request and the transfer with the
supervisor as the actor."""

from pathlib import Path

import httpx
import pytest

from relais_contracts import topics
from relais_contracts.conversation import Assigned, Transferred
from relais_contracts.routing import SupervisorMoveRequested
from relais_platform.testing import Infra, RawPublisher, TopicReader, desk_socket, poll
from tests.e2e.system import ADDRESS, TENANT, AgentSocket, inbound, start_system

pytestmark = pytest.mark.e2e


async def login(http: httpx.AsyncClient, gateway: str, agent_id: str, roles: list[str]) -> str:
    body = {"tenant": TENANT, "agent_id": agent_id, "name": agent_id.title(), "roles": roles}
    response = await http.post(f"{gateway}/v1/dev/login", json=body)
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


async def test_a_supervisors_move_reaches_the_new_agent_and_is_on_the_log_with_the_actor(
    infra: Infra, tmp_path: Path
) -> None:
    system = await start_system(
        infra,
        tmp_path,
        ["context-store", "bot", "router", "agent-gateway"],
        router={"RELAIS_VIEW_INTERVAL_S": "0.5"},
    )
    try:
        gateway = system.url("agent-gateway")
        async with (
            RawPublisher(infra, system.namespace) as channel,
            TopicReader(infra, system.namespace, [topics.ROUTING, topics.CONVERSATIONS]) as log,
            httpx.AsyncClient(timeout=30) as http,
        ):
            alice_token = await login(http, gateway, "alice", ["agent"])
            bob_token = await login(http, gateway, "bob", ["agent"])
            sam = {"Authorization": f"Bearer {await login(http, gateway, 'sam', ['supervisor'])}"}
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
                await channel.event(topics.INBOUND, key, inbound("Hello, my parcel 5521 never came"))
                await channel.event(topics.INBOUND, key, inbound("I want to talk to a human please"))
                offer = await alice.expect("offer", timeout=60)
                conversation = offer["conversation_id"]
                await alice.send({"type": "accept", "offer_id": offer["offer_id"], "ref": "a2"})
                await alice.expect("assigned", conversation_id=conversation)
                await bob.send({"type": "presence", "presence": "available", "ref": "b1"})
                await bob.expect("ack", ref="b1")

                async def moved() -> httpx.Response | None:
                    # Until the router's view and the context store show Bob and Alice's assignment.
                    response = await http.post(
                        f"{gateway}/v1/supervisor/conversations/{conversation}/move",
                        json={"to_agent_id": "bob", "note": "Bob knows parcels"},
                        headers=sam,
                    )
                    return response if response.status_code == 202 else None

                accepted = await poll(moved, timeout=30, interval=0.5, what="the move accepted")
                event_id = accepted.json()["event_id"]

                second = await bob.expect("offer", conversation_id=conversation, timeout=30)
                transcript = [m["text"] for m in second["packet"]["transcript"]]
                assert "I want to talk to a human please" in transcript
                taken = await alice.expect("conversation.taken", conversation_id=conversation)
                assert (taken["reason"], taken["by"]) == ("supervisor", {"id": "sam", "name": "Sam"})
                await bob.send({"type": "accept", "offer_id": second["offer_id"], "ref": "b2"})
                await bob.expect("assigned", conversation_id=conversation)

                request = await log.wait_event(
                    topics.ROUTING, lambda e: isinstance(e, SupervisorMoveRequested), what="the request"
                )
                assert request.id == event_id
                assert isinstance(request, SupervisorMoveRequested)
                assert (request.data.by.id, request.data.by.name, request.data.to_agent_id) == (
                    "sam",
                    "Sam",
                    "bob",
                )
                transferred = await log.wait_event(
                    topics.CONVERSATIONS, lambda e: isinstance(e, Transferred), what="the transfer"
                )
                assert isinstance(transferred, Transferred)
                assert transferred.subject == conversation
                assert transferred.data.by is not None
                assert (transferred.data.from_agent_id, transferred.data.by.id) == ("alice", "sam")
                assert transferred.data.note == "Bob knows parcels"
                # The transfer is caused by the supervisor's request: the log links them.
                assert transferred.causationid == request.id
                await log.wait_event(
                    topics.CONVERSATIONS,
                    lambda e: isinstance(e, Assigned) and e.data.agent_id == "bob",
                    what="assigned to Bob",
                )
    finally:
        system.stop()

"""A supervisor acts through the gateway on a real router and context store, over real Kafka and Redis:
moves a conversation from one agent to another, whispers to the agent, watches the conversation read
only, sets an agent away and takes a conversation back; every refusal says why, and nothing crosses
tenants or reaches the customer."""

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from relais_contracts import now_time, topics
from relais_contracts.conversation import (
    HandoffPacket,
    Opened,
    Transferred,
    WhisperAdded,
)
from relais_contracts.routing import (
    SupervisorMoveRequested,
    SupervisorPresenceSet,
    SupervisorTakeBackRequested,
    WorkSubmitted,
    WorkSubmittedData,
)
from relais_platform.testing import (
    Infra,
    RawPublisher,
    ServiceProcess,
    TopicReader,
    all_consumed,
    create_topics,
    desk_socket,
    poll,
    service_env,
)

pytestmark = pytest.mark.integration

WAIT_S = 30.0
ROUTING = """
queues:
  general: {}
  billing: {}
away_reasons: [break, training]
"""


async def login(http: httpx.AsyncClient, tenant: str, agent_id: str, *, supervisor: bool = False) -> str:
    roles = ["agent", "supervisor"] if supervisor else ["agent"]
    body = {"tenant": tenant, "agent_id": agent_id, "name": agent_id.title(), "roles": roles}
    response = await http.post("/v1/dev/login", json=body)
    response.raise_for_status()
    return str(response.json()["token"])


async def expect(ws: ClientConnection, kind: str, **fields: Any) -> dict[str, Any]:
    """The next server message of type `kind` with these fields; others in between are skipped."""

    async def find() -> dict[str, Any]:
        while True:
            message: dict[str, Any] = json.loads(await ws.recv())
            if message["type"] == kind and all(message.get(k) == v for k, v in fields.items()):
                return message

    return await asyncio.wait_for(find(), WAIT_S)


async def expect_both(ws: ClientConnection, first: str, second: str, conversation_id: str) -> dict[str, Any]:
    """Two messages about the conversation from two topics (agents, conversations), in either order:
    the messages of both kinds, by kind."""

    async def find() -> dict[str, Any]:
        found: dict[str, Any] = {}
        while len(found) < 2:
            message: dict[str, Any] = json.loads(await ws.recv())
            if message["type"] in (first, second) and message.get("conversation_id") == conversation_id:
                found[message["type"]] = message
        return found

    return await asyncio.wait_for(find(), WAIT_S)


def inbound(address: str, text: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "test/webchat",
        "type": "relais.channel.message.received",
        "time": now_time().isoformat(),
        "tenant": "acme",
        "data": {
            "channel": "webchat",
            "from": {"address": address, "name": "Camille"},
            "text": text,
            "external_id": str(uuid.uuid4()),
        },
    }


def submitted(conversation_id: str) -> WorkSubmitted:
    """What the bot hands the router when the customer asks for a person."""
    packet = HandoffPacket(reason="customer-request", summary="wants a person", queue="general")
    return WorkSubmitted(
        id=str(uuid.uuid4()),
        source="relais/test-bot",
        time=now_time(),
        tenant="acme",
        data=WorkSubmittedData(conversation_id=conversation_id, channel="webchat", packet=packet),
    )


async def test_a_supervisor_moves_whispers_watches_sets_away_and_takes_back(
    infra: Infra, namespace: str, tmp_path: Path
) -> None:
    await create_topics(infra, namespace)
    routing = tmp_path / "routing"
    routing.mkdir()
    (routing / "acme.yaml").write_text(ROUTING)
    store = ServiceProcess(
        "relais_context_store",
        service_env(infra, namespace, RELAIS_BOT_SILENCE_TIMEOUT_S="0"),
        tmp_path,
        name="context-store",
    ).start()
    router = ServiceProcess(
        "relais_router",
        service_env(infra, namespace, RELAIS_ROUTING_CONFIG_DIR=str(routing), RELAIS_VIEW_INTERVAL_S="0.3"),
        tmp_path,
        name="router",
    ).start()
    gateway = ServiceProcess(
        "relais_agent_gateway",
        service_env(
            infra,
            namespace,
            RELAIS_ENV="dev",
            RELAIS_CONTEXT_STORE_URL=store.url,
            RELAIS_ROUTER_URL=router.url,
        ),
        tmp_path,
        name="agent-gateway",
    ).start()
    try:
        await asyncio.gather(store.wait_ready(), router.wait_ready(), gateway.wait_ready())
        async with (
            TopicReader(infra, namespace, [topics.ROUTING, topics.CONVERSATIONS, topics.OUTBOUND]) as log,
            RawPublisher(infra, namespace) as outside,
            httpx.AsyncClient(base_url=gateway.url, timeout=30) as http,
        ):
            sam = {"Authorization": f"Bearer {await login(http, 'acme', 'sam', supervisor=True)}"}
            alice_token = await login(http, "acme", "alice")
            bob_token = await login(http, "acme", "bob")
            # A supervisor of another tenant, and an agent without the role.
            eve = {"Authorization": f"Bearer {await login(http, 'globex', 'eve', supervisor=True)}"}
            plain = {"Authorization": f"Bearer {alice_token}"}

            async with (
                desk_socket(gateway.url, alice_token) as alice,
                desk_socket(gateway.url, bob_token) as bob,
            ):
                await expect(alice, "ready")
                await expect(bob, "ready")
                await alice.send(json.dumps({"type": "presence", "presence": "available", "ref": "a"}))
                await expect(alice, "ack", ref="a")

                await outside.event(topics.INBOUND, "acme:webchat:v-1", inbound("v-1", "I need a person"))
                opened = await log.wait_event(topics.CONVERSATIONS, lambda e: isinstance(e, Opened))
                cid = opened.subject
                assert cid
                await outside.event(topics.ROUTING, "acme", submitted(cid))
                offer = await expect(alice, "offer", conversation_id=cid)
                await alice.send(json.dumps({"type": "accept", "offer_id": offer["offer_id"], "ref": "b"}))
                await expect(alice, "assigned", conversation_id=cid)
                await bob.send(json.dumps({"type": "presence", "presence": "available", "ref": "c"}))
                await expect(bob, "ack", ref="c")

                async def both_agents_seen() -> bool:
                    view = (await http.get("/v1/supervisor/agents", headers=sam)).json()
                    held = {a["agent_id"]: a["conversation_ids"] for a in view.get("agents", ())}
                    return held.get("alice") == [cid] and "bob" in held

                await poll(both_agents_seen, timeout=WAIT_S, what="the router's view of alice and bob")
                await poll(
                    lambda: _state(http, cid, sam, "assigned"), timeout=WAIT_S, what="assigned in the store"
                )

                # Refusals, each with its reason, and nothing published for them.
                move = f"/v1/supervisor/conversations/{cid}/move"
                assert (await http.post(move, json={"to_agent_id": "bob"})).status_code == 401
                assert (await http.post(move, json={"to_agent_id": "bob"}, headers=plain)).status_code == 403
                refused = await http.post(move, json={"to_agent_id": "bob"}, headers=eve)
                assert refused.status_code == 404  # another tenant's conversation does not exist for eve
                assert (await http.post(move, json={}, headers=sam)).status_code == 422
                unknown_queue = await http.post(move, json={"to_queue": "nowhere"}, headers=sam)
                assert unknown_queue.status_code == 422
                assert "no queue 'nowhere'" in unknown_queue.json()["detail"]
                already = await http.post(move, json={"to_agent_id": "alice"}, headers=sam)
                assert already.status_code == 409
                missing = await http.post(
                    "/v1/supervisor/conversations/nope/move", json={"to_queue": "billing"}, headers=sam
                )
                assert missing.status_code == 404

                # The move: Alice is told who took it, Bob is offered it.
                moved = await http.post(move, json={"to_agent_id": "bob", "note": "VIP"}, headers=sam)
                assert moved.status_code == 202, moved.text
                told = await expect_both(alice, "conversation.taken", "released", cid)
                taken = told["conversation.taken"]
                assert (taken["reason"], taken["by"]) == ("supervisor", {"id": "sam", "name": "Sam"})
                assert told["released"]["reason"] == "transferred"
                second = await expect(bob, "offer", conversation_id=cid)
                await bob.send(json.dumps({"type": "accept", "offer_id": second["offer_id"], "ref": "d"}))
                await expect(bob, "assigned", conversation_id=cid)
                request = await log.wait_event(
                    topics.ROUTING, lambda e: isinstance(e, SupervisorMoveRequested)
                )
                assert request.data.by.id == "sam"  # type: ignore[union-attr]
                assert request.id == moved.json()["event_id"]
                transferred = await log.wait_event(topics.CONVERSATIONS, lambda e: isinstance(e, Transferred))
                assert transferred.data.by.name == "Sam"  # type: ignore[union-attr]

                # The charts' history: one sample per step, whoever asks, with the queues and occupancy.
                history = (await http.get("/v1/supervisor/history", headers=sam)).json()
                assert history["window_s"] == 3600
                (point,) = history["samples"]
                assert "general" in point["queues"]
                assert point["occupancy"] is not None
                again = (await http.get("/v1/supervisor/history", headers=sam)).json()
                assert len(again["samples"]) == 1  # within the step: no second sample
                assert (await http.get("/v1/supervisor/history", headers=plain)).status_code == 403

                # A whisper: on Bob's desk only, on the log with its author, never to the customer.
                whisper_url = f"/v1/supervisor/conversations/{cid}/whisper"
                whispered = await http.post(whisper_url, json={"text": "Offer the refund"}, headers=sam)
                assert whispered.status_code == 202, whispered.text
                note = await expect(bob, "whisper", conversation_id=cid)
                assert note["whisper"]["text"] == "Offer the refund"
                assert note["whisper"]["by"] == {"id": "sam", "name": "Sam"}
                on_log = await log.wait_event(topics.CONVERSATIONS, lambda e: isinstance(e, WhisperAdded))
                assert on_log.data.agent_id == "bob"  # type: ignore[union-attr]
                assert (await http.post(whisper_url, json={"text": ""}, headers=sam)).status_code == 422

                # Watching: the supervisor reads the timeline, and cannot write to the customer.
                watched = await http.get(f"/v1/conversations/{cid}", headers=sam)
                assert watched.status_code == 200
                kinds = [e["kind"] for e in watched.json()["timeline"]]
                assert "transferred" in kinds
                assert (await http.get(f"/v1/conversations/{cid}", headers=eve)).status_code == 404
                async with desk_socket(gateway.url, sam["Authorization"].removeprefix("Bearer ")) as sam_ws:
                    await expect(sam_ws, "ready")
                    await sam_ws.send(
                        json.dumps({"type": "reply", "conversation_id": cid, "text": "hi", "ref": "s"})
                    )
                    assert (await expect(sam_ws, "error", ref="s"))["code"] == "not_yours"

                # Away with a reason: Bob's desk is told by whom; a reason the tenant lacks is refused.
                presence = "/v1/supervisor/agents/bob/presence"
                nap = await http.post(presence, json={"presence": "away", "away_reason": "nap"}, headers=sam)
                assert nap.status_code == 422
                ghost = await http.post(
                    "/v1/supervisor/agents/ghost/presence", json={"presence": "offline"}, headers=sam
                )
                assert ghost.status_code == 404
                away = await http.post(
                    presence, json={"presence": "away", "away_reason": "training"}, headers=sam
                )
                assert away.status_code == 202, away.text
                status = await expect(bob, "status")
                assert (status["status"], status["reason"], status["by"]["id"]) == ("away", "training", "sam")
                await log.wait_event(topics.ROUTING, lambda e: isinstance(e, SupervisorPresenceSet))

                # Take back from Bob (away, still holding it): it goes to Alice, who is available.
                back = await http.post(f"/v1/supervisor/conversations/{cid}/take-back", json={}, headers=sam)
                assert back.status_code == 202, back.text
                taken = await expect(bob, "conversation.taken", conversation_id=cid)
                assert taken["reason"] == "supervisor"
                await log.wait_event(topics.ROUTING, lambda e: isinstance(e, SupervisorTakeBackRequested))
                third = await expect(alice, "offer", conversation_id=cid)
                assert third["packet"]["summary"] == "wants a person"

            # Nothing the supervisor wrote went to the customer.
            await all_consumed(infra, namespace, hops=2)
            texts = [getattr(e.data, "text", "") for e in log.events(topics.OUTBOUND)]
            assert "Offer the refund" not in texts
            assert "hi" not in texts
    finally:
        for proc in (gateway, router, store):
            proc.terminate()


async def _state(http: httpx.AsyncClient, cid: str, headers: dict[str, str], state: str) -> bool:
    found = await http.get(f"/v1/conversations/{cid}", headers=headers)
    return found.status_code == 200 and found.json().get("state") == state

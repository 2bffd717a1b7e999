"""Several gateway replicas serve agents at once: each agent gets exactly its own offers whichever replica
holds its desk, a desk resumes on another replica without losing anything, and no replica holds a Redis
connection per socket."""

import uuid
from pathlib import Path
from typing import Any

import pytest
import websockets
from redis.asyncio import Redis

from relais_agent_gateway.auth import TokenAuthority
from relais_agent_gateway.settings import GatewaySettings
from relais_contracts import now_time, topics
from relais_contracts.agents import OfferCreated, OfferCreatedData
from relais_contracts.conversation import HandoffPacket
from relais_platform.testing import (
    Infra,
    RawPublisher,
    ServiceProcess,
    create_topics,
    desk_socket,
    service_env,
)
from tests.e2e.system import AgentSocket

pytestmark = pytest.mark.integration

AGENTS = 50
TOKENS = TokenAuthority(GatewaySettings(env="dev"))  # the dev key the replicas run with in env "dev"


def offer(agent_id: str, offer_id: str) -> OfferCreated:
    data = OfferCreatedData(
        offer_id=offer_id,
        agent_id=agent_id,
        conversation_id=f"c-{offer_id}",
        channel="webchat",
        packet=HandoffPacket(reason="customer-request", summary=f"for {agent_id}"),
    )
    return OfferCreated(
        id=str(uuid.uuid4()), source="relais/test-router", time=now_time(), tenant="acme", data=data
    )


def open_desk(gateway: ServiceProcess, agent_id: str, after: str | None = None) -> websockets.connect:
    return desk_socket(gateway.url, TOKENS.issue(tenant="acme", agent_id=agent_id, name=agent_id), after)


async def test_replicas_share_the_agents(infra: Infra, namespace: str, tmp_path: Path) -> None:
    await create_topics(infra, namespace)
    env = service_env(infra, namespace, RELAIS_ENV="dev")
    replicas = [
        ServiceProcess("relais_agent_gateway", env, tmp_path, name=f"gateway-{i}").start() for i in (1, 2)
    ]
    redis = Redis.from_url(infra.redis_url)
    desks: dict[str, AgentSocket] = {}
    try:
        for gateway in replicas:
            await gateway.wait_ready()
        clients_before = len(await redis.client_list())
        agents = [f"agent-{i}" for i in range(AGENTS)]
        for i, agent_id in enumerate(agents):
            desks[agent_id] = AgentSocket(await open_desk(replicas[i % 2], agent_id))
            await desks[agent_id].expect("ready")
        # One Pub/Sub connection per replica, and short reads from the pool: not one connection per socket.
        assert len(await redis.client_list()) - clients_before < 20

        async with RawPublisher(infra, namespace) as router:
            for agent_id in agents:
                await router.event(topics.AGENTS, agent_id, offer(agent_id, f"o-{agent_id}"))
            for agent_id, desk in desks.items():
                got = await desk.expect("offer")
                assert got["offer_id"] == f"o-{agent_id}"
            assert all(
                [m["offer_id"] for m in d.received if m["type"] == "offer"] == [f"o-{a}"]
                for a, d in desks.items()
            )

            # agent-0's desk (on replica 1) drops; two offers arrive meanwhile; it resumes on replica 2.
            first: dict[str, Any] = desks["agent-0"].received[-1]
            await desks.pop("agent-0").ws.close()
            for offer_id in ("o-late-1", "o-late-2"):
                await router.event(topics.AGENTS, "agent-0", offer("agent-0", offer_id))
            async with open_desk(replicas[1], "agent-0", after=first["seq"]) as ws:
                resumed = AgentSocket(ws)
                assert (await resumed.expect("ready"))["seq"] == first["seq"]
                await resumed.expect("offer", offer_id="o-late-2")
                assert [m["offer_id"] for m in resumed.received if m["type"] == "offer"] == [
                    "o-late-1",
                    "o-late-2",
                ]
    finally:
        for desk in desks.values():
            await desk.ws.close()
        await redis.aclose()
        for gateway in replicas:
            gateway.terminate()

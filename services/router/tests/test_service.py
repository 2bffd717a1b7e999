"""The router as a process against real Kafka and Redis, driven through the routing topic and its API."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from relais_contracts import topics
from relais_contracts.agents import OfferCreated
from relais_contracts.conversation import Assigned, Offered, Queued
from relais_platform.testing import (
    Infra,
    RawPublisher,
    ServiceProcess,
    TopicReader,
    create_topics,
    poll,
    service_env,
)

if TYPE_CHECKING:
    from conftest import Events

pytestmark = pytest.mark.integration


async def test_work_is_offered_accepted_and_assigned(
    infra: Infra, namespace: str, tmp_path: Path, events: Events
) -> None:
    await create_topics(infra, namespace)
    proc = ServiceProcess("relais_router", service_env(infra, namespace), tmp_path).start()
    try:
        await proc.wait_ready()
        tenant = events.tenant
        async with (
            TopicReader(infra, namespace, [topics.AGENTS, topics.CONVERSATIONS]) as reader,
            RawPublisher(infra, namespace) as publisher,
            httpx.AsyncClient(base_url=proc.url) as http,
        ):
            await publisher.event(topics.ROUTING, tenant, events.presence("agent-1", capacity={"*": 2}))
            await publisher.event(topics.ROUTING, tenant, events.submit("conv-1"))

            offer = await reader.wait_event(
                topics.AGENTS, lambda e: isinstance(e, OfferCreated), what="the offer"
            )
            assert isinstance(offer, OfferCreated)
            assert (offer.tenant, offer.data.agent_id, offer.data.conversation_id) == (
                tenant,
                "agent-1",
                "conv-1",
            )
            assert offer.data.packet.transcript  # the agent gets the history with the offer
            record = next(r for r in reader.records if r.topic == f"{namespace}{topics.AGENTS}")
            assert record.key == b"agent-1"
            kinds = [type(e) for e in reader.events(topics.CONVERSATIONS)]
            assert kinds[:2] == [Queued, Offered]

            queues = (await http.get(f"/v1/tenants/{tenant}/queues")).json()
            assert queues["waiting"] == []
            assert [(o["offer_id"], o["agent_id"]) for o in queues["offers"]] == [
                (offer.data.offer_id, "agent-1")
            ]

            await publisher.event(
                topics.ROUTING, tenant, events.accept(offer.data.offer_id, "agent-1", "conv-1")
            )
            assigned = await reader.wait_event(
                topics.CONVERSATIONS, lambda e: isinstance(e, Assigned), what="the assignment"
            )
            assert isinstance(assigned, Assigned)
            assert (assigned.subject, assigned.data.agent_id, assigned.data.agent_name) == (
                "conv-1",
                "agent-1",
                "Agent agent-1",
            )

            async def agent_loaded() -> dict[str, object] | None:
                body = (await http.get(f"/v1/tenants/{tenant}/agents")).json()
                return body if body["agents"] and body["agents"][0]["load"] == 1 else None

            body = await poll(agent_loaded, what="the agent's load in the API")
            assert body["agents"] == [
                {
                    "agent_id": "agent-1",
                    "name": "Agent agent-1",
                    "presence": "available",
                    "capacity": {"*": 2},
                    "load": 1,
                    "load_by_channel": {"webchat": 1},
                }
            ]
            queues = (await http.get(f"/v1/tenants/{tenant}/queues")).json()
            assert queues == {"tenant": tenant, "waiting": [], "offers": []}
            assert (await http.get("/v1/tenants/nobody/agents")).json() == {"tenant": "nobody", "agents": []}

            metrics = (await http.get("/metrics")).text
            assert f'relais_router_offers_total{{tenant="{tenant}"}} 1.0' in metrics
            assert f'relais_router_accepts_total{{tenant="{tenant}"}} 1.0' in metrics
    finally:
        exit_code = proc.terminate()
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal to exit by it.
    assert exit_code in (0, -signal.SIGTERM), proc.log_tail()

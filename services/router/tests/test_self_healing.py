"""Redis loses the router's snapshots and views under it (FLUSHALL on a Redis of the test's own): the
router writes them again at once from its state in memory, so a router killed right after resumes from
a snapshot with its queues and assignments, not from an empty Redis."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from redis.asyncio import Redis

from relais_contracts import topics
from relais_contracts.agents import OfferCreated
from relais_contracts.conversation import Assigned
from relais_platform.testing import (
    Infra,
    LocalRedis,
    RawPublisher,
    ServiceProcess,
    TopicReader,
    api_headers,
    create_topics,
    poll,
    service_env,
)
from relais_router.adapters.snapshots import decode

if TYPE_CHECKING:
    from conftest import Events

pytestmark = pytest.mark.integration


@pytest.fixture
def events(new_events: Callable[..., Events]) -> Events:
    return new_events(start=datetime.now(UTC), step=0.001)


async def test_after_a_redis_wipe_the_router_writes_its_snapshots_again_and_keeps_its_assignments(
    infra: Infra, namespace: str, tmp_path: Path, events: Events, request: pytest.FixtureRequest
) -> None:
    await create_topics(infra, namespace)
    tenant = events.tenant
    with LocalRedis(request.config.rootpath) as own:
        env = service_env(
            infra,
            namespace,
            RELAIS_REDIS_URL=own.url,
            RELAIS_VIEW_INTERVAL_S="0.2",
            RELAIS_SNAPSHOT_EVERY_EVENTS="2",
            RELAIS_SNAPSHOT_EVERY_S="3600",
        )
        redis = Redis.from_url(own.url)
        router = ServiceProcess("relais_router", env, tmp_path).start()
        try:
            await router.wait_ready()
            async with (
                TopicReader(infra, namespace, [topics.AGENTS, topics.CONVERSATIONS]) as reader,
                RawPublisher(infra, namespace) as publisher,
            ):
                await publisher.event(topics.ROUTING, tenant, events.presence("ada"))
                await publisher.event(topics.ROUTING, tenant, events.submit("conv-1"))
                offer = await reader.wait_event(topics.AGENTS, lambda e: isinstance(e, OfferCreated))
                assert isinstance(offer, OfferCreated)
                await publisher.event(
                    topics.ROUTING, tenant, events.accept(offer.data.offer_id, "ada", "conv-1")
                )
                await reader.wait_event(topics.CONVERSATIONS, lambda e: isinstance(e, Assigned))
                await publisher.event(topics.ROUTING, tenant, events.submit("conv-2"))  # waits: ada is busy

            async def snapshots() -> list[tuple[int, dict[str, Any]]]:
                keys = [k async for k in redis.scan_iter(match=f"{namespace}relais:router:snapshot:*")]
                return [decode(raw) for raw in await redis.mget(keys)] if keys else []

            async def holds_both() -> bool:
                found = await snapshots()
                return any(tenant in r and r[tenant].waiting and r[tenant].assignments for _, r in found)

            await poll(holds_both, what="a snapshot with the assignment and the waiting conversation")
            await own.flushall()
            # Nothing new happens on the routing topic: only the check of the marker can bring them back.
            await poll(holds_both, timeout=10, what="the snapshots written again after the wipe")

            async def agents_view(proc: ServiceProcess) -> dict[str, Any] | None:
                async with httpx.AsyncClient(base_url=proc.url) as http:
                    response = await http.get(f"/v1/tenants/{tenant}/agents", headers=api_headers(tenant))
                if response.status_code != 200:
                    return None
                by_id = {a["agent_id"]: a for a in response.json()["agents"]}
                return by_id if by_id.get("ada", {}).get("conversations") == 1 else None

            await poll(lambda: agents_view(router), timeout=10, what="the read view written again")
            router.kill()
            again = ServiceProcess("relais_router", env, tmp_path, "router-again").start()
            try:
                await again.wait_ready()

                def taken_over() -> list[str]:
                    lines = again.log_tail(400).splitlines()
                    return [line for line in lines if "routing partition taken over" in line]

                # The killed member's session has to expire before its partitions move.
                found = await poll(taken_over, timeout=60, what="the partitions taken over")
                assert any('"snapshot_offset": 0' not in line for line in found), found
                # ada's assignment and conv-2's wait survived: her wrap-up frees her for conv-2.
                async with (
                    TopicReader(infra, namespace, [topics.AGENTS]) as reader,
                    RawPublisher(infra, namespace) as publisher,
                ):
                    await publisher.event(topics.ROUTING, tenant, events.complete("conv-1", "ada"))
                    await reader.wait_event(
                        topics.AGENTS,
                        lambda e: isinstance(e, OfferCreated) and e.data.conversation_id == "conv-2",
                        what="conv-2 offered to ada once she is free",
                    )
            finally:
                again.terminate()
        finally:
            router.kill()
            await redis.aclose()

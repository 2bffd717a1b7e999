"""The router as a process against real Kafka and Redis, driven through the routing topic and its API."""

from __future__ import annotations

import json
import signal
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from relais_contracts import topics
from relais_contracts.agents import OfferCreated, OfferRescinded
from relais_contracts.conversation import Assigned, Offered, Queued, WaitUpdated
from relais_contracts.routing import QueuesConfigured, TimerTick
from relais_platform.testing import (
    Infra,
    RawPublisher,
    ServiceProcess,
    TopicReader,
    api_headers,
    create_topics,
    poll,
    service_env,
)

if TYPE_CHECKING:
    from conftest import Events

pytestmark = pytest.mark.integration


@pytest.fixture
def events(new_events: Callable[..., Events]) -> Events:
    """Events stamped with the wall clock, as the router's own timer ticks are."""
    return new_events(start=datetime.now(UTC), step=0.001)


CONFIG = """
offer_timeout_s: 2
queues:
  billing:
    skills: {billing: 2}
    target_answer_s: 30
"""


async def test_routing_through_kafka_with_configuration_timers_views_and_metrics(
    infra: Infra, namespace: str, tmp_path: Path, events: Events
) -> None:
    await create_topics(infra, namespace)
    config_dir = tmp_path / "routing"
    config_dir.mkdir()
    (config_dir / f"{events.tenant}.yaml").write_text(CONFIG)
    env = service_env(
        infra,
        namespace,
        RELAIS_ROUTING_CONFIG_DIR=str(config_dir),
        RELAIS_ROUTING_CONFIG_POLL_S="0.5",
        RELAIS_VIEW_INTERVAL_S="0.2",
        RELAIS_TICK_INTERVAL_S="0.2",
    )
    proc = ServiceProcess("relais_router", env, tmp_path).start()
    tenant = events.tenant
    try:
        await proc.wait_ready()
        async with (
            TopicReader(infra, namespace, [topics.AGENTS, topics.CONVERSATIONS, topics.ROUTING]) as reader,
            RawPublisher(infra, namespace) as publisher,
            httpx.AsyncClient(base_url=proc.url, headers=api_headers()) as http,
        ):
            # The configuration file reaches the core through the routing topic.
            configured = await reader.wait_event(
                topics.ROUTING, lambda e: isinstance(e, QueuesConfigured), what="the configuration event"
            )
            assert configured.tenant == tenant

            await publisher.event(topics.ROUTING, tenant, events.presence("novice", skills={"billing": 1}))
            await publisher.event(topics.ROUTING, tenant, events.submit("conv-1", queue="billing"))
            await reader.wait_event(topics.CONVERSATIONS, lambda e: isinstance(e, WaitUpdated), what="wait")
            await publisher.event(topics.ROUTING, tenant, events.presence("expert", skills={"billing": 4}))

            offer = await reader.wait_event(
                topics.AGENTS, lambda e: isinstance(e, OfferCreated), what="offer"
            )
            assert isinstance(offer, OfferCreated)
            assert (offer.data.agent_id, offer.data.conversation_id) == ("expert", "conv-1")
            assert offer.data.packet.transcript  # the agent gets the history with the offer
            record = next(r for r in reader.records if r.topic == f"{namespace}{topics.AGENTS}")
            assert record.key == b"expert"
            kinds = [type(e) for e in reader.events(topics.CONVERSATIONS)]
            assert kinds == [Queued, WaitUpdated, Offered]

            # Nobody answers: the router's own tick on the routing topic times the offer out.
            rescinded = await reader.wait_event(
                topics.AGENTS, lambda e: isinstance(e, OfferRescinded), what="the timed-out offer"
            )
            assert isinstance(rescinded, OfferRescinded)
            assert rescinded.data.reason == "timeout"
            assert reader.events(topics.ROUTING, lambda e: isinstance(e, TimerTick))

            # The expert is offered it again after the cooldown; meanwhile, accept the next offer.
            await publisher.event(topics.ROUTING, tenant, events.presence("expert2", skills={"billing": 3}))
            second = await reader.wait_event(
                topics.AGENTS,
                lambda e: isinstance(e, OfferCreated) and e.data.agent_id == "expert2",
                what="the offer to the second expert",
            )
            assert isinstance(second, OfferCreated)
            await publisher.event(
                topics.ROUTING, tenant, events.accept(second.data.offer_id, "expert2", "conv-1")
            )
            assigned = await reader.wait_event(
                topics.CONVERSATIONS, lambda e: isinstance(e, Assigned), what="the assignment"
            )
            assert isinstance(assigned, Assigned)
            assert (assigned.subject, assigned.data.agent_id) == ("conv-1", "expert2")

            async def assigned_in_view() -> dict[str, Any] | None:
                body: dict[str, Any] = (await http.get(f"/v1/tenants/{tenant}/agents")).json()
                by_id = {a["agent_id"]: a for a in body.get("agents", [])}
                return body if by_id.get("expert2", {}).get("conversations") == 1 else None

            agents = {a["agent_id"]: a for a in (await poll(assigned_in_view, what="the view"))["agents"]}
            assert agents["expert2"]["load"] == {"chat": 1}
            assert agents["novice"]["state"] == "available"
            queues = {
                q["queue"]: q for q in (await http.get(f"/v1/tenants/{tenant}/queues")).json()["queues"]
            }
            assert queues["billing"]["waiting"] == 0
            assert queues["billing"]["eligible_agents"] == 2  # the novice lacks the proficiency
            assert (await http.get("/v1/tenants/nobody/queues")).status_code == 404
            assert (await http.get("/v1/tenants/bad tenant/queues")).status_code == 422

            samples = {
                (sample.name, tuple(sorted(sample.labels.items()))): sample.value
                for family in text_string_to_metric_families((await http.get("/metrics")).text)
                for sample in family.samples
            }
            labels = (("queue", "billing"), ("tenant", tenant))

            def metric(name: str, **extra: str) -> float | None:
                return samples.get((name, tuple(sorted(labels + tuple(extra.items())))))

            assert metric("relais_router_offers_total", outcome="timeout") == 1
            assert metric("relais_router_offers_total", outcome="accepted") == 1
            assert metric("relais_router_offers_total", outcome="created") == 2
            assert metric("relais_router_time_to_assign_seconds_count") == 1
            assert metric("relais_router_waiting") == 0
            assert metric("relais_router_eligible_agents") == 2

            # A broken file is refused with its reasons; the running configuration stays.
            (config_dir / "broken.yaml").write_text("queues: {q: {skills: {x: 9}}}")
            # The gateway's token reads views but cannot reload; ops can.
            assert (await http.post("/v1/admin/reload-config")).status_code == 403
            response = await http.post("/v1/admin/reload-config", headers=api_headers(caller="ops"))
            assert response.status_code == 422
            assert "broken.yaml: queues.q.skills.x" in str(response.json())
    finally:
        exit_code = proc.terminate()
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal to exit by it.
    assert exit_code in (0, -signal.SIGTERM), proc.log_tail()
    assert "routing snapshot saved" in proc.log_tail(400)


CONVERSATIONS = 150


@pytest.mark.parametrize("snapshot_every", [25, 100_000], ids=["from-a-snapshot", "from-the-start"])
async def test_killed_mid_stream_and_restarted_loses_nothing_and_offers_nothing_twice(
    infra: Infra, namespace: str, tmp_path: Path, events: Events, snapshot_every: int
) -> None:
    await create_topics(infra, namespace)
    tenant = events.tenant
    async with (
        TopicReader(infra, namespace, [topics.AGENTS, topics.CONVERSATIONS]) as reader,
        RawPublisher(infra, namespace) as publisher,
    ):
        for agent in range(5):
            await publisher.event(topics.ROUTING, tenant, events.presence(f"a{agent}", capacity={"*": 40}))
        for n in range(CONVERSATIONS):
            await publisher.event(topics.ROUTING, tenant, events.submit(f"c{n:03d}"))

        # The router handles the backlog 10 events at a time, snapshots every `snapshot_every` events,
        # and kills itself (SIGKILL) after its 6th batch: published, maybe snapshotted, not committed.
        env = service_env(
            infra, namespace, RELAIS_CONSUMER_BATCH_MAX="10", RELAIS_SNAPSHOT_EVERY_EVENTS=str(snapshot_every)
        )
        killed = ServiceProcess(
            "relais_router", {**env, "RELAIS_FAULT_KILL_BEFORE_COMMIT": "6"}, tmp_path, name="killed"
        ).start()
        await poll(lambda: killed.proc is not None and killed.proc.poll() is not None, what="the kill")
        assert killed.proc is not None
        assert killed.proc.returncode == -signal.SIGKILL, killed.log_tail()
        offered_before = {
            e.data.conversation_id
            for e in reader.events(topics.AGENTS, lambda e: isinstance(e, OfferCreated))
        }
        assert 0 < len(offered_before) < CONVERSATIONS

        restarted = ServiceProcess("relais_router", env, tmp_path, name="restarted").start()
        try:
            await restarted.wait_ready()

            def offers() -> list[OfferCreated]:
                return [e for e in reader.events(topics.AGENTS) if isinstance(e, OfferCreated)]

            await poll(
                lambda: len({o.data.conversation_id for o in offers()}) == CONVERSATIONS,
                what="every conversation offered",
            )
            # Let the restarted router finish anything it still had, then count.
            await publisher.event(topics.ROUTING, tenant, events.submit("last"))
            await poll(lambda: any(o.data.conversation_id == "last" for o in offers()), what="the last offer")

            offer_ids: dict[str, set[str]] = defaultdict(set)
            for offer in offers():
                offer_ids[offer.data.conversation_id].add(offer.data.offer_id)
            assert len(offer_ids) == CONVERSATIONS + 1, "a conversation was lost"
            assert all(len(ids) == 1 for ids in offer_ids.values()), "a conversation was offered twice"
            # Records re-sent after the crash carry the ids of the first sending: consumers drop them.
            assert len({o.id for o in offers()}) == CONVERSATIONS + 1
            # The restarted router started where its snapshot says, or from the start without one:
            # a router that ignored its snapshot and replayed everything would start at 0 in both.
            took_over = [
                json.loads(line)
                for line in restarted.log_tail(400).splitlines()
                if "routing partition taken over" in line
            ]
            starts = sorted(t["snapshot_offset"] for t in took_over)
            assert len(starts) == 3, took_over  # every partition of the routing topic
            if snapshot_every < 100_000:  # the tenant's partition was snapshotted before the kill
                assert starts[-1] >= snapshot_every, took_over
                assert starts[-1] < 5 + CONVERSATIONS, "the snapshot is of the killed run, not after it"
            else:
                assert starts == [0, 0, 0], took_over
        finally:
            restarted.terminate()


async def test_events_dated_2094_do_not_freeze_offer_timeouts(
    infra: Infra, namespace: str, tmp_path: Path, new_events: Callable[..., Events]
) -> None:
    # An integrator's clock is data: the router's time is the broker's log time of each record.
    future = new_events(start=datetime(2094, 1, 1, tzinfo=UTC), step=0.001)
    await create_topics(infra, namespace)
    config_dir = tmp_path / "routing"
    config_dir.mkdir()
    (config_dir / f"{future.tenant}.yaml").write_text(CONFIG)
    env = service_env(
        infra,
        namespace,
        RELAIS_ROUTING_CONFIG_DIR=str(config_dir),
        RELAIS_ROUTING_CONFIG_POLL_S="0.5",
        RELAIS_TICK_INTERVAL_S="0.2",
    )
    proc = ServiceProcess("relais_router", env, tmp_path).start()
    try:
        await proc.wait_ready()
        async with (
            TopicReader(infra, namespace, [topics.AGENTS, topics.ROUTING]) as reader,
            RawPublisher(infra, namespace) as publisher,
            httpx.AsyncClient(base_url=proc.url) as http,
        ):
            await reader.wait_event(topics.ROUTING, lambda e: isinstance(e, QueuesConfigured), what="config")
            await publisher.event(
                topics.ROUTING, future.tenant, future.presence("expert", skills={"billing": 4})
            )
            await publisher.event(topics.ROUTING, future.tenant, future.submit("conv-1", queue="billing"))
            offer = await reader.wait_event(
                topics.AGENTS, lambda e: isinstance(e, OfferCreated), what="offer"
            )
            assert isinstance(offer, OfferCreated)
            assert offer.data.expires_at.year < 2094, "the offer expires by the broker's clock"
            rescinded = await reader.wait_event(
                topics.AGENTS, lambda e: isinstance(e, OfferRescinded), timeout=20, what="the offer timed out"
            )
            assert isinstance(rescinded, OfferRescinded)
            assert rescinded.data.reason == "timeout"
            clamped = sum(
                sample.value
                for family in text_string_to_metric_families((await http.get("/metrics")).text)
                if family.name == "relais_event_time_clamped"
                for sample in family.samples
                if sample.labels.get("direction") == "ahead" and sample.name.endswith("_total")
            )
            assert clamped >= 2
    finally:
        proc.terminate()

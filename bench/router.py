"""Router benchmark: 5,000 agents, 50,000 waiting conversations, 20 queues.

In process, it drives the routing core directly and times every decision. Through Kafka, it runs the
router as a process against a real broker and Redis, with a driver playing the agents: every offer
is accepted and completed at once, and a new conversation arrives for each one completed, so the
queues stay at 50,000 waiting while the router assigns as fast as it can.

    make bench-router            # both parts; prints a table and writes .local/bench/router.json
    uv run python bench/router.py --skip-kafka
"""

import argparse
import asyncio
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from prometheus_client.parser import text_string_to_metric_families

from relais_contracts import decode, topics
from relais_contracts.agents import OfferCreated
from relais_contracts.conversation import HandoffPacket
from relais_contracts.routing import (
    OfferAccepted,
    OfferAnswerData,
    PresenceChanged,
    PresenceChangedData,
    QueuesConfigured,
    QueuesConfiguredData,
    WorkCompleted,
    WorkCompletedData,
    WorkSubmitted,
    WorkSubmittedData,
)
from relais_platform.kafka import client_options
from relais_platform.settings import ServiceSettings
from relais_platform.testing import (
    RawPublisher,
    ServiceProcess,
    cpu_seconds,
    create_topics,
    new_namespace,
    open_infra,
    service_env,
)
from relais_router.domain import TenantRouter

REPO = Path(__file__).resolve().parents[1]
TENANT = "bench"
AGENTS = 5_000
WAITING = 50_000
QUEUES = 20
OFFER_TYPE = f'"type":"{OfferCreated.model_fields["type"].default}"'.encode()
CONFIG = {
    "offer_timeout_s": 3600,
    "wait_update_interval_s": 3600,
    "queues": {f"q{q:02d}": {"skills": {f"s{q:02d}": 1}} for q in range(QUEUES)},
}


class Clock:
    """Event envelopes with ids and times, a millisecond apart."""

    def __init__(self, start: datetime) -> None:
        self.n = 0
        self.time = start

    def envelope(self) -> dict[str, Any]:
        self.n += 1
        self.time += timedelta(milliseconds=1)
        return {"id": f"b-{self.n}", "source": "bench", "tenant": TENANT, "time": self.time}


def agent_presence(clock: Clock, rng: random.Random, n: int) -> PresenceChanged:
    skills = {f"s{q:02d}": rng.randint(1, 5) for q in rng.sample(range(QUEUES), 3)}
    data = PresenceChangedData(agent_id=f"a{n:04d}", presence="available", capacity={"*": 1}, skills=skills)
    return PresenceChanged(**clock.envelope(), data=data)


def submit(clock: Clock, rng: random.Random, n: int) -> WorkSubmitted:
    packet = HandoffPacket(
        reason="asked-for-human",
        summary="bench",
        queue=f"q{rng.randrange(QUEUES):02d}",
        priority=rng.choice((0, 0, 0, 5)),
    )
    return WorkSubmitted(
        **clock.envelope(), data=WorkSubmittedData(conversation_id=f"c{n}", channel="webchat", packet=packet)
    )


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def in_process(cycles: int) -> dict[str, Any]:
    rng = random.Random(42)
    clock = Clock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
    router = TenantRouter(TENANT)
    started = time.perf_counter()
    router.apply(
        QueuesConfigured(**clock.envelope(), data=QueuesConfiguredData(config=CONFIG, digest="bench"))
    )
    for n in range(AGENTS):
        router.apply(agent_presence(clock, rng, n))
    conversations = 0
    for _ in range(WAITING + AGENTS):
        router.apply(submit(clock, rng, conversations))
        conversations += 1
    for offer in list(router.offers.values()):
        answer = OfferAnswerData(
            offer_id=offer.offer_id, agent_id=offer.agent_id, conversation_id=offer.item.conversation_id
        )
        router.apply(OfferAccepted(**clock.envelope(), data=answer))
    setup_s = time.perf_counter() - started
    gc.freeze()  # as the service does after each snapshot: the state is long-lived

    # Steady state: an agent completes, the router picks their next conversation among ~50,000 waiting
    # (the decision), the agent accepts, and a new conversation arrives.
    timings: dict[str, list[float]] = {
        "complete (picks the next work)": [],
        "accept": [],
        "submit (enqueue)": [],
    }
    assignments = 0
    busy = sorted(router.assignments.values(), key=lambda a: a.conversation_id)
    loop_started = time.perf_counter()
    for i in range(cycles):
        done = busy[i % len(busy)]
        complete = WorkCompleted(
            **clock.envelope(),
            data=WorkCompletedData(conversation_id=done.conversation_id, agent_id=done.agent_id),
        )
        t = time.perf_counter()
        outputs = router.apply(complete)
        timings["complete (picks the next work)"].append(time.perf_counter() - t)
        offer = next(o.event.data for o in outputs if isinstance(o.event, OfferCreated))
        answer = OfferAnswerData(
            offer_id=offer.offer_id, agent_id=offer.agent_id, conversation_id=offer.conversation_id
        )
        event = OfferAccepted(**clock.envelope(), data=answer)
        t = time.perf_counter()
        router.apply(event)
        timings["accept"].append(time.perf_counter() - t)
        assignments += 1
        busy[i % len(busy)] = router.assignments[offer.conversation_id]
        event = submit(clock, rng, conversations)
        conversations += 1
        t = time.perf_counter()
        router.apply(event)
        timings["submit (enqueue)"].append(time.perf_counter() - t)
    loop_s = time.perf_counter() - loop_started
    every = [s for samples in timings.values() for s in samples]
    return {
        "agents": AGENTS,
        "waiting": len(router.waiting),
        "queues": QUEUES,
        "setup_s": setup_s,
        "assignments": assignments,
        "assignments_per_s": assignments / loop_s,
        "decisions": {
            name: {
                "p50_ms": percentile(s, 0.5) * 1e3,
                "p99_ms": percentile(s, 0.99) * 1e3,
                "mean_ms": statistics.fmean(s) * 1e3,
            }
            for name, s in {**timings, "all events": every}.items()
        },
    }


async def through_kafka(duration_s: float, **extra_env: str) -> dict[str, Any]:
    with ExitStack() as stack:
        infra = open_infra(REPO, stack)
        namespace = new_namespace()
        await create_topics(infra, namespace)
        env = service_env(
            infra, namespace, RELAIS_CONSUMER_BATCH_MAX="2000", RELAIS_LOG_LEVEL="WARNING", **extra_env
        )
        logs = Path(tempfile.mkdtemp(prefix="relais-bench-"))
        router = ServiceProcess("relais_router", env, logs).start()
        stack.callback(router.terminate)
        await router.wait_ready(timeout=120)
        rng = random.Random(42)
        clock = Clock(datetime.now(UTC))
        settings = ServiceSettings(kafka_bootstrap_servers=infra.bootstrap, namespace=namespace)
        consumer = AIOKafkaConsumer(
            settings.topic(topics.AGENTS),
            **client_options(settings),
            auto_offset_reset="earliest",
            group_id=f"{namespace}bench-agents",
        )
        await consumer.start()
        try:
            prefill_events = 1 + AGENTS + WAITING + AGENTS
            async with RawPublisher(infra, namespace) as publisher:
                prefill_started = time.perf_counter()
                await publisher.events(
                    topics.ROUTING,
                    TENANT,
                    [
                        QueuesConfigured(
                            **clock.envelope(), data=QueuesConfiguredData(config=CONFIG, digest="b")
                        ),
                        *(agent_presence(clock, rng, n) for n in range(AGENTS)),
                        *(submit(clock, rng, n) for n in range(WAITING + AGENTS)),
                    ],
                )
                conversations = WAITING + AGENTS
                prefill_s = time.perf_counter() - prefill_started

                # The agents: accept each offer, complete it, and a new customer arrives.
                async def play_agents(until: float) -> int:
                    nonlocal conversations
                    answered = 0
                    while time.perf_counter() < until:
                        batch = await consumer.getmany(timeout_ms=200, max_records=5000)
                        replies = []
                        for records in batch.values():
                            for record in records:
                                # Only offers need an answer: the driver shares the machine with the
                                # router, so it decodes no other record.
                                if OFFER_TYPE not in record.value:
                                    continue
                                event = decode(record.value)
                                if not isinstance(event, OfferCreated):
                                    continue
                                d = event.data
                                answer = OfferAnswerData(
                                    offer_id=d.offer_id,
                                    agent_id=d.agent_id,
                                    conversation_id=d.conversation_id,
                                )
                                replies += [
                                    OfferAccepted(**clock.envelope(), data=answer),
                                    WorkCompleted(
                                        **clock.envelope(),
                                        data=WorkCompletedData(
                                            conversation_id=d.conversation_id, agent_id=d.agent_id
                                        ),
                                    ),
                                    submit(clock, rng, conversations),
                                ]
                                conversations += 1
                                answered += 1
                        await publisher.events(topics.ROUTING, TENANT, replies)
                    return answered

                # Warm-up: answer offers until the router has applied the whole prefill (it is all
                # on the tenant's one partition, before any answer), then 10 s of steady state. A
                # fixed warm-up let the prefill's backlog into the window on a loaded machine.
                warmup_started = time.perf_counter()
                while (
                    await metric_sum(router.url, "relais_events_consumed_total", topic=topics.ROUTING)
                    < prefill_events
                    and time.perf_counter() < warmup_started + 300
                ):
                    await play_agents(time.perf_counter() + 1)
                await play_agents(time.perf_counter() + 10)
                warmup_s = time.perf_counter() - warmup_started
                assert router.proc is not None
                before = await accepted(router.url)
                cpu_before = cpu_seconds(router.proc.pid)
                driver_before = time.process_time()
                window_started = time.perf_counter()
                await play_agents(window_started + duration_s)
                window_s = time.perf_counter() - window_started
                cpu_s = cpu_seconds(router.proc.pid) - cpu_before
                driver_s = time.process_time() - driver_before
                after = await accepted(router.url)
        finally:
            await consumer.stop()
        rate = (after - before) / window_s
        one, five, _ = os.getloadavg()
        return {
            "prefill_events": prefill_events,
            "prefill_publish_s": prefill_s,
            "warmup_s": warmup_s,
            "window_s": window_s,
            "assignments": after - before,
            "assignments_per_s": rate,
            "assignments_per_min": rate * 60,
            # Wall-clock rates move with whatever else the machine runs; the router's own CPU time
            # per assignment does much less, so before/after comparisons read this one.
            "router_cpu_s": cpu_s,
            "router_cpu_ms_per_assignment": cpu_s * 1e3 / max(after - before, 1),
            "driver_cpu_ms_per_assignment": driver_s * 1e3 / max(after - before, 1),
            "load": {"load1": round(one, 2), "load5": round(five, 2), "cores": os.cpu_count() or 0},
        }


async def accepted(url: str) -> float:
    return await metric_sum(url, "relais_router_offers_total", outcome="accepted")


async def metric_sum(url: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples on the router's /metrics that carry these labels."""
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{url}/metrics")).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def report_core(core: dict[str, Any]) -> None:
    print(
        f"\nRouter core, in process: {AGENTS:,} agents, {core['waiting']:,} waiting, {QUEUES} queues "
        f"(set-up {core['setup_s']:.1f} s)"
    )
    print(f"  {'event':<32} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for name, d in core["decisions"].items():
        print(f"  {name:<32} {d['p50_ms']:>8.3f} {d['p99_ms']:>8.3f} {d['mean_ms']:>8.3f}")
    print(f"  assignments per second (complete, accept, submit): {core['assignments_per_s']:,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cycles", type=int, default=20_000)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds measured through Kafka")
    parser.add_argument("--skip-kafka", action="store_true")
    parser.add_argument("--skip-core", action="store_true", help="only the part through Kafka")
    parser.add_argument("--out", default=str(REPO / ".local" / "bench" / "router.json"))
    args = parser.parse_args()

    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}}
    if not args.skip_core:
        results["in_process"] = core = in_process(args.cycles)
        report_core(core)
    if not args.skip_kafka:
        results["kafka"] = kafka = asyncio.run(through_kafka(args.duration))
        print(
            f"\nThrough Kafka (router process, real broker and Redis, {args.duration:.0f} s window "
            f"after a {kafka['warmup_s']:.0f} s warm-up that ends 10 s after the prefill is applied):"
        )
        print(
            f"  assignments: {kafka['assignments']:,.0f}  ->  {kafka['assignments_per_s']:,.0f}/s, "
            f"{kafka['assignments_per_min']:,.0f}/min (target 50,000/min)"
        )
        print(
            f"  router CPU: {kafka['router_cpu_s']:.1f} s, "
            f"{kafka['router_cpu_ms_per_assignment']:.3f} ms per assignment "
            f"(machine load {kafka['load']['load1']} on {kafka['load']['cores']} cores); "
            f"the driver's: {kafka['driver_cpu_ms_per_assignment']:.3f} ms per assignment"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    sys.exit(main())

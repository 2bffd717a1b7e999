"""Agent gateway benchmark: thousands of agent WebSockets held open, and offer-to-desk latency under load.

Two gateway replicas run as processes against a real broker and Redis (one consumer group, desks spread
over both). The benchmark opens `--sockets` agent WebSockets and keeps them all open, then publishes
offers (`relais.agent.offer.created`, a 16-message handoff transcript each) to random agents at each
`--rates` step for `--duration` seconds, and times each from just before it is produced to the moment
the agent's desk receives the `offer` frame (one clock: this process does both). It also checks that
every offer reached exactly its agent, once.

    make bench-gateway                     # prints a table and writes .local/bench/gateway.json
    uv run python bench/gateway.py --sockets 3000 --rates 100,400 --duration 15
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from relais_agent_gateway.auth import TokenAuthority
from relais_agent_gateway.settings import GatewaySettings
from relais_contracts import topics
from relais_contracts.agents import OfferCreated, OfferCreatedData
from relais_contracts.conversation import HandoffPacket, TranscriptEntry
from relais_platform.testing import (
    RawPublisher,
    ServiceProcess,
    cpu_seconds,
    create_topics,
    desk_socket,
    new_namespace,
    open_infra,
    rss_mib,
    service_env,
)

REPO = Path(__file__).resolve().parents[1]
TENANT = "bench"
REPLICAS = 2
CONNECT_CONCURRENCY = 100


def packet() -> HandoffPacket:
    at = datetime.now(UTC)
    lines = [
        TranscriptEntry(
            message_id=f"m-{i}",
            author_kind="customer" if i % 2 == 0 else "bot",
            channel="webchat",
            text=f"Message {i}: my order 4417 has not arrived and I would like to know when it will.",
            at=at + timedelta(seconds=i),
        )
        for i in range(16)
    ]
    return HandoffPacket(
        reason="customer-request",
        summary="Order 4417 not delivered; asked for a person",
        language="en",
        intent="order_status",
        sentiment=(-0.1, -0.4, -0.6),
        transcript=tuple(lines),
        queue="orders",
    )


class Desks:
    """The agents' side: one WebSocket per agent, recording when each offer arrives, and where."""

    def __init__(self) -> None:
        self.received: dict[str, float] = {}
        self.misdelivered = 0
        self.duplicates = 0
        self.closed = 0
        self.sockets: list[ClientConnection] = []
        self.readers: list[asyncio.Task[None]] = []
        self.changed = asyncio.Event()  # set on every offer received

    async def open(self, gateway_url: str, token: str, agent_id: str) -> None:
        ws = await desk_socket(gateway_url, token, max_size=2**22, open_timeout=60, ping_interval=None)
        ready = json.loads(await ws.recv())
        assert ready["type"] == "ready", ready
        self.sockets.append(ws)
        self.readers.append(asyncio.create_task(self._read(ws, agent_id)))

    async def all_received(self, offer_ids: list[str], timeout_s: float) -> None:
        """Until every offer has arrived, or the timeout (the missing ones are counted as lost)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while not all(i in self.received for i in offer_ids):
                    self.changed.clear()
                    await self.changed.wait()

    async def _read(self, ws: ClientConnection, agent_id: str) -> None:
        try:
            async for raw in ws:
                now = time.perf_counter()
                message = json.loads(raw)
                if message["type"] != "offer":
                    continue
                offer_id = message["offer_id"]
                if message["packet"]["customer_id"] != agent_id:  # the bench addresses each offer by it
                    self.misdelivered += 1
                if offer_id in self.received:
                    self.duplicates += 1
                self.received[offer_id] = now
                self.changed.set()
        except websockets.ConnectionClosed:
            pass
        self.closed += 1


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "max_ms": ordered[-1] * 1000,
        "mean_ms": statistics.fmean(ordered) * 1000,
    }


async def run(sockets: int, rates: list[int], duration: float) -> dict[str, Any]:
    results: dict[str, Any] = {"sockets_wanted": sockets, "replicas": REPLICAS, "steps": []}
    with ExitStack() as stack:
        infra = open_infra(REPO, stack)
        namespace = new_namespace()
        await create_topics(infra, namespace)
        log_dir = REPO / ".local" / "bench" / "gateway-logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        # A long grace: desks are never closed during the run, and nothing else should publish.
        env = service_env(infra, namespace, RELAIS_ENV="dev", RELAIS_DESK_GRACE_S="600")
        gateways = [
            ServiceProcess("relais_agent_gateway", env, log_dir, name=f"gateway-{i}").start()
            for i in range(REPLICAS)
        ]
        for gateway in gateways:
            stack.callback(gateway.terminate)
        for gateway in gateways:
            await gateway.wait_ready()
        pids = [g.proc.pid for g in gateways if g.proc]
        results["rss_idle_mb"] = [round(rss_mib(p), 1) for p in pids]

        tokens = TokenAuthority(GatewaySettings(env="dev"))  # the dev key the gateways run with
        agents = [f"agent-{i:05d}" for i in range(sockets)]
        desks = Desks()
        started = time.perf_counter()
        limit = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def connect(i: int, agent_id: str) -> None:
            gateway = gateways[i % REPLICAS]
            token = tokens.issue(tenant=TENANT, agent_id=agent_id, name=agent_id)
            async with limit:
                await desks.open(gateway.url, token, agent_id)

        await asyncio.gather(*(connect(i, a) for i, a in enumerate(agents)))
        results["connect_s"] = round(time.perf_counter() - started, 2)
        results["sockets_held"] = len(desks.sockets)
        results["rss_connected_mb"] = [round(rss_mib(p), 1) for p in pids]

        base = packet()
        sent: dict[str, float] = {}
        async with RawPublisher(infra, namespace) as router:
            for rate in rates:
                cpu_before = [cpu_seconds(p) for p in pids]
                step_start = time.perf_counter()
                ids: list[str] = []
                interval = 1.0 / rate
                while (elapsed := time.perf_counter() - step_start) < duration:
                    agent_id = random.choice(agents)
                    offer_id = uuid.uuid4().hex
                    event = OfferCreated(
                        id=str(uuid.uuid4()),
                        source="relais/bench",
                        time=datetime.now(UTC),
                        tenant=TENANT,
                        data=OfferCreatedData(
                            offer_id=offer_id,
                            agent_id=agent_id,
                            conversation_id=f"c-{offer_id}",
                            channel="webchat",
                            packet=base.model_copy(update={"customer_id": agent_id}),
                            expires_at=datetime.now(UTC) + timedelta(seconds=30),
                        ),
                    )
                    sent[offer_id] = time.perf_counter()
                    ids.append(offer_id)
                    await router.event(topics.AGENTS, agent_id, event)
                    # Paced against the schedule, so a slow send does not lower the rate unnoticed.
                    ahead = (len(ids) * interval) - (time.perf_counter() - step_start)
                    if ahead > 0:
                        await asyncio.sleep(ahead)
                achieved = len(ids) / elapsed
                await desks.all_received(ids, timeout_s=30)
                cpu = [
                    round((cpu_seconds(p) - b) / (time.perf_counter() - step_start), 2)
                    for p, b in zip(pids, cpu_before, strict=True)
                ]
                latencies = [desks.received[i] - sent[i] for i in ids if i in desks.received]
                results["steps"].append(
                    {
                        "rate_wanted": rate,
                        "rate_sent": round(achieved, 1),
                        "offers": len(ids),
                        "received": len(latencies),
                        "late": len(ids) - len(latencies),
                        **{k: round(v, 2) for k, v in percentiles(latencies).items()},
                        "gateway_cpu_cores": cpu,
                    }
                )
        # "late" in a step is not received 30 s after it; anything still missing now was lost.
        await desks.all_received(list(sent), timeout_s=60)
        results["never_received"] = sum(1 for i in sent if i not in desks.received)
        results["misdelivered"] = desks.misdelivered
        results["duplicates"] = desks.duplicates
        results["sockets_dropped"] = desks.closed
        results["rss_end_mb"] = [round(rss_mib(p), 1) for p in pids]
        for ws in desks.sockets:
            await ws.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--rates", default="50,200,400,800", help="offers per second, one step each")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per step")
    parser.add_argument("--out", default=str(REPO / ".local" / "bench" / "gateway.json"))
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]

    results = asyncio.run(run(args.sockets, rates, args.duration))
    results["machine"] = {"cpus": os.cpu_count()}
    print(
        f"\nAgent gateway: {results['sockets_held']:,} of {results['sockets_wanted']:,} WebSockets held on "
        f"{REPLICAS} replicas (opened in {results['connect_s']} s), "
        f"{results['sockets_dropped']} dropped, {results['misdelivered']} misdelivered, "
        f"{results['duplicates']} duplicates, {results['never_received']} never received"
    )
    print(
        f"  RSS per replica, MB: idle {results['rss_idle_mb']}, connected {results['rss_connected_mb']}, "
        f"end {results['rss_end_mb']}"
    )
    columns = ("offers/s", "sent/s", "offers", "late", "p50 ms", "p95 ms", "p99 ms", "max ms")
    print("\n  " + " ".join(f"{c:>9}" for c in columns) + "  gateway CPU (cores)")
    print("  (late: not received within 30 s of the step's end; latencies are of the others)")
    row = ("rate_wanted", "rate_sent", "offers", "late", "p50_ms", "p95_ms", "p99_ms", "max_ms")
    for step in results["steps"]:
        print("  " + " ".join(f"{step[k]:>9}" for k in row) + f"  {step['gateway_cpu_cores']}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    sys.exit(main())

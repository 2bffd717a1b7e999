"""Channels benchmark: the HTTP ingress's requests per second and its latency to 202 (every event
acknowledged by Kafka with acks=all), one service process on a real broker and Redis.

Two phases, each with signed structured events of a realistic size (one customer message each):
- closed loop: `--connections` keep-alive connections send as fast as answers come back (the ceiling);
- open loop: requests go out at `--rate` per second whatever the answers, and each latency is counted
  from when its request was due (no coordinated omission): the p99 a steady load would see.
At the end the inbound topic's records are counted: every 202 must be there.
The table gives the CPU the service got (cores, and ms a request) and the load generator's own CPU: they
share the machine, so the load average is printed too.

    make bench-channels                    # prints a table and writes .local/bench/channels.json
    uv run python bench/channels.py --rate 1500 --duration 20
    uv run python bench/channels.py --workers 2   # the service with RELAIS_WORKERS=2
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvloop
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from relais_channels.domain.signing import sign
from relais_contracts import topics
from relais_platform.testing import (
    ServiceProcess,
    cpu_seconds,
    create_topics,
    new_namespace,
    open_infra,
    service_env,
)

REPO = Path(__file__).resolve().parents[1]
SECRET = "bench-integrator-secret-0123456789abcdef"  # noqa: S105 -- the bench's own integrator
TARGET_RPS, TARGET_P99_MS = 1_000, 50.0


def request_bytes(port: int, n: int) -> bytes:
    """One signed HTTP/1.1 request, ready to write: a customer message of a typical length."""
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "bench/sms-provider",
        "type": "relais.channel.message.received",
        "time": "2026-11-24T10:00:00Z",
        "tenant": "bench",
        "data": {
            "channel": "sms",
            "from": {"address": f"+3361{n % 10_000:08d}", "name": "Camille"},
            "text": "Bonjour, ma commande 4471 n'est toujours pas arrivée, pouvez-vous vérifier ?",
            "external_id": f"sms-{n}",
        },
    }
    body = json.dumps(event).encode()
    head = (
        f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/cloudevents+json\r\nRelais-Integrator: bench\r\n"
        f"Relais-Signature: {sign(SECRET.encode(), int(time.time()), body)}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Connection:
    """A keep-alive HTTP/1.1 connection, one request at a time; the load generator's cheap client
    (a full client would spend the CPU the service needs: both share this machine)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> "Connection":
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    def record(self, status: int, latency: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(latency)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def at(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

        return {
            "phase": self.name,
            "requests": len(ordered),
            "accepted": self.statuses.get(202, 0),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "seconds": round(self.seconds, 2),
            "rps": round(self.statuses.get(202, 0) / self.seconds, 1),
            "p50_ms": at(0.50),
            "p95_ms": at(0.95),
            "p99_ms": at(0.99),
            "max_ms": round(ordered[-1] * 1000, 2),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
        }


async def closed_loop(port: int, connections: int, duration: float, requests: list[bytes]) -> Phase:
    phase = Phase(f"closed loop, {connections} connections")
    pool = [await Connection.open(port) for _ in range(connections)]
    end = time.perf_counter() + duration
    counter = iter(range(len(requests)))

    async def worker(conn: Connection) -> None:
        for i in counter:  # shared: each request is sent once; stops early if they run out
            if time.perf_counter() >= end:
                break
            request = requests[i]
            started = time.perf_counter()
            phase.record(await conn.send(request), time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in pool))
    phase.seconds = time.perf_counter() - started
    for conn in pool:
        conn.close()
    return phase


async def open_loop(port: int, rate: int, duration: float, requests: list[bytes], connections: int) -> Phase:
    """`rate` requests a second, each due at its time, on a pool of idle connections (more are opened
    when all are busy, as a load balancer would)."""
    phase = Phase(f"open loop, {rate} req/s")
    idle = [await Connection.open(port) for _ in range(connections)]
    total = int(rate * duration)
    pending: set[asyncio.Task[None]] = set()

    async def one(request: bytes, due: float) -> None:
        conn = idle.pop() if idle else await Connection.open(port)
        for attempt in range(3):
            try:
                status = await conn.send(request)
                break
            except (ConnectionError, asyncio.IncompleteReadError):
                # The server closed a connection that sat idle past its keep-alive timeout (5 s), as
                # any client finds now and then: open another and send again (applied once by id).
                conn.close()
                if attempt == 2:
                    raise
                conn = await Connection.open(port)
        phase.record(status, time.perf_counter() - due)  # from when it was due, not when it went
        idle.append(conn)

    started = time.perf_counter()
    sent = 0
    while sent < total:
        # Every request already due goes now: a sleep per request would oversleep and send fewer.
        due_now = min(total, int((time.perf_counter() - started) * rate) + 1)
        for i in range(sent, due_now):
            task = asyncio.create_task(one(requests[i], started + i / rate))
            pending.add(task)
            task.add_done_callback(pending.discard)
        sent = due_now
        await asyncio.sleep(0.001)
    await asyncio.gather(*pending)
    phase.seconds = time.perf_counter() - started
    for conn in idle:
        conn.close()
    return phase


async def inbound_records(bootstrap: str, namespace: str) -> int:
    """Records on the namespace's inbound topic (the sum of its partitions' end offsets)."""
    topic = f"{namespace}{topics.INBOUND}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
        return int(sum((await consumer.end_offsets(partitions)).values()))
    finally:
        await consumer.stop()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with ExitStack() as stack:
        infra = open_infra(REPO, stack)
        namespace = new_namespace()
        await create_topics(infra, namespace)
        integrators = [
            {
                "id": "bench",
                "tenant": "bench",
                "channels": ["sms"],
                "secret": SECRET,
                "rate_per_s": 1e6,
                "burst": 10**6,
            }
        ]
        env = service_env(
            infra,
            namespace,
            RELAIS_INTEGRATORS=json.dumps(integrators),
            RELAIS_LOG_LEVEL="WARNING",
            RELAIS_WORKERS=str(args.workers),
        )
        log_dir = REPO / ".local" / "bench" / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        proc = ServiceProcess("relais_channels", env, log_dir, "channels").start()
        try:
            await proc.wait_ready()
            assert proc.proc is not None
            pid = proc.proc.pid
            # Signed up front: the signatures stay valid for 5 minutes, longer than the run.
            closed_n = int(args.duration * 5000)
            warm_n = 10_000
            total = warm_n + closed_n + int(args.rate * args.duration)
            requests = [request_bytes(proc.port, n) for n in range(total)]
            # Warm-up, not counted: connections, the producer's metadata, the interpreter's caches.
            warm = await closed_loop(proc.port, args.connections, 2.0, requests[:warm_n])
            requests = requests[warm_n:]
            phases = []
            # CPU seconds of the service and of this load generator (it shares the machine) per phase.
            cpu = [(cpu_seconds(pid), time.process_time())]
            phases.append(await closed_loop(proc.port, args.connections, args.duration, requests[:closed_n]))
            cpu.append((cpu_seconds(pid), time.process_time()))
            phases.append(
                await open_loop(proc.port, args.rate, args.duration, requests[closed_n:], args.connections)
            )
            cpu.append((cpu_seconds(pid), time.process_time()))
            summaries = [p.summary() for p in phases]
            for summary, phase, before, after in zip(summaries, phases, cpu[:-1], cpu[1:], strict=True):
                service, client = after[0] - before[0], after[1] - before[1]
                summary["service_cpu_cores"] = round(service / phase.seconds, 2)
                summary["service_cpu_ms_per_request"] = round(service * 1000 / len(phase.latencies), 3)
                summary["client_cpu_cores"] = round(client / phase.seconds, 2)
            accepted = sum(p.statuses.get(202, 0) for p in (warm, *phases))  # the warm-up's are on Kafka too
            on_kafka = await inbound_records(infra.bootstrap, namespace)
        finally:
            proc.terminate()
    return {
        "phases": summaries,
        "accepted_including_warmup": accepted,
        "records_on_kafka": on_kafka,
        "target": {"rps": TARGET_RPS, "p99_ms": TARGET_P99_MS},
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--connections", type=int, default=32, help="keep-alive connections of the closed loop"
    )
    parser.add_argument("--rate", type=int, default=TARGET_RPS, help="requests per second of the open loop")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per phase")
    parser.add_argument("--workers", type=int, default=1, help="the service's RELAIS_WORKERS")
    parser.add_argument("--out", default=str(REPO / ".local" / "bench" / "channels.json"))
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    # uvloop, as the service runs on: the load generator shares the 2 cores, the less CPU it takes the
    # more the service gets (and the less its own scheduling delays the answers it times).
    results = uvloop.run(run(args))
    results["workers"] = args.workers
    # The service shares the machine with the load generator, Kafka and whatever else runs: the load
    # average says how much CPU it could have had.
    results["machine"] = {"cpus": os.cpu_count(), "load_1m": [load_before, os.getloadavg()[0]]}

    print(
        "\nChannels HTTP ingress: signed structured events, 202 once Kafka acknowledged (acks=all), "
        f"{args.workers} worker process{'es' if args.workers > 1 else ''}"
    )
    columns = ("phase", "requests", "202", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms")
    columns += ("CPU", "CPU ms/req", "client CPU")
    print(f"  {columns[0]:<32}" + "".join(f"{c:>11}" for c in columns[1:]))
    for p in results["phases"]:
        values = (p["requests"], p["accepted"], p["rps"], p["p50_ms"], p["p95_ms"], p["p99_ms"], p["max_ms"])
        values += (p["service_cpu_cores"], p["service_cpu_ms_per_request"], p["client_cpu_cores"])
        print(f"  {p['phase']:<32}" + "".join(f"{v:>11}" for v in values))
    print(
        f"  records on relais.inbound.v1: {results['records_on_kafka']} "
        f"(202 answers, warm-up included: {results['accepted_including_warmup']})"
    )
    print(
        f"  machine: {results['machine']['cpus']} CPUs, load average {load_before:.1f} before, "
        f"{results['machine']['load_1m'][1]:.1f} after\n"
        "  (CPU: cores the service got; CPU ms/req: its CPU time a request; client CPU: the load generator)"
    )
    closed, steady = results["phases"]
    met = closed["rps"] >= TARGET_RPS and steady["p99_ms"] <= TARGET_P99_MS
    print(
        f"  target >= {TARGET_RPS} req/s and p99 <= {TARGET_P99_MS:g} ms at {TARGET_RPS} req/s: "
        f"{'met' if met else 'NOT met'}"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

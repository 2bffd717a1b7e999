"""Pipeline benchmark: what a customer feels, a message in on the inbound topic and the bot's reply out on
the outbound topic, side by side with a bare aiokafka loop on the same broker.

It starts a Kafka broker and a Redis of its own (deploy/local, in a temporary directory, on free ports)
and the four services as real processes (their entry points, as `make up` runs them), topics of 6
partitions, then in one run measures:

0. a warm-up: the path and the bare loop, round after round, until the broker's JIT compiler is
   nearly idle (at most `--warm-seconds`): a fresh JVM spends up to half a core compiling for its
   first minute under load, which would be charged to Kafka and taken from the services;
1. the bare loop: aiokafka producer -> consumer on the same broker, records of the inbound records'
   size, 6 partitions, 20,000 of them (the ceiling a Python client reaches on this machine: 2,000
   records on a cold broker measured mostly the loop's start, 6,000 msg/s where it runs 50,000);
2. the Relais path for new customers: a burst of messages, each from a customer never seen;
3. the same for returning customers: a second message in each one's open conversation;
4. latency inbound -> reply (p50/p95/p99) at 25 %, 50 % and 75 % of the measured maximum, and at
   20 msg/s;
5. CPU milliseconds per message of each service, of Kafka and of Redis, from /proc (user + system time
   of each process and its children, over the bursts): the figure least moved by the machine's load;
   Kafka's share spent by its JIT compiler beside it ("compiling").
6. at each fixed rate, where each message's milliseconds went, hop by hop (HOPS): the broker's append
   times of the inbound record, the customer message and the bot's reply on the log, and the outbound
   record, beside the bench's send and read; with each service's records and milliseconds a batch.

The machine's load (1-minute loadavg, cores) is printed at the start, the end and beside every figure:
on a shared machine, throughput and latency depend on it. `--profile` adds a last burst with py-spy
recording the context store and the bot (collapsed stacks in .local/bench/profiles/, top frames printed).

    make bench-pipeline                                  # table + .local/bench/pipeline.json
    uv run python bench/pipeline.py --burst 1000 --rate-seconds 5 --profile
    uv run python bench/pipeline.py --max-rate 570 --fractions 50   # the latency runs alone
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

from relais_contracts import CONTENT_TYPE, topics
from relais_platform.kafka import ensure_topics
from relais_platform.settings import ServiceSettings
from relais_platform.testing import (
    Infra,
    LocalRedis,
    ServiceProcess,
    cpu_seconds,
    new_namespace,
    service_env,
)

REPO = Path(__file__).resolve().parents[1]
TENANT = "acme"
PARTITIONS = 6
SERVICES = {
    "context-store": "relais_context_store",
    "bot": "relais_bot",
    "router": "relais_router",
    "agent-gateway": "relais_agent_gateway",
}
# Routine questions the demo bot answers itself: what most customers write.
QUESTIONS = ["Hello, where is my order?", "My delivery is late", "How do I return an item?"]
FOLLOW_UPS = ["Thanks, and how long does a refund take?", "Can I change my delivery address?"]
HEADERS = [("content-type", CONTENT_TYPE.encode())]
# The broker counts as warm once its JIT compiler uses less than this share of a core over a warm-up round.
WARM_JIT_SHARE = 0.05


def _own_cpu() -> float:
    """This process's CPU seconds alone (cpu_seconds would add the services it started)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load() -> dict[str, float]:
    one, five, _ = os.getloadavg()
    return {"load1": round(one, 2), "load5": round(five, 2), "cores": os.cpu_count() or 0}


class Broker:
    """A Kafka broker of the run's own (deploy/local/kafka.sh)."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.port = _free_port()
        self._env = {
            **os.environ,
            "RELAIS_LOCAL_DIR": str(state),
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(_free_port()),
            "KAFKA_FRESH": "1",
        }
        self.bootstrap = f"127.0.0.1:{self.port}"

    def _run(self, command: str) -> None:
        script = REPO / "deploy" / "local" / "kafka.sh"
        subprocess.run(["bash", str(script), command], env=self._env, check=True, capture_output=True)  # noqa: S603, S607

    def start(self) -> None:
        self._run("start")

    def stop(self) -> None:
        self._run("stop")

    @property
    def pid(self) -> int:
        return int((self.state / "kafka" / "kafka.pid").read_text().strip())

    def jit_seconds(self) -> float:
        """CPU seconds the broker's JIT compiler threads have used: a fresh JVM spends a good part of a
        core compiling for its first minute or so under load, which a broker in service paid long ago."""
        total = 0
        tasks = Path(f"/proc/{self.pid}/task")
        for task in tasks.iterdir():
            try:
                if "CompilerThre" not in (task / "comm").read_text():
                    continue
                stat = (task / "stat").read_text()
            except OSError:  # the thread ended
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")


# The hops of a message, each ending at a wall-clock time (seconds): the bench's send, the broker's
# append of the inbound record, of the customer message on the log (the context store's resolution), of
# the bot's reply on the log, of the outbound record (the context store's materialization), and the
# bench's read of it. The records' times are the broker's (LogAppendTime), on the same machine's clock.
HOPS = ("sent", "inbound", "log", "reply", "outbound", "read")
HOP_NAMES = {
    "inbound": "bench producer -> inbound append",
    "log": "context store: inbound -> customer message on the log",
    "reply": "bot: customer message -> reply on the log",
    "outbound": "context store: reply -> outbound record",
    "read": "outbound append -> bench reads it",
}


@dataclass
class Pending:
    """Messages sent and waiting for their reply, by customer address."""

    sent: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    last_reply: float = 0.0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = 0
    # address -> hop -> wall-clock time (HOPS), for the messages of this phase
    hops: dict[str, dict[str, float]] = field(default_factory=dict)

    def mark(self, address: str, hop: str, at: float) -> None:
        times = self.hops.get(address)
        if times is not None and hop not in times:
            times[hop] = at

    def reply(self, address: str, at: float) -> None:
        started = self.sent.pop(address, None)
        if started is None:
            return  # a second message to the same customer (a wait update, a hand-off notice)
        self.latencies.append(at - started)
        self.last_reply = at
        if len(self.latencies) >= self.expected:
            self.done.set()

    def breakdown(self) -> dict[str, Any]:
        """Per hop: p50/p99 in ms over the messages, and the mean of each hop over the slowest 5 %
        end to end (where the tail's milliseconds go)."""
        whole = [t for t in self.hops.values() if all(h in t for h in HOPS)]
        if not whole:
            return {}
        spans = [{h: (t[h] - t[p]) * 1000 for p, h in itertools.pairwise(HOPS)} for t in whole]
        totals = [(t["read"] - t["sent"]) * 1000 for t in whole]
        cut = sorted(totals)[int(len(totals) * 0.95)]
        slow = [s for s, total in zip(spans, totals, strict=True) if total >= cut]
        return {
            h: {
                **percentiles([s[h] / 1000 for s in spans]),
                "slowest_5pct_mean_ms": round(statistics.fmean(s[h] for s in slow), 1),
            }
            for h in HOPS[1:]
        }


_TIMED = re.compile(rb'"type": ?"relais\.conversation\.(?:message\.received|reply\.posted)"')


class Outbound:
    """Reads the outbound topic from its end now and hands every bot reply to the current phase; reads
    the conversation log beside it for the times of the hops in between (HOPS)."""

    def __init__(self, bootstrap: str, physical: str, log: str) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self._physical = physical
        self._log = log
        self.pending = Pending()
        self._task: asyncio.Task[None] | None = None
        self._addresses: dict[str, str] = {}  # conversation id -> customer address

    async def start(self) -> None:
        await self._consumer.start()
        parts = [TopicPartition(t, p) for t in (self._physical, self._log) for p in range(PARTITIONS)]
        self._consumer.assign(parts)
        await self._consumer.seek_to_end(*parts)
        for tp in parts:
            await self._consumer.position(tp)
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=100)
            now, wall = time.perf_counter(), time.time()
            for tp, records in batch.items():
                for record in records:
                    # Of the log, only the customer's messages and the replies are timed: the rest (most
                    # of it) is not parsed.
                    if tp.topic == self._log and not _TIMED.search(record.value):
                        continue
                    event = json.loads(record.value)
                    data = event.get("data", {})
                    kind, appended = event.get("type"), record.timestamp / 1000
                    if tp.topic == self._log:
                        if kind == "relais.conversation.message.received":
                            self._addresses[event["subject"]] = data["address"]
                            self.pending.mark(data["address"], "log", appended)
                        elif kind == "relais.conversation.reply.posted":
                            address = self._addresses.get(event["subject"])
                            if address is not None:
                                self.pending.mark(address, "reply", appended)
                    elif kind == "relais.channel.message.send":
                        address = data["to"]["address"]
                        self.pending.mark(address, "outbound", appended)
                        self.pending.mark(address, "read", wall)
                        self.pending.reply(address, now)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()


def inbound(address: str, text: str) -> tuple[bytes, bytes]:
    event_id = str(uuid.uuid4())
    event = {
        "specversion": "1.0",
        "id": event_id,
        "source": "bench/webchat",
        "type": "relais.channel.message.received",
        "time": datetime.now(UTC).isoformat(),
        "tenant": TENANT,
        "data": {
            "channel": "webchat",
            "from": {"address": address, "name": "Bench Customer"},
            "text": text,
            "external_id": f"ext-{event_id}",
        },
    }
    return topics.inbound_key(TENANT, "webchat", address).encode(), json.dumps(event).encode()


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0}
    ordered = sorted(values)
    q = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered * 99
    return {
        "p50_ms": round(q[49] * 1000, 1),
        "p95_ms": round(q[94] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
    }


class Bench:
    def __init__(self, args: argparse.Namespace, broker: Broker, redis: LocalRedis, namespace: str) -> None:
        self.args = args
        self.broker = broker
        self.redis = redis
        self.ns = namespace
        self.infra = Infra(broker.bootstrap, redis.url)
        self.procs: dict[str, ServiceProcess] = {}
        self.producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=1)
        self.outbound = Outbound(
            broker.bootstrap, f"{namespace}{topics.OUTBOUND}", f"{namespace}{topics.CONVERSATIONS}"
        )
        self._customers = 0
        self._bare_topic = False

    def pids(self) -> dict[str, int]:
        pids = {name: proc.proc.pid for name, proc in self.procs.items() if proc.proc}
        pids["kafka"] = self.broker.pid
        pids["redis"] = int((self.redis.data_dir / "redis.pid").read_text().strip())
        return pids

    async def consumed(self) -> dict[str, tuple[float, float, float]]:
        """(records handled, batches, seconds in batches) of each service's consumers so far, from
        their /metrics."""
        found: dict[str, tuple[float, float, float]] = {}
        async with httpx.AsyncClient(timeout=10) as http:
            for name in ("context-store", "bot", "agent-gateway"):
                text = (await http.get(f"{self.procs[name].url}/metrics")).text
                records = batches = seconds = 0.0
                for family in text_string_to_metric_families(text):
                    for sample in family.samples:
                        if sample.name == "relais_events_consumed_total":
                            records += sample.value
                        elif sample.name == "relais_consumer_batch_seconds_count":
                            batches += sample.value
                        elif sample.name == "relais_consumer_batch_seconds_sum":
                            seconds += sample.value
                found[name] = (records, batches, seconds)
        return found

    def cpu(self) -> dict[str, float]:
        """CPU seconds of each process so far; "kafka-jit" is the part of Kafka's spent compiling, "bench"
        this process (the load generator and the reader of the replies share the cores)."""
        return {name: cpu_seconds(pid) for name, pid in self.pids().items()} | {
            "kafka-jit": self.broker.jit_seconds(),
            "bench": _own_cpu(),
        }

    async def warm_broker(self, size: int) -> list[float]:
        """Run the path (a bare loop, a burst of new customers, their second messages) until the broker's
        JIT compiler uses under WARM_JIT_SHARE of a core over a round, or for `--warm-seconds`: the
        figures are of a broker in service, not of a JVM compiling its hot paths meanwhile. Returns each
        round's JIT share of a core."""
        shares: list[float] = []
        deadline = time.perf_counter() + self.args.warm_seconds
        while time.perf_counter() < deadline:
            jit, started = self.broker.jit_seconds(), time.perf_counter()
            bare = await self.bare(size, self.args.bare_messages)
            first = self.new_addresses(self.args.burst)
            await self.phase([(a, QUESTIONS[i % len(QUESTIONS)]) for i, a in enumerate(first)])
            await self.phase([(a, FOLLOW_UPS[i % len(FOLLOW_UPS)]) for i, a in enumerate(first)])
            shares.append(round((self.broker.jit_seconds() - jit) / (time.perf_counter() - started), 3))
            print(
                f"  warm-up round {len(shares)}: the broker's JIT used {shares[-1]:.0%} of a core;"
                f" bare loop {bare['msg_per_s']} msg/s",
                flush=True,
            )
            if shares[-1] < WARM_JIT_SHARE:
                break
        return shares

    async def start_services(self, logs: Path) -> None:
        extra = {"RELAIS_ENV": "dev", "RELAIS_KAFKA_DEFAULT_PARTITIONS": str(PARTITIONS)}
        extra |= dict(kv.split("=", 1) for kv in self.args.env)
        for name, module in SERVICES.items():
            workers = {"RELAIS_WORKERS": str(self.args.workers)} if name in ("context-store", "bot") else {}
            env = service_env(self.infra, self.ns, **extra, **workers)
            self.procs[name] = ServiceProcess(module, env, logs, name)
        gateway = self.procs["agent-gateway"]
        gateway.env["RELAIS_CONTEXT_STORE_URL"] = self.procs["context-store"].url
        gateway.env["RELAIS_ROUTER_URL"] = self.procs["router"].url
        for proc in self.procs.values():
            proc.start()
        for proc in self.procs.values():
            await proc.wait_ready(timeout=180)

    def new_addresses(self, n: int) -> list[str]:
        first, self._customers = self._customers, self._customers + n
        return [f"bench-{i}" for i in range(first, first + n)]

    async def send_all(self, messages: list[tuple[str, str]], rate: float | None) -> Pending:
        """Send (address, text) messages, as fast as possible or at `rate` per second; returns the phase."""
        pending = self.outbound.pending = Pending(expected=len(messages))
        acks = []
        start = time.perf_counter()
        for i, (address, text) in enumerate(messages):
            if rate:
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            key, value = inbound(address, text)
            pending.sent[address] = time.perf_counter()
            pending.hops[address] = {"sent": time.time()}
            acks.append(
                await self.producer.send(f"{self.ns}{topics.INBOUND}", value, key=key, headers=HEADERS)
            )
        # The acknowledgement carries the broker's append time (the topic stamps LogAppendTime).
        for (address, _), metadata in zip(messages, await asyncio.gather(*acks), strict=True):
            pending.mark(address, "inbound", metadata.timestamp / 1000)
        return pending

    async def phase(self, messages: list[tuple[str, str]], rate: float | None = None) -> dict[str, Any]:
        before_load = load()
        cpu_before, consumed_before = self.cpu(), await self.consumed()
        started = time.perf_counter()
        pending = await self.send_all(messages, rate)
        timeout = self.args.settle + len(messages) / 20
        with contextlib.suppress(TimeoutError):  # counted as unreplied, below
            await asyncio.wait_for(pending.done.wait(), timeout)
        cpu_after, consumed_after = self.cpu(), await self.consumed()
        n = len(pending.latencies)
        records_per_batch = {
            name: round((after[0] - before[0]) / max(1.0, after[1] - before[1]), 1)
            for name, after in consumed_after.items()
            for before in [consumed_before[name]]
        }
        # Mean time from a batch's fetch to its commit, over all the service's consumers.
        batch_ms = {
            name: round((after[2] - before[2]) * 1000 / max(1.0, after[1] - before[1]), 1)
            for name, after in consumed_after.items()
            for before in [consumed_before[name]]
        }
        elapsed = (pending.last_reply or time.perf_counter()) - started
        return {
            "messages": len(messages),
            "replied": n,
            "msg_per_s": round(n / elapsed, 1) if elapsed > 0 else 0.0,
            **percentiles(pending.latencies),
            "cpu_ms_per_msg": {
                name: round((cpu_after[name] - cpu_before[name]) * 1000 / max(n, 1), 3) for name in cpu_after
            },
            "records_per_batch": records_per_batch,
            "batch_ms": batch_ms,
            "hops": pending.breakdown(),
            "load": {"before": before_load, "after": load()},
        }

    async def bare(self, size: int, count: int) -> dict[str, Any]:
        """aiokafka alone: `count` records of `size` bytes through a 6-partition topic of the same broker."""
        physical = f"{self.ns}bench.bare"
        if not self._bare_topic:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.broker.bootstrap)
            await admin.start()
            try:
                await admin.create_topics([NewTopic(physical, PARTITIONS, 1)])
            finally:
                await admin.close()
            await asyncio.sleep(1)
            self._bare_topic = True
        consumer = AIOKafkaConsumer(bootstrap_servers=self.broker.bootstrap, enable_auto_commit=False)
        await consumer.start()
        parts = [TopicPartition(physical, p) for p in range(PARTITIONS)]
        consumer.assign(parts)
        await consumer.seek_to_end(*parts)
        for tp in parts:
            await consumer.position(tp)
        before = load()
        value = b"x" * size
        try:
            started = time.perf_counter()
            acks = [
                await self.producer.send(physical, value, key=f"bare-{i}".encode(), headers=HEADERS)
                for i in range(count)
            ]
            received = 0
            while received < count:
                batch = await consumer.getmany(timeout_ms=200)
                received += sum(len(r) for r in batch.values())
            elapsed = time.perf_counter() - started
            await asyncio.gather(*acks)
        finally:
            await consumer.stop()
        return {
            "messages": count,
            "msg_per_s": round(count / elapsed, 1),
            "load": {"before": before, "after": load()},
        }

    async def profile(self, out: Path, count: int) -> dict[str, list[tuple[str, float]]]:
        """One more burst with py-spy recording the context store and the bot; their busiest frames."""
        await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
        seconds = max(5, int(count / 100))
        recorders = {}
        for name in ("context-store", "bot"):
            pid = self.pids()[name]
            path = out / f"{name}.txt"
            argv = ["py-spy", "record", "--pid", str(pid), "--format", "raw", "--output", str(path),
                    "--duration", str(seconds), "--rate", "250", "--subprocesses", "--gil"]  # fmt: skip
            spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603, ASYNC220
            recorders[name] = (spy, path)
        await asyncio.sleep(1)
        await self.phase([(a, QUESTIONS[0]) for a in self.new_addresses(count)])
        tops: dict[str, list[tuple[str, float]]] = {}
        for name, (proc, path) in recorders.items():
            await asyncio.to_thread(proc.wait)
            tops[name] = top_frames(path) if path.exists() else []
        return tops


def top_frames(path: Path, n: int = 25) -> list[tuple[str, float]]:
    """The frames with most samples in the stacks (inclusive), as shares of all samples, less the
    frames of the process's start (in nearly every sample); "self:" lines are the frames themselves."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        frames = stack.split(";")
        own[f"self: {frames[-1]}"] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    if not total:
        return []
    busy = [(f, c) for f, c in inclusive.most_common() if c < 0.9 * total][: n - 10] + own.most_common(10)
    return [(frame, round(c / total, 3)) for frame, c in busy]


def table(result: dict[str, Any]) -> str:
    rows = [f"{'figure':<34}{'msg/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'load1':>7}"]
    bare = result.get("bare")
    if bare:
        rows.append(
            f"{'bare aiokafka loop':<34}{bare['msg_per_s']:>9}{'':>27}{bare['load']['after']['load1']:>7}"
        )
    for name, figure in result["phases"].items():
        rows.append(
            f"{name:<34}{figure['msg_per_s']:>9}{figure['p50_ms']:>9}{figure['p95_ms']:>9}"
            f"{figure['p99_ms']:>9}{figure['load']['after']['load1']:>7}"
        )
    if "ratio" in result:
        rows.append(f"ratio Relais / bare: {result['ratio']}")
    for phase in ("new customers, burst", "returning customers, burst"):
        if phase not in result["phases"]:
            continue
        cpu = result["phases"][phase]["cpu_ms_per_msg"]
        shares = [f"{k} {v}" + (f" (compiling {cpu['kafka-jit']})" if k == "kafka" else "")
                  for k, v in cpu.items() if k != "kafka-jit"]  # fmt: skip
        rows.append(f"CPU ms per message ({phase}): " + ", ".join(shares))
        per_batch = result["phases"][phase]["records_per_batch"]
        rows.append(f"records per batch ({phase}): " + ", ".join(f"{k} {v}" for k, v in per_batch.items()))
    for name, figure in result["phases"].items():
        if figure["hops"] and "burst" not in name:
            rows.append(
                f"hops at {name}: p50 / p99 / mean over the slowest 5 % (ms); records and ms a batch: "
                + ", ".join(
                    f"{k} {figure['records_per_batch'][k]} / {v}" for k, v in figure["batch_ms"].items()
                )
            )
            rows.extend(
                f"  {HOP_NAMES[hop]:<56}{h['p50_ms']:>8}{h['p99_ms']:>8}{h['slowest_5pct_mean_ms']:>8}"
                for hop, h in figure["hops"].items()
            )
    for name, figure in result["phases"].items():
        if figure["replied"] < figure["messages"]:
            rows.append(
                f"WARNING: {name}: {figure['messages'] - figure['replied']} messages got no reply in time"
            )
    return "\n".join(rows)


async def run(args: argparse.Namespace) -> int:
    state = Path(tempfile.mkdtemp(prefix="relais-pipeline-"))
    logs = REPO / ".local" / "bench" / "pipeline-logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    broker = Broker(state)
    redis = LocalRedis(REPO)
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(),
        "load_start": load(),
        "settings": vars(args),
    }
    print(f"load at start: {result['load_start']}", flush=True)
    bench: Bench | None = None
    try:
        await asyncio.to_thread(broker.start)
        redis.start()
        namespace = new_namespace()
        await ensure_topics(
            ServiceSettings(
                namespace=namespace,
                kafka_bootstrap_servers=broker.bootstrap,
                kafka_default_partitions=PARTITIONS,
            )
        )
        bench = Bench(args, broker, redis, namespace)
        await bench.start_services(logs)
        await bench.producer.start()
        await bench.outbound.start()
        print("services ready; warming up", flush=True)
        await bench.phase([(a, QUESTIONS[0]) for a in bench.new_addresses(args.warmup)])
        size = len(inbound("bench-000000", QUESTIONS[0])[1])
        if args.warm_seconds > 0:
            print("warming the broker up ...", flush=True)
            result["warm_up_jit_share"] = await bench.warm_broker(size)
        phases: dict[str, Any] = {}
        if args.max_rate:
            top = args.max_rate
        else:
            print("bare loop ...", flush=True)
            result["bare"] = await bench.bare(size, args.bare_messages)
            print("new customers, burst ...", flush=True)
            first = bench.new_addresses(args.burst)
            phases["new customers, burst"] = await bench.phase(
                [(a, QUESTIONS[i % len(QUESTIONS)]) for i, a in enumerate(first)]
            )
            print("returning customers, burst ...", flush=True)
            phases["returning customers, burst"] = await bench.phase(
                [(a, FOLLOW_UPS[i % len(FOLLOW_UPS)]) for i, a in enumerate(first)]
            )
            top = phases["new customers, burst"]["msg_per_s"]
            result["ratio"] = round(top / result["bare"]["msg_per_s"], 3)
        rates = [("20 msg/s", 20.0)] + [
            (f"{p} % of max ({top * p / 100:.0f} msg/s)", top * p / 100) for p in args.fractions
        ]
        for label, rate in rates:
            print(f"latency at {label} ...", flush=True)
            count = max(50, int(rate * args.rate_seconds))
            phases[label] = await bench.phase(
                [(a, QUESTIONS[i % len(QUESTIONS)]) for i, a in enumerate(bench.new_addresses(count))], rate
            )
        result["phases"] = phases
        if args.profile:
            print("profiling a burst with py-spy ...", flush=True)
            result["profiles"] = await bench.profile(REPO / ".local" / "bench" / "profiles", args.burst)
    finally:
        if bench is not None:
            await bench.outbound.stop()
            await bench.producer.stop()
            for proc in bench.procs.values():
                if proc.proc and proc.proc.poll() is None:
                    try:
                        proc.terminate(timeout=20)
                    except AssertionError as exc:  # killed after the wait: say so, the figures stand
                        print(exc, file=sys.stderr)
        redis.__exit__()
        await asyncio.to_thread(broker.stop)
        shutil.rmtree(state, ignore_errors=True)
    result["load_end"] = load()
    print()
    print(table(result))
    for name, frames in result.get("profiles", {}).items():
        print(f"\npy-spy, {name}: frames with most samples (inclusive share)")
        for frame, share in frames:
            print(f"  {share:6.1%}  {frame[:150]}")
    print(f"\nload at start: {result['load_start']}, at end: {result['load_end']}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(out.write_text, json.dumps(result, indent=2))
    print(f"written to {out}; service logs in {logs}")
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--burst", type=int, default=2000, help="messages per burst (2000)")
    parser.add_argument("--warmup", type=int, default=200, help="messages before measuring (200)")
    parser.add_argument("--bare-messages", type=int, default=20000, help="records of the bare loop (20000)")
    parser.add_argument(
        "--warm-seconds",
        type=float,
        default=120.0,
        help="at most this long warming the broker's JIT before measuring; 0 measures a cold broker (120)",
    )
    parser.add_argument(
        "--rate-seconds", type=float, default=10.0, help="seconds of each fixed-rate run (10)"
    )
    parser.add_argument(
        "--settle", type=float, default=60.0, help="seconds a phase waits beyond its sends (60)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="RELAIS_WORKERS of the context store and the bot (1)"
    )
    parser.add_argument(
        "--max-rate",
        type=float,
        default=0.0,
        help="skip the bare loop and the bursts; the fixed-rate runs take this as the maximum (msg/s)",
    )
    parser.add_argument(
        "--fractions",
        type=lambda text: [int(p) for p in text.split(",") if p],
        default=[25, 50, 75],
        help="fixed-rate runs besides 20 msg/s, as percentages of the maximum (25,50,75)",
    )
    parser.add_argument("--profile", action="store_true", help="a last burst recorded by py-spy")
    parser.add_argument("--env", action="append", default=[], help="RELAIS_X=value for every service")
    parser.add_argument("--out", default=str(REPO / ".local" / "bench" / "pipeline.json"))
    return parser.parse_args(argv)


if __name__ == "__main__":
    # uvloop, as the services run on: the load generator and the reader share the 2 cores with them, and
    # the less CPU they take the more the path gets. They still take 0.46-0.54 ms a message at half the
    # maximum, mostly their Kafka client's requests (py-spy), which `bench` in the CPU figures shows.
    sys.exit(uvloop.run(run(parse(sys.argv[1:]))))

"""Chaos run: the whole system under a steady load of customers while its parts fail, one at a time.

It starts a Kafka broker and a Redis of its own (deploy/local, in a temporary directory, on free ports;
Redis without persistence, so a restart is a wipe unless --redis-appendonly), the four services as
real processes, and agents played over the routing topic (they go available and accept every offer).
For each scenario a new wave of customers writes several messages each, in several languages, some
asking for a person, while one fault strikes: SIGKILL of a service (then restarted), a broker restart,
a Redis restart, a Redis wipe (FLUSHALL), or poison records mixed into the load (null value, non-JSON,
a JSON array, wrong types, deep nesting, invalid UTF-8, a lone surrogate) on every consumed topic.

After each scenario it checks, through the public contracts only (the topics and the context store's
HTTP API), that every customer message is in its conversation's timeline exactly once and in order, that
a customer's messages stay in one conversation, that every message got exactly one reply or is with an
agent, that no reply went out twice with different ids, and that every service is healthy.

    make chaos                                   # every scenario; table + .local/bench/chaos.json
    uv run python bench/chaos.py --scenarios redis-wipe,poison --customers 6
"""

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from relais_contracts import CONTENT_TYPE, DecodeError, Event, decode, topics
from relais_contracts.agents import OfferCreated
from relais_contracts.channel import MessageSend
from relais_contracts.conversation import CustomerMessage, ReplyPosted
from relais_contracts.routing import OfferAccepted, OfferAnswerData, PresenceChanged, PresenceChangedData
from relais_platform.testing import (
    Infra,
    LocalRedis,
    ServiceProcess,
    api_headers,
    create_topics,
    new_namespace,
    service_env,
)

REPO = Path(__file__).resolve().parents[1]
TENANT = "acme"
SERVICES = {
    "context-store": "relais_context_store",
    "bot": "relais_bot",
    "router": "relais_router",
    "agent-gateway": "relais_agent_gateway",
}
SCENARIOS = [
    "baseline",
    "kill-context-store",
    "kill-bot",
    "kill-router",
    "kill-agent-gateway",
    "broker-restart",
    "redis-restart",
    "redis-wipe",
    "poison",
]
# What customers write, per language: questions the bot answers, and a request for a person.
PHRASES = {
    "fr": (["Bonjour, où en est ma commande ?", "Ma livraison est en retard", "Comment faire un retour ?"],
           "Je veux parler à un conseiller"),
    "en": (["Hello, where is my order?", "My delivery is late", "How do I return an item?"],
           "I want to talk to a human agent"),
    "es": (["Hola, ¿dónde está mi pedido?", "Mi entrega llega tarde", "¿Cómo devuelvo un artículo?"],
           "Quiero hablar con un agente"),
    "de": (["Hallo, wo ist meine Bestellung?", "Meine Lieferung ist verspätet", "Wie gebe ich etwas zurück?"],
           "Ich möchte mit einem Mitarbeiter sprechen"),
}  # fmt: skip
POISON: list[tuple[str, bytes | None]] = [
    ("null value", None),
    ("not JSON", b"{this is not json"),
    ("JSON array", b"[1, 2, 3]"),
    ("wrong types", b'{"specversion": "1.0", "id": [], "type": [], "source": 7, "tenant": {}, "data": "x"}'),
    ("deep nesting", b'{"specversion": "1.0", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    ("invalid UTF-8", b'{"specversion": "1.0", "id": "\xff\xfe", "type": "relais.channel.message.received"}'),
    ("lone surrogate", b'{"specversion": "1.0", "id": "\\ud800", "type": "relais.channel.message.received"}'),
]
AGENT_STATES = {"waiting", "offered", "assigned", "wrapped_up"}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    """A Kafka broker of the run's own (deploy/local/kafka.sh), which it can restart."""

    def __init__(self, state: Path) -> None:
        self.port = _free_port()
        self._env = {
            **os.environ,
            "RELAIS_LOCAL_DIR": str(state),
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(_free_port()),
        }
        self.bootstrap = f"127.0.0.1:{self.port}"

    def _run(self, command: str, **env: str) -> None:
        script = REPO / "deploy" / "local" / "kafka.sh"
        argv = ["bash", str(script), command]  # our own script, with fixed arguments
        subprocess.run(argv, env={**self._env, **env}, check=True, capture_output=True)  # noqa: S603

    def start(self, fresh: bool = False) -> None:
        self._run("start", KAFKA_FRESH="1" if fresh else "0")

    def stop(self) -> None:
        self._run("stop")


@dataclass
class Customer:
    name: str
    language: str
    asks_person: bool
    channel: str = "webchat"
    sent: list[tuple[str, str]] = field(default_factory=list)  # (inbound event id, text)

    @property
    def address(self) -> str:
        return f"chaos-{self.name}"

    def texts(self, count: int) -> list[str]:
        questions, person = PHRASES[self.language]
        texts = [f"{questions[n % len(questions)]} [{self.name}/{n}]" for n in range(count)]
        if self.asks_person and count > 1:
            texts[1] = f"{person} [{self.name}/1]"
        return texts


@dataclass
class Result:
    scenario: str
    customers: int
    messages: int
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    split: int = 0  # customers whose messages went to more than one conversation
    unanswered: int = 0
    replied_twice: int = 0
    with_agent: int = 0
    unhealthy: list[str] = field(default_factory=list)
    dead_letters: dict[str, int] = field(default_factory=dict)
    fault_s: float = 0.0
    settle_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        faults = self.lost + self.duplicated + self.out_of_order + self.split + self.unanswered
        return not (faults or self.replied_twice or self.unhealthy)


class System:
    def __init__(self, infra: Infra, namespace: str, log_dir: Path, env: dict[str, str]) -> None:
        self.infra = infra
        self.namespace = namespace
        self.procs: dict[str, ServiceProcess] = {}
        for name, module in SERVICES.items():
            self.procs[name] = ServiceProcess(
                module, service_env(infra, namespace, RELAIS_ENV="dev", **env), log_dir, name
            )
        gateway = self.procs["agent-gateway"]
        gateway.env["RELAIS_CONTEXT_STORE_URL"] = self.procs["context-store"].url
        gateway.env["RELAIS_ROUTER_URL"] = self.procs["router"].url

    async def start(self) -> None:
        for proc in self.procs.values():
            proc.start()
        for proc in self.procs.values():
            await proc.wait_ready(timeout=120)

    async def restart(self, name: str) -> None:
        proc = self.procs[name]
        proc.kill()
        proc.start()  # same port, same environment
        await proc.wait_ready(timeout=120)

    async def health(self) -> list[str]:
        bad = []
        async with httpx.AsyncClient(timeout=5) as http:
            for name, proc in self.procs.items():
                try:
                    if (await http.get(f"{proc.url}/readyz")).status_code != 200:
                        bad.append(f"{name}: not ready")
                except httpx.HTTPError as exc:
                    bad.append(f"{name}: {exc!r}")
        return bad

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.proc and proc.proc.poll() is None:
                try:
                    proc.terminate(timeout=20)
                except AssertionError as exc:  # killed after the wait: say so, the figures stand
                    print(exc, file=sys.stderr)


class Channel:
    """Publishes as an integrator: an event is sent again (same id) until the broker acknowledges it."""

    def __init__(self, infra: Infra, namespace: str) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=infra.bootstrap, acks="all", request_timeout_ms=10_000
        )
        self._namespace = namespace

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(self, topic: str, key: str, value: bytes | None, deadline_s: float = 180) -> None:
        deadline = time.monotonic() + deadline_s
        while True:
            try:
                await self._producer.send_and_wait(
                    f"{self._namespace}{topic}",
                    value=value,
                    key=key.encode(),
                    headers=[("content-type", CONTENT_TYPE.encode())],
                )
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)

    async def event(self, topic: str, key: str, event: dict[str, Any]) -> None:
        await self.send(topic, key, json.dumps(event, default=str).encode())


def _inbound(customer: Customer, text: str) -> dict[str, Any]:
    event_id = str(uuid.uuid4())
    customer.sent.append((event_id, text))
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": f"chaos/{customer.channel}",
        "type": "relais.channel.message.received",
        "time": datetime.now(UTC).isoformat(),
        "tenant": TENANT,
        "data": {
            "channel": customer.channel,
            "from": {"address": customer.address, "name": f"Customer {customer.name}"},
            "text": text,
            "external_id": f"ext-{event_id}",
        },
    }


async def read_all(bootstrap: str, physical: str) -> list[tuple[Any, Event | None]]:
    """Every record of a topic up to its end now, with its event (None when it does not decode)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([physical])
    finally:
        await admin.close()
    parts = [TopicPartition(physical, p["partition"]) for d in described for p in d.get("partitions", ())]
    out: list[tuple[Any, Event | None]] = []
    if not parts:
        return out
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(parts)
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        remaining = {tp for tp in parts if ends[tp] > 0}
        while remaining:
            fetched = await consumer.getmany(*remaining, timeout_ms=500)
            for records in fetched.values():
                for record in records:
                    try:
                        event: Event | None = decode(record.value)
                    except (DecodeError, ValueError, TypeError, RecursionError):
                        event = None
                    out.append((record, event))
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return out


class Agents:
    """Agents played over the routing topic: available with room for many, accepting every offer."""

    def __init__(self, infra: Infra, namespace: str, channel: Channel, count: int = 3) -> None:
        self._infra = infra
        self._namespace = namespace
        self._channel = channel
        self._ids = [f"agent-{n}" for n in range(count)]
        self._accepted: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        for agent_id in self._ids:
            presence = PresenceChanged(
                id=str(uuid.uuid4()),
                source="chaos/agents",
                time=datetime.now(UTC),
                tenant=TENANT,
                data=PresenceChangedData(
                    agent_id=agent_id,
                    name=agent_id,
                    presence="available",
                    capacity={"*": 500},
                    skills={"care": 5, "billing": 5},
                    languages=tuple(PHRASES),
                ),
            )
            await self._channel.send(topics.ROUTING, TENANT, presence.to_json())
        self._task = asyncio.create_task(self._answer())

    async def _answer(self) -> None:
        physical = f"{self._namespace}{topics.AGENTS}"
        while True:
            try:
                for _, event in await read_all(self._infra.bootstrap, physical):
                    if isinstance(event, OfferCreated) and event.data.offer_id not in self._accepted:
                        d = event.data
                        accept = OfferAccepted(
                            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"accept/{d.offer_id}")),
                            source="chaos/agents",
                            time=datetime.now(UTC),
                            tenant=TENANT,
                            data=OfferAnswerData(
                                offer_id=d.offer_id, agent_id=d.agent_id, conversation_id=d.conversation_id
                            ),
                        )
                        await self._channel.send(topics.ROUTING, TENANT, accept.to_json())
                        self._accepted.add(d.offer_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker is down for a moment: look again
                print(f"agents: {exc!r}", file=sys.stderr)
            await asyncio.sleep(0.5)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def check(system: System, customers: list[Customer], result: Result) -> None:
    """Fill `result` from the topics and the context store's API."""
    ns = system.namespace
    log = [
        e for _, e in await read_all(system.infra.bootstrap, f"{ns}{topics.CONVERSATIONS}") if e is not None
    ]
    outbound = [
        e for _, e in await read_all(system.infra.bootstrap, f"{ns}{topics.OUTBOUND}") if e is not None
    ]
    by_cause: dict[str, set[tuple[str, str]]] = defaultdict(set)  # inbound id -> {(message id, conversation)}
    for e in log:
        if isinstance(e, CustomerMessage) and e.causationid:
            by_cause[e.causationid].add((e.id, e.subject or ""))
    replies: dict[str, set[str]] = defaultdict(set)  # customer message id -> reply ids
    for e in log:
        if isinstance(e, ReplyPosted) and e.data.in_reply_to:
            replies[e.data.in_reply_to].add(e.id)
    sends: dict[str, set[str]] = defaultdict(set)
    for e in outbound:
        if isinstance(e, MessageSend) and e.data.in_reply_to:
            sends[e.data.in_reply_to].add(e.data.message_id)
    result.replied_twice = sum(len(ids) > 1 for ids in replies.values()) + sum(
        len(ids) > 1 for ids in sends.values()
    )
    result.lost = result.duplicated = result.out_of_order = result.split = 0
    result.unanswered = result.with_agent = 0
    url = system.procs["context-store"].url
    async with httpx.AsyncClient(timeout=10, headers=api_headers(TENANT)) as http:
        for customer in customers:
            conversations = {c for event_id, _ in customer.sent for _, c in by_cause.get(event_id, ())}
            if len(conversations) > 1:
                result.split += 1
            timelines: dict[str, list[dict[str, Any]]] = {}
            states: dict[str, str] = {}
            for cid in conversations:
                response = await http.get(f"{url}/v1/conversations/{cid}/timeline")
                timelines[cid] = response.json() if response.status_code == 200 else []
                view = await http.get(f"{url}/v1/conversations/{cid}")
                states[cid] = view.json().get("state", "") if view.status_code == 200 else ""
            said = [
                e["text"]
                for cid in sorted(timelines)
                for e in timelines[cid]
                if e.get("kind") == "message" and e.get("author_kind") == "customer"
            ]
            counts = Counter(said)
            texts = [text for _, text in customer.sent]
            result.lost += sum(1 for t in texts if counts[t] == 0)
            result.duplicated += sum(counts[t] - 1 for t in texts if counts[t] > 1)
            present = [t for t in said if t in set(texts)]
            if list(dict.fromkeys(present)) != [t for t in texts if counts[t]]:
                result.out_of_order += 1
            for event_id, _ in customer.sent:
                messages = by_cause.get(event_id, set())
                if any(replies.get(m) for m, _ in messages):
                    continue
                if any(states.get(c) in AGENT_STATES for _, c in messages):
                    result.with_agent += 1
                    continue
                result.unanswered += 1


async def run_load(channel: Channel, customers: list[Customer], messages: int, gap_s: float) -> None:
    async def one(n: int, customer: Customer) -> None:
        await asyncio.sleep(n * gap_s / len(customers))  # staggered, a steady flow
        for text in customer.texts(messages):
            key = topics.inbound_key(TENANT, customer.channel, customer.address)
            await channel.event(topics.INBOUND, key, _inbound(customer, text))
            await asyncio.sleep(gap_s)

    await asyncio.gather(*(one(n, c) for n, c in enumerate(customers)))


async def poison(channel: Channel) -> None:
    for topic in (topics.INBOUND, topics.CONVERSATIONS, topics.ROUTING, topics.AGENTS):
        for _, value in POISON:
            await channel.send(topic, TENANT if topic == topics.ROUTING else "chaos-poison", value)


async def scenario(
    name: str, system: System, broker: Broker, redis: LocalRedis, channel: Channel, args: argparse.Namespace
) -> Result:
    languages = list(PHRASES)
    customers = [
        Customer(
            f"{name}-{n}",
            languages[n % len(languages)],
            asks_person=n % 4 == 1,
            channel=("webchat", "sms")[n % 2],
        )
        for n in range(args.customers)
    ]
    result = Result(name, len(customers), len(customers) * args.messages)
    load = asyncio.create_task(run_load(channel, customers, args.messages, args.gap))
    await asyncio.sleep(args.gap * 1.5)  # the fault strikes mid-load
    started = time.monotonic()
    fault: Callable[[], Awaitable[None]] | None = None
    if name.startswith("kill-"):
        fault = lambda: system.restart(name.removeprefix("kill-"))  # noqa: E731
    elif name == "broker-restart":

        async def fault() -> None:
            await asyncio.to_thread(broker.stop)
            await asyncio.to_thread(broker.start)

    elif name == "redis-restart":
        fault = lambda: asyncio.to_thread(redis.restart)  # noqa: E731
    elif name == "redis-wipe":
        fault = redis.flushall
    elif name == "poison":
        fault = lambda: poison(channel)  # noqa: E731
    if fault is not None:
        await fault()
    result.fault_s = round(time.monotonic() - started, 2)
    await load
    settle = time.monotonic()
    deadline = settle + args.settle
    while True:
        try:
            await check(system, customers, result)
        except Exception as exc:  # a service still restarting: look again
            result.notes.append(f"check failed: {exc!r}"[:200])
        if (result.ok and not result.unhealthy) or time.monotonic() > deadline:
            break
        await asyncio.sleep(2)
    result.unhealthy = await system.health()
    result.settle_s = round(time.monotonic() - settle, 2)
    return result


async def dead_letters(system: System) -> Counter[str]:
    found: Counter[str] = Counter()
    for record, _ in await read_all(system.infra.bootstrap, f"{system.namespace}{topics.DEADLETTER}"):
        headers = dict(record.headers or ())
        found[(headers.get("relais.dlq.reason") or b"?").decode()] += 1
    return found


def table(results: list[Result]) -> str:
    cols = [
        "scenario",
        "msgs",
        "lost",
        "dup",
        "order",
        "split",
        "unanswered",
        "twice",
        "agent",
        "healthy",
        "dlq",
        "ok",
    ]
    rows = [
        [
            r.scenario, str(r.messages), str(r.lost), str(r.duplicated), str(r.out_of_order), str(r.split),
            str(r.unanswered), str(r.replied_twice), str(r.with_agent), "yes" if not r.unhealthy else "NO",
            ",".join(f"{k}:{v}" for k, v in sorted(r.dead_letters.items())) or "-", "ok" if r.ok else "FAIL",
        ]
        for r in results
    ]  # fmt: skip
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> int:
    wanted = args.scenarios.split(",") if args.scenarios else SCENARIOS
    unknown = set(wanted) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenarios {sorted(unknown)}; known: {', '.join(SCENARIOS)}")
    state = Path(tempfile.mkdtemp(prefix="relais-chaos-"))
    logs = REPO / ".local" / "bench" / "chaos-logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    broker = Broker(state)
    redis = LocalRedis(REPO, appendonly=args.redis_appendonly)
    results: list[Result] = []
    system: System | None = None
    started = time.monotonic()
    try:
        print(f"starting Kafka and Redis in {state} ...", flush=True)
        await asyncio.to_thread(broker.start, True)
        redis.start()
        infra = Infra(broker.bootstrap, redis.url)
        namespace = new_namespace()
        await create_topics(infra, namespace)
        env = {"RELAIS_BOT_SILENCE_TIMEOUT_S": str(args.bot_silence)}
        system = System(infra, namespace, logs, env)
        await system.start()
        channel = Channel(infra, namespace)
        await channel.start()
        agents = Agents(infra, namespace, channel)
        await agents.start()
        before: Counter[str] = Counter()
        for name in wanted:
            print(f"scenario {name} ...", flush=True)
            result = await scenario(name, system, broker, redis, channel, args)
            after = await dead_letters(system)
            result.dead_letters = dict(after - before)
            before = after
            results.append(result)
            print(table([result]).splitlines()[1], flush=True)
        await agents.stop()
        await channel.stop()
    finally:
        if system is not None:
            system.stop()
        redis.__exit__()
        await asyncio.to_thread(broker.stop)
        shutil.rmtree(state, ignore_errors=True)
    print()
    print(table(results))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(
        out.write_text,
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(),
                "seconds": round(time.monotonic() - started, 1),
                "settings": {k: v for k, v in vars(args).items() if k != "out"},
                "results": [asdict(r) | {"ok": r.ok} for r in results],
            },
            indent=2,
        ),
    )
    print(f"\nwritten to {out}; service logs in {logs}")
    return 0 if all(r.ok for r in results) else 1


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scenarios", default="", help=f"comma-separated, default all: {','.join(SCENARIOS)}"
    )
    parser.add_argument("--customers", type=int, default=8, help="customers per scenario (default 8)")
    parser.add_argument("--messages", type=int, default=3, help="messages per customer (default 3)")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between a customer's messages (1.0)")
    parser.add_argument(
        "--settle", type=float, default=60.0, help="seconds to wait for the checks to pass (60)"
    )
    parser.add_argument(
        "--bot-silence",
        type=float,
        default=30.0,
        help="RELAIS_BOT_SILENCE_TIMEOUT_S of the context store (30)",
    )
    parser.add_argument(
        "--redis-appendonly",
        action="store_true",
        help="Redis with its append-only file (a restart keeps data)",
    )
    parser.add_argument("--out", default=str(REPO / ".local" / "bench" / "chaos.json"))
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse(sys.argv[1:]))))

"""Pytest plugin for integration and e2e tests: real Kafka and Redis, and helpers to drive services.

Kafka and Redis come from `KAFKA_BOOTSTRAP_SERVERS` / `REDIS_URL` when set, else from testcontainers
when a Docker engine answers, else from `deploy/local/` (a real broker and redis-server started in a
fresh temporary directory and stopped at the end of the session). Each test system gets its own
namespace, so tests share the broker without seeing each other's topics, groups or keys.
"""

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis
from websockets.typing import Subprotocol

from relais_contracts import CONTENT_TYPE, CloudEvent, DecodeError, Event, decode
from relais_contracts.topics import ALL as ALL_TOPICS
from relais_contracts.topics import DEADLETTER
from relais_platform.callers import TENANT_HEADER, token_sha256
from relais_platform.kafka import ensure_topics
from relais_platform.settings import ServiceSettings


@dataclass(frozen=True)
class Infra:
    bootstrap: str
    redis_url: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False).returncode == 0


def _local_infra(repo: Path, stack: ExitStack) -> Infra:
    state = Path(tempfile.mkdtemp(prefix="relais-test-"))
    stack.callback(shutil.rmtree, state, ignore_errors=True)  # last, once both are stopped
    env = {
        **os.environ,
        "RELAIS_LOCAL_DIR": str(state),
        "KAFKA_PORT": str(_free_port()),
        "KAFKA_CONTROLLER_PORT": str(_free_port()),
        "REDIS_PORT": str(_free_port()),
        "KAFKA_FRESH": "1",
        "REDIS_FRESH": "1",
    }
    for script in ("redis.sh", "kafka.sh"):
        path = repo / "deploy" / "local" / script
        stack.callback(subprocess.run, ["bash", str(path), "stop"], env=env, check=False)
        subprocess.run(["bash", str(path), "start"], env=env, check=True)
    return Infra(f"127.0.0.1:{env['KAFKA_PORT']}", f"redis://127.0.0.1:{env['REDIS_PORT']}/0")


def _container_infra(stack: ExitStack) -> Infra:
    from testcontainers.kafka import KafkaContainer  # only where Docker exists
    from testcontainers.redis import RedisContainer

    kafka = stack.enter_context(KafkaContainer("apache/kafka:4.1.1").with_kraft())
    redis = stack.enter_context(RedisContainer("redis:7"))
    host, port = redis.get_container_host_ip(), redis.get_exposed_port(6379)
    return Infra(kafka.get_bootstrap_server(), f"redis://{host}:{port}/0")


def open_infra(repo: Path, stack: ExitStack) -> Infra:
    """Real Kafka and Redis: the ones named by the environment, else containers, else local processes
    (stopped when `stack` closes). Tests and benchmarks share it."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("REDIS_URL"):
        return Infra(os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["REDIS_URL"])
    if _docker_answers():
        return _container_infra(stack)
    return _local_infra(repo, stack)


@pytest.fixture(scope="session")
def infra(request: pytest.FixtureRequest) -> Iterator[Infra]:
    """Real Kafka and Redis for the whole test session."""
    with ExitStack() as stack:
        yield open_infra(request.config.rootpath, stack)


@pytest.fixture(scope="session", autouse=True)
def bot_intents_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One intents cache for every bot of the session (`RELAIS_BOT_INTENTS_CACHE_DIR`, read by the
    service processes, which inherit the environment, and by bots built in-process from settings).

    The first bot started fits its classifiers in its child process as in production and keeps the
    arrays; the next thirty or so read them instead of fitting the same examples again (10-30 s of CPU
    each on a two-core machine). A fresh directory each session, so every run fits once for real.
    """
    cache = tmp_path_factory.mktemp("bot-intents")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RELAIS_BOT_INTENTS_CACHE_DIR", str(cache))
        yield cache


def new_namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}."


@pytest.fixture
def namespace() -> str:
    """A namespace of its own for one test: topics, consumer groups and Redis keys."""
    return new_namespace()


# The callers every test system's context store and router accept, as a deployment would list them:
# the gateway with what it needs, ops with the admin scope, and a caller bound to tenant "acme".
API_TOKENS = {
    "agent-gateway": "test-agent-gateway-token-0123456789",
    "ops": "test-ops-token-0123456789abcdef",
    "acme-reader": "test-acme-reader-token-0123456789",
}
_READS = ["conversations:read", "customers:read", "routing:read"]
API_CALLERS: list[dict[str, Any]] = [
    {"name": "agent-gateway", "scopes": [*_READS, "identities:link"]},
    {"name": "ops", "scopes": [*_READS, "admin"]},
    {"name": "acme-reader", "scopes": _READS, "tenant": "acme"},
]


def api_callers_json() -> str:
    """`RELAIS_API_CALLERS` for the test callers."""
    return json.dumps([{**c, "tokens_sha256": [token_sha256(API_TOKENS[c["name"]])]} for c in API_CALLERS])


def api_headers(tenant: str | None = None, caller: str = "agent-gateway") -> dict[str, str]:
    """Headers of a call to the context store's or the router's API as `caller`, for `tenant`."""
    headers = {"Authorization": f"Bearer {API_TOKENS[caller]}"}
    return headers if tenant is None else {**headers, TENANT_HEADER: tenant}


def desk_socket(gateway_url: str, token: str, after: str | None = None, **options: Any) -> websockets.connect:
    """An agent desk's WebSocket to the gateway (await it, or `async with` it): the token travels as a
    subprotocol, as the desk sends it, never in the URL."""
    url = gateway_url.replace("http", "ws", 1) + "/v1/agent/ws" + (f"?after={after}" if after else "")
    offered = [Subprotocol("relais.agent"), Subprotocol(f"bearer.{token}")]
    return websockets.connect(url, subprotocols=offered, **options)


def service_env(infra: Infra, namespace: str, **extra: str) -> dict[str, str]:
    """Environment for a service process (or settings object) of one test system."""
    return {
        "RELAIS_ENV": "test",
        "RELAIS_NAMESPACE": namespace,
        "RELAIS_KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
        "RELAIS_REDIS_URL": infra.redis_url,
        "RELAIS_KAFKA_DEFAULT_PARTITIONS": "3",
        "RELAIS_API_CALLERS": api_callers_json(),
        "RELAIS_UPSTREAM_TOKEN": API_TOKENS["agent-gateway"],
        **extra,
    }


async def create_topics(infra: Infra, namespace: str) -> None:
    await ensure_topics(
        ServiceSettings(
            namespace=namespace, kafka_bootstrap_servers=infra.bootstrap, kafka_default_partitions=3
        )
    )


async def poll(
    check: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.05, what: str = ""
) -> Any:
    """Poll `check` (sync or async) until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or check}")
        await asyncio.sleep(interval)


class ContractViolation(AssertionError):
    """A record on a Relais topic that does not decode: whoever wrote it broke the contract."""


@dataclass
class TopicReader:
    """Reads contract topics of one namespace from the beginning, in the background, keeping every record.

    It is also the suite's contract guard: a record of a Relais topic that does not decode fails the
    test (at the first look at the events, and at the latest when the reader closes), so a service
    publishing a contract-invalid event cannot hide from an integration or end-to-end check. The
    dead-letter topic holds undecodable records on purpose and is exempt; a test that writes poison
    itself lists the exact values in `poison`.
    """

    infra: Infra
    namespace: str
    topics: Sequence[str]
    poison: Collection[bytes] = ()
    records: list[ConsumerRecord] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _decoded: list[tuple[str, Event]] = field(default_factory=list)
    _checked: int = 0

    async def __aenter__(self) -> "TopicReader":
        consumer = AIOKafkaConsumer(bootstrap_servers=self.infra.bootstrap, enable_auto_commit=False)
        await consumer.start()

        async def partitions() -> list[TopicPartition]:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.infra.bootstrap)
            await admin.start()
            try:
                described = await admin.describe_topics([f"{self.namespace}{t}" for t in self.topics])
            finally:
                await admin.close()
            found = [
                TopicPartition(d["topic"], p["partition"]) for d in described for p in d.get("partitions", ())
            ]
            return found if len({tp.topic for tp in found}) == len(self.topics) else []

        assigned: list[TopicPartition] = await poll(
            partitions, timeout=15, what=f"partitions of {self.topics}"
        )
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        self._consumer = consumer
        self._task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=100)
            for records in batch.values():
                self.records.extend(records)

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await self._consumer.stop()
        if exc_type is None:  # a failing test keeps its own error
            self._decode_new()

    def _decode_new(self) -> None:
        """Decodes the records that arrived since the last look; fails on one that breaks the contract."""
        dead_letters = f"{self.namespace}{DEADLETTER}"
        while self._checked < len(self.records):
            record = self.records[self._checked]
            self._checked += 1
            topic = record.topic.removeprefix(self.namespace)
            try:
                self._decoded.append((topic, decode(record.value)))
            except DecodeError as exc:
                if record.topic == dead_letters or record.value in self.poison:
                    continue
                value = (record.value or b"")[:300]
                raise ContractViolation(
                    f"undecodable record on {topic} (partition {record.partition}, offset {record.offset},"
                    f" key {record.key!r}): {exc}; value {value!r}"
                ) from None

    def events(self, topic: str, predicate: Callable[[Event], bool] = lambda e: True) -> list[Event]:
        """Decoded events of one contract topic that match `predicate`, in arrival order."""
        self._decode_new()
        return [event for t, event in self._decoded if t == topic and predicate(event)]

    async def wait_event(
        self, topic: str, predicate: Callable[[Event], bool], *, timeout: float = 30.0, what: str = ""
    ) -> Event:
        found: list[Event] = await poll(
            lambda: self.events(topic, predicate), timeout=timeout, what=what or topic
        )
        return found[0]


async def all_consumed(infra: Infra, namespace: str, *, hops: int = 1, timeout: float = 60.0) -> None:
    """Wait until every consumer group of the namespace has committed every record written so far on
    the topics it reads: the positive marker before a "nothing else happened" check.

    A service commits a batch only once its effects (outputs, dead letters, Redis writes) are written,
    so once its committed offsets pass the end offsets taken here, whatever it would wrongly do with
    the records seen so far is done, and an absence check means something. `hops` repeats the wait
    with the end offsets of then, for a wrong effect that takes several services in a row (a bot reply
    becomes an outbound message through the context store: 2 hops). A group is taken to read the
    topics it has committed offsets on.
    """
    for _ in range(hops):
        await _consumed_once(infra, namespace, timeout)


async def _consumed_once(infra: Infra, namespace: str, timeout: float) -> None:
    physical = [f"{namespace}{t}" for t in ALL_TOPICS]
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=infra.bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        described = await admin.describe_topics(physical)
        partitions = [
            TopicPartition(d["topic"], p["partition"]) for d in described for p in d.get("partitions", ())
        ]
        ends = {tp: offset for tp, offset in (await consumer.end_offsets(partitions)).items() if offset}
        groups = [g[0] for g in await admin.list_consumer_groups() if g[0].startswith(namespace)]
        assert groups, f"no consumer group in namespace {namespace}"

        async def behind() -> list[str]:
            lagging = []
            for group in groups:
                committed = await admin.list_consumer_group_offsets(group)
                read = {tp.topic for tp in committed}  # the topics this group consumes
                for tp, end in ends.items():
                    if tp.topic in read and (committed[tp].offset if tp in committed else 0) < end:
                        lagging.append(f"{group} {tp.topic}[{tp.partition}]")
            return lagging

        async def caught_up() -> bool:
            return not await behind()

        try:
            await poll(caught_up, timeout=timeout, what="every consumer group past the records so far")
        except AssertionError:
            raise AssertionError(f"consumers still behind after {timeout}s: {await behind()}") from None
    finally:
        await consumer.stop()
        await admin.close()


class RawPublisher:
    """Publishes bytes or events as a channel integrator would, with any Kafka client."""

    def __init__(self, infra: Infra, namespace: str) -> None:
        self._producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap, acks="all")
        self._namespace = namespace

    async def __aenter__(self) -> "RawPublisher":
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def send(self, topic: str, value: bytes, key: str | None = None) -> None:
        await self._producer.send_and_wait(
            f"{self._namespace}{topic}",
            value=value,
            key=key.encode() if key else None,
            headers=[("content-type", CONTENT_TYPE.encode())],
        )

    async def event(self, topic: str, key: str, event: CloudEvent | dict[str, Any]) -> None:
        value = event.to_json() if isinstance(event, CloudEvent) else json.dumps(event).encode()
        await self.send(topic, value, key)

    async def events(self, topic: str, key: str, events: Iterable[CloudEvent]) -> None:
        """Many events under one key, in order, acknowledged together (a burst, a benchmark's load)."""
        pending = [
            await self._producer.send(
                f"{self._namespace}{topic}",
                value=e.to_json(),
                key=key.encode(),
                headers=[("content-type", CONTENT_TYPE.encode())],
            )
            for e in events
        ]
        await asyncio.gather(*pending)


class ServiceProcess:
    """One service run as a real process through its entry point, as it runs in production."""

    def __init__(self, module: str, env: dict[str, str], log_dir: Path, name: str | None = None) -> None:
        self.module = module
        self.port = _free_port()
        self.env = {**os.environ, **env, "RELAIS_HTTP_PORT": str(self.port)}
        self.name = name or module
        self.log_path = log_dir / f"{self.name}-{uuid.uuid4().hex[:6]}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ServiceProcess":
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        return self

    async def wait_ready(self, timeout: float = 120.0) -> None:
        async with httpx.AsyncClient() as client:

            async def ready() -> bool:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n{self.log_tail()}")
                try:
                    return (await client.get(f"{self.url}/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False

            try:
                await poll(ready, timeout=timeout, interval=0.1, what=f"{self.name} ready")
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{self.log_tail()}") from None

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is committed."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 45.0) -> int:
        """SIGTERM and the exit code. The default is the deployments' grace period (uvicorn's drain and
        the runtime's stop, RELAIS_SHUTDOWN_TIMEOUT_S each, plus margin); a process still running then
        is killed and the test fails with its log's end, which says what the stop waited for."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            stuck = f"{self.name} still running {timeout}s after SIGTERM:\n{self.log_tail()}"
            raise AssertionError(stuck) from None

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


async def redis_dump(
    infra: Infra, namespace: str, prefix: str = "relais:", skip: Sequence[str] = ()
) -> dict[str, Any]:
    """Every key of a namespace under `prefix` (less those under `skip`) with its value, namespace removed:
    to compare the state of two runs, or to look for a text anywhere in it."""
    redis = Redis.from_url(infra.redis_url)
    dump: dict[str, Any] = {}
    try:
        async for raw in redis.scan_iter(match=f"{namespace}{prefix}*", count=1000):
            key = raw.decode().removeprefix(namespace)
            if any(key.startswith(s) for s in skip):
                continue
            kind = await redis.type(raw)
            kind = kind.decode() if isinstance(kind, bytes) else kind
            if kind == "string":
                dump[key] = await redis.get(raw)
            elif kind == "hash":
                dump[key] = await redis.hgetall(raw)
            elif kind == "list":
                dump[key] = await redis.lrange(raw, 0, -1)
            elif kind == "set":
                dump[key] = sorted(await redis.smembers(raw))
            elif kind == "zset":
                dump[key] = await redis.zrange(raw, 0, -1, withscores=True)
            elif kind == "stream":
                dump[key] = await redis.xrange(raw)
    finally:
        await redis.aclose()
    return dump


def cpu_seconds(root: int) -> float:
    """User + system CPU of a process and of every live descendant (worker processes), in seconds: what
    the benchmarks charge a service from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = int(fields[11]) + int(fields[12])  # utime, stime
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parents.items() if parent == pid and p not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(p, 0) for p in tree) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """A process's resident memory in MiB, from /proc (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class LocalRedis:
    """A redis-server of a test's own (deploy/local/redis.sh in a temporary directory, on a free port), for
    tests that wipe, stop or restart Redis: never the shared one. No persistence unless `appendonly`."""

    def __init__(self, repo: Path, appendonly: bool = False) -> None:
        self._script = repo / "deploy" / "local" / "redis.sh"
        self._state = Path(tempfile.mkdtemp(prefix="relais-redis-"))
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._env = {
            **os.environ,
            "RELAIS_LOCAL_DIR": str(self._state),
            "REDIS_PORT": str(self.port),
            "REDIS_APPENDONLY": "yes" if appendonly else "no",
        }

    @property
    def data_dir(self) -> Path:
        """Where redis-server keeps its files (the append-only file's directory is in it)."""
        return self._state / "redis"

    def _run(self, command: str) -> None:
        subprocess.run(["bash", str(self._script), command], env=self._env, check=True, capture_output=True)

    def start(self) -> "LocalRedis":
        self._run("start")
        return self

    def stop(self) -> None:
        self._run("stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    async def flushall(self) -> None:
        redis = Redis.from_url(self.url)
        try:
            await redis.flushall()
        finally:
            await redis.aclose()

    def __enter__(self) -> "LocalRedis":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["bash", str(self._script), "stop"], env=self._env, check=False, capture_output=True)
        shutil.rmtree(self._state, ignore_errors=True)


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


class WebhookReceiver:
    """A real local HTTP server standing in for a channel integrator's webhook: it keeps every request
    and answers with the status `respond(request)` returns (200 by default)."""

    def __init__(self, respond: Callable[[ReceivedRequest], int] = lambda r: 200) -> None:
        self.respond = respond
        self.requests: list[ReceivedRequest] = []
        self.port = _free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _app(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        request = ReceivedRequest(scope["path"], headers, body)
        status = self.respond(request)
        self.requests.append(request)
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def __aenter__(self) -> "WebhookReceiver":
        import uvicorn  # the services' server; imported here so that other tests do not pay for it

        config = uvicorn.Config(
            self._app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="off",
            interface="asgi3",
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        await poll(lambda: self._server.started, timeout=10, what="the webhook receiver")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.should_exit = True
        await self._task

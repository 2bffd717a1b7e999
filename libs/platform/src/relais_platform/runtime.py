"""The shell every service is built on: connections, consumers, ops endpoints and the process entry.

A service's `create_app(settings)` makes a `Runtime`, registers its consumers in the app's lifespan
and includes `runtime.ops_router()`. Nothing connects at import time.
"""

import asyncio
import contextlib
import gc
import importlib
import json
import os
import signal
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

# `require_admin` is the admin endpoints' dependency; services import it from here.
from relais_platform.callers import AccessPolicy, authorize
from relais_platform.callers import require_admin as require_admin
from relais_platform.consumer import (
    AssignedHook,
    BatchHandler,
    DeadLetteredHook,
    EventConsumer,
    PartitionsHook,
)
from relais_platform.kafka import Publisher, ensure_topics
from relais_platform.logs import configure_logging
from relais_platform.redis_client import connect_redis
from relais_platform.settings import S, ServiceSettings, load_settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Subscription:
    """What one registered consumer reads, and as which consumer group (what its Kafka user's ACLs allow)."""

    name: str
    topics: tuple[str, ...]
    group: str


class Runtime:
    """Owns the Redis client, the publisher and the consumers of one service process."""

    def __init__(
        self,
        settings: ServiceSettings,
        service: str,
        *,
        on_consumer_died: Callable[[], None] | None = None,
    ) -> None:
        """`on_consumer_died` ends the process by default (SIGTERM to itself); tests pass their own."""
        self.settings = settings
        self.service = service
        self.redis = connect_redis(settings)
        self.publisher = Publisher(settings, service)
        self._consumers: list[EventConsumer] = []
        self.subscriptions: list[Subscription] = []
        self._periodic: list[tuple[str, float, Callable[[], Awaitable[None]]]] = []
        self._background: list[tuple[str, Callable[[], Coroutine[Any, Any, None]]]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._on_stopped: list[Callable[[], Awaitable[None]]] = []
        self._on_consumer_died = on_consumer_died or _terminate_process
        self.consumer_died: BaseException | None = None
        self._stopping = False

    def stopping(self) -> bool:
        """True once the service stops: a handler's wait for something other than its own batch's work
        (another consumer of the process, another replica) ends then, leaving the batch uncommitted."""
        return self._stopping

    def on_stopped(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run `hook()` once the consumers have drained, while Kafka and Redis are still connected."""
        self._on_stopped.append(hook)

    def consume(
        self,
        name: str,
        topics: Sequence[str],
        handler: BatchHandler,
        *,
        on_assigned: AssignedHook | None = None,
        on_revoked: PartitionsHook | None = None,
        on_dead_lettered: DeadLetteredHook | None = None,
        group: str | None = None,
    ) -> None:
        """Register a consumer; it starts when the runtime does."""
        group = group or self.settings.group(f"{self.service}-{name}")
        self.subscriptions.append(Subscription(name, tuple(topics), group))
        self._consumers.append(
            EventConsumer(
                self.settings, service=self.service, name=name, topics=topics, handler=handler,
                publisher=self.publisher, on_assigned=on_assigned, on_revoked=on_revoked,
                on_dead_lettered=on_dead_lettered, group=group,
            )
        )  # fmt: skip

    def every(self, name: str, interval_s: float, job: Callable[[], Awaitable[None]]) -> None:
        """Run `job` every `interval_s` seconds while the runtime runs; a failed run is logged, not fatal."""
        self._periodic.append((name, interval_s, job))

    def background(self, name: str, job: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `job` once for the life of the runtime (a listener); cancelled when the service stops."""
        self._background.append((name, job))

    async def _repeat(self, name: str, interval_s: float, job: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await job()
            except Exception:
                log.exception("periodic job failed", job=name)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator["Runtime"]:
        """Connect, create missing topics, run the consumers; on exit, drain and close in order."""
        await ensure_topics(self.settings)
        await self.publisher.start()
        for consumer in self._consumers:
            task = asyncio.create_task(consumer.run(), name=f"consumer-{consumer.name}")
            task.add_done_callback(self._consumer_ended)
            self._tasks.append(task)
        periodic = [asyncio.create_task(self._repeat(*p), name=f"every-{p[0]}") for p in self._periodic]
        periodic += [asyncio.create_task(job(), name=name) for name, job in self._background]
        log.info("service started", port=self.settings.http_port)
        try:
            yield self
        finally:
            # One budget for the jobs and the consumers together, so that a stop stays within what the
            # deployment grants (uvicorn's drain, then this, then the clients' close).
            deadline = asyncio.get_running_loop().time() + self.settings.shutdown_timeout_s
            for task in periodic:
                task.cancel()
            for task in await _ended(periodic, deadline, "background job ignored its cancellation"):
                task.cancel()  # once more: a cancellation lost in a race (a timeout expiring with it)
            self._stopping = True
            for consumer in self._consumers:
                consumer.stop()
            for task in await _ended(self._tasks, deadline, "consumer still busy at the shutdown deadline"):
                task.cancel()
            for hook in self._on_stopped:
                try:
                    await hook()
                except Exception:
                    log.exception("shutdown hook failed")
            await self.publisher.stop()
            await self.redis.aclose()
            log.info("service stopped")

    def _consumer_ended(self, task: "asyncio.Task[None]") -> None:
        if task.cancelled() or task.exception() is None:
            return
        # Records and infrastructure faults never end the loop (consumer.py), so this is a bug or a
        # broken deployment. A process alive with a dead consumer serves nothing and waits for a probe:
        # end it instead, so that the orchestrator restarts it at once, from the last committed offset.
        self.consumer_died = task.exception()
        log.error("consumer died, ending the process", task=task.get_name(), exc_info=task.exception())
        self._on_consumer_died()

    def alive(self) -> bool:
        return all(not t.done() for t in self._tasks)

    async def readiness(self) -> dict[str, str]:
        """What answers and what does not; ready only when every check is "ok"."""
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(self.redis.ping(), timeout=2)
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"failed: {exc!r}"
        try:
            await asyncio.wait_for(self.publisher.ping(), timeout=3)
            checks["kafka"] = "ok"
        except Exception as exc:
            checks["kafka"] = f"failed: {exc!r}"
        checks["consumers"] = "ok" if all(c.running for c in self._consumers) else "starting or stopped"
        return checks

    def app(self, title: str, access: AccessPolicy | None = None) -> FastAPI:
        """The service's FastAPI app: the runtime runs for the app's lifespan; ops endpoints included.

        With an `access` policy, every route of the app (those included later too) authenticates its
        caller against `RELAIS_API_CALLERS` and checks the route's scope, except the open ops endpoints.
        """

        @contextlib.asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            async with self.running():
                yield

        dependencies = [] if access is None else [Depends(authorize)]
        app = FastAPI(title=title, version="0.1.0", lifespan=lifespan, dependencies=dependencies)
        app.state.runtime = self
        app.state.access = access
        app.include_router(self.ops_router())
        return app

    def ops_router(self) -> APIRouter:
        router = APIRouter(tags=["ops"])

        @router.get("/healthz")
        async def healthz() -> Response:
            """Liveness: the process serves and its consumers have not died."""
            ok = self.alive()
            return JSONResponse({"status": "ok" if ok else "consumer died"}, status_code=200 if ok else 503)

        @router.get("/readyz")
        async def readyz() -> Response:
            """Readiness: Kafka and Redis answer and the consumers run."""
            checks = await self.readiness()
            ready = all(v == "ok" for v in checks.values())
            return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

        @router.get("/metrics")
        async def metrics() -> Response:
            """Prometheus metrics."""
            if "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # one of several workers: all of theirs
                registry = CollectorRegistry()
                multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
                return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

        return router


# The cyclic collector's first-generation threshold once a service's heap is settled (CPython: 700).
# Decoding a record allocates some hundred tracked objects (dicts, lists, models); at 700 the collector
# ran every few records, and each run promoted a batch's live events towards the full collections.
GC_YOUNG_THRESHOLD = 10_000


def settle_heap() -> None:
    """Call once a service has built what lives as long as the process (its modules, models, clients'
    settings): that heap leaves the cyclic collector's scans, and young collections come less often.

    Measured on the context store's decode of 80,000 inbound records with the last two batches kept
    alive (as a handler keeps them), on a loaded 2-core machine: 35.6 µs a record with CPython's
    defaults (half of it in the collector), 10.6 µs after this. Objects frozen here are still freed by
    reference counting; cycles among them are never collected, so start-up's garbage is collected first.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def _terminate_process() -> None:
    # SIGTERM, not exit: uvicorn shuts down gracefully (the other consumers commit and leave their
    # groups), then exits by the signal, which the orchestrator sees as a failure and restarts.
    os.kill(os.getpid(), signal.SIGTERM)


# How a worker process of a multi-worker service finds its composition root and settings (set by serve).
_WORKER_ENV = "RELAIS_WORKER_ENTRY"


async def _ended(
    tasks: Sequence["asyncio.Task[Any]"], deadline: float, what: str
) -> set["asyncio.Task[Any]"]:
    """Wait until `deadline` for `tasks` to end; those still running are logged with where they wait
    (a job that swallows its cancellation would otherwise hang the stop until the orchestrator kills
    the process, and nobody would know which) and returned."""
    if not tasks:
        return set()
    pending = (await asyncio.wait(tasks, timeout=max(deadline - asyncio.get_running_loop().time(), 0)))[1]
    for task in pending:
        frames = [f"{f.f_code.co_filename}:{f.f_lineno} {f.f_code.co_name}" for f in task.get_stack(limit=8)]
        log.warning(what, task=task.get_name(), stack=frames)
    return pending


def serve(create_app: Callable[[S], FastAPI], settings_type: type[S], service: str) -> None:
    """Process entry point: settings, JSON logs, then uvicorn (SIGTERM becomes a graceful lifespan exit).

    With RELAIS_WORKERS above 1, uvicorn runs that many worker processes on the one port, each a whole
    instance of the service: its consumers join the same consumer groups as another replica's would,
    so the partitions spread over the workers and each partition is still read by one consumer, in
    order. uvicorn restarts a worker that dies. Metrics are then gathered from every worker
    (prometheus_client's multiprocess mode, in PROMETHEUS_MULTIPROC_DIR or a temporary directory).
    """
    settings = load_settings(settings_type, service)
    configure_logging(service, settings.log_level)
    options: dict[str, Any] = {
        "host": settings.http_host,
        "port": settings.http_port,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": int(settings.shutdown_timeout_s),
    }
    if settings.workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    # Before any worker starts: prometheus_client reads it when a worker imports it.
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix=f"relais-{service}-metrics-"))
    entry = [f"{create_app.__module__}:{create_app.__qualname__}"]
    entry += [f"{settings_type.__module__}:{settings_type.__qualname__}", service]
    os.environ[_WORKER_ENV] = json.dumps(entry)
    uvicorn.run("relais_platform.runtime:worker_app", factory=True, workers=settings.workers, **options)


def worker_app() -> FastAPI:
    """The app of one worker process of a multi-worker service (see serve); uvicorn calls it."""
    factory, settings_type, service = json.loads(os.environ[_WORKER_ENV])
    settings = load_settings(_imported(settings_type), service)
    configure_logging(service, settings.log_level)
    app: FastAPI = _imported(factory)(settings)
    return app


def _imported(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)

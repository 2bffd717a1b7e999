"""Wakes the sessions of this replica when their agent's inbox grows, over one Redis connection.

A blocking XREAD per socket would hold one Redis connection per agent (thousands per replica). Instead
the inbox projector publishes a one-line notice on one Pub/Sub channel each time it appends to an
inbox, every replica listens on one connection, and wakes the sessions of that agent it holds; a woken
session reads its stream without blocking, from its own position. A notice carries no content, so a
lost one costs only latency: a session always reads once when it starts, every session is woken when
the subscription is re-established, and a slow safety poll covers anything else.
"""

import asyncio
import contextlib
import json
from collections import defaultdict

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from relais_platform.settings import ServiceSettings

log = structlog.get_logger(__name__)

RESUBSCRIBE_DELAY_S = 1.0


def notice_channel(settings: ServiceSettings) -> str:
    return settings.key("gw", "inbox-notices")


def notice(tenant: str, agent_id: str) -> str:
    return json.dumps([tenant, agent_id], separators=(",", ":"))


class InboxHub:
    def __init__(self, redis: "Redis", settings: ServiceSettings) -> None:
        self._redis = redis
        self._channel = notice_channel(settings)
        self._waiting: dict[tuple[str, str], set[asyncio.Event]] = defaultdict(set)

    def register(self, tenant: str, agent_id: str) -> asyncio.Event:
        """The event set whenever the agent's inbox may have grown; `unregister` it when done."""
        wake = asyncio.Event()
        self._waiting[(tenant, agent_id)].add(wake)
        return wake

    def unregister(self, tenant: str, agent_id: str, wake: asyncio.Event) -> None:
        sessions = self._waiting.get((tenant, agent_id))
        if sessions is not None:
            sessions.discard(wake)
            if not sessions:
                del self._waiting[(tenant, agent_id)]

    @property
    def sessions(self) -> int:
        return sum(len(s) for s in self._waiting.values())

    async def run(self) -> None:
        """Listen for notices until cancelled, resubscribing after a lost connection."""
        while True:
            try:
                await self._listen()
            except (RedisError, OSError) as exc:
                log.warning("inbox notices interrupted; resubscribing", error=repr(exc))
                await asyncio.sleep(RESUBSCRIBE_DELAY_S)

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._channel)
            # Anything appended while nobody listened (start, or the connection was lost) is read now.
            self._wake_all()
            while True:
                # Bounded waits: the loop stays responsive to cancellation at shutdown.
                message = await pubsub.get_message(timeout=1.0)
                if message is not None:
                    self._wake(message["data"])
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _wake(self, data: bytes) -> None:
        tenant, agent_id = json.loads(data)
        for wake in self._waiting.get((tenant, agent_id), ()):
            wake.set()

    def _wake_all(self) -> None:
        for sessions in self._waiting.values():
            for wake in sessions:
                wake.set()

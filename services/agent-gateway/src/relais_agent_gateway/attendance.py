"""Who is at their desk: an agent whose last desk closed (or whose replica died) is set offline.

Without it an agent who closes the browser stays "available" for the router, which keeps offering them
conversations that time out one by one while the customer waits. Every replica records its sockets in
Redis and refreshes them; when an agent has had no socket on any replica for `RELAIS_DESK_GRACE_S`
(long enough for a reload or a reconnect), one of the replicas publishes `presence: offline` for them.
The desk sets its presence again when it reconnects.
"""

import hashlib
import json
import time
import uuid
from typing import cast

import structlog
from redis.asyncio import Redis

from relais_agent_gateway.auth import Agent
from relais_contracts import Outgoing, derive_key, now_time, topics
from relais_contracts.routing import PresenceChanged, PresenceChangedData
from relais_platform.kafka import Publishes
from relais_platform.settings import ServiceSettings

SOURCE = "relais/agent-gateway"
log = structlog.get_logger(__name__)


class Attendance:
    def __init__(
        self,
        redis: "Redis",
        settings: ServiceSettings,
        publisher: Publishes,
        *,
        grace_s: float,
        heartbeat_s: float,
    ) -> None:
        self._redis = redis
        self._key = settings.key
        self._publisher = publisher
        self._grace_s = grace_s
        self._heartbeat_s = heartbeat_s
        # A session not refreshed for three heartbeats died with its replica.
        self._stale_s = 3 * heartbeat_s
        self._mine: dict[str, str] = {}  # this replica's sessions: session id -> member

    @property
    def _sessions(self) -> str:
        return self._key("gw", "sessions")  # every replica's sockets, scored by when they go stale

    @property
    def _departures(self) -> str:
        return self._key("gw", "departures")  # agents with no socket left, scored by when they go offline

    def _agent_sessions(self, tenant: str, agent_id: str) -> str:
        return self._key("gw", tenant, "agent", agent_id, "sessions")

    async def arrive(self, agent: Agent) -> str:
        """Record a new socket of the agent; returns its session id."""
        session_id = uuid.uuid4().hex
        member = json.dumps([agent.tenant, agent.id, agent.name, session_id])
        async with self._redis.pipeline(transaction=True) as tx:
            tx.zadd(self._sessions, {member: time.time() + self._stale_s})
            tx.sadd(self._agent_sessions(agent.tenant, agent.id), session_id)
            tx.zrem(self._departures, json.dumps([agent.tenant, agent.id, agent.name]))
            await tx.execute()
        self._mine[session_id] = member
        return session_id

    async def leave(self, session_id: str) -> None:
        member = self._mine.pop(session_id)
        await self._forget(member)

    async def heartbeat(self) -> None:
        """Push back the staleness deadline of this replica's sockets (only those still recorded)."""
        if self._mine:
            deadline = time.time() + self._stale_s
            await self._redis.zadd(self._sessions, dict.fromkeys(self._mine.values(), deadline), xx=True)

    async def sweep(self) -> None:
        """Forget sockets of dead replicas, and set offline the agents whose grace has run out."""
        now = time.time()
        # The platform's client returns bytes (decode_responses=False).
        stale = cast(list[bytes], await self._redis.zrangebyscore(self._sessions, "-inf", now))
        for member in stale:
            await self._forget(member.decode())
        due = cast(
            list[tuple[bytes, float]],
            await self._redis.zrangebyscore(self._departures, "-inf", now, withscores=True),
        )
        for raw, due_at in due:
            # Every replica sweeps; the one that claims the departure acts on it. The claim expires, so a
            # replica dying before the removal leaves it to the next sweep (and the event's id, derived
            # from the departure, makes a second publication the same event for the router).
            digest = hashlib.sha256(raw).hexdigest()
            if not await self._redis.set(
                self._key("gw", "departure-claim", digest, repr(due_at)), 1, nx=True, ex=30
            ):
                continue
            tenant, agent_id, name = json.loads(raw)
            if not await self._redis.scard(self._agent_sessions(tenant, agent_id)):
                await self._publisher.publish([_offline(tenant, agent_id, name, due_at)])
                log.info("agent set offline: no desk open", tenant=tenant, agent_id=agent_id)
            await self._redis.zrem(self._departures, raw)

    async def _forget(self, member: str) -> None:
        tenant, agent_id, name, session_id = json.loads(member)
        async with self._redis.pipeline(transaction=True) as tx:
            tx.zrem(self._sessions, member)
            tx.srem(self._agent_sessions(tenant, agent_id), session_id)
            tx.scard(self._agent_sessions(tenant, agent_id))
            _, _, remaining = await tx.execute()
        log.info("desk closed", tenant=tenant, agent_id=agent_id, desks_left=remaining)
        if not remaining:
            departure = json.dumps([tenant, agent_id, name])
            await self._redis.zadd(self._departures, {departure: time.time() + self._grace_s})


def _offline(tenant: str, agent_id: str, name: str, due: float) -> Outgoing:
    event = PresenceChanged(
        id=derive_key(tenant, agent_id, "desk-left", repr(due)),
        source=SOURCE,
        time=now_time(),
        tenant=tenant,
        data=PresenceChangedData(agent_id=agent_id, name=name, presence="offline"),
    )
    return Outgoing(topics.ROUTING, tenant, event)

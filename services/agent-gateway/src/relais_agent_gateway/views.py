"""The Redis views every gateway replica shares: agent inboxes, open offers, conversation assignments,
and each offered conversation's customer (an agent's replies and notes are sealed in their key).

Nothing about an agent lives in a replica's memory, so any replica serves any agent and a session
resumes anywhere. Each view can be rebuilt by replaying the agents and conversations topics.
"""

import json
from collections.abc import Sequence
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from relais_agent_gateway.domain.inbox import InboxUpdate, OfferRecord
from relais_agent_gateway.inbox_hub import notice, notice_channel
from relais_platform.settings import ServiceSettings

# How long "event already pushed" is remembered, and an idle inbox kept: longer than any replay.
APPLIED_TTL_S = 7 * 24 * 3600
INBOX_MAXLEN = 1000
# Offers live seconds to minutes; the TTL only bounds a record whose rescind or assignment was missed.
OFFER_TTL_S = 24 * 3600
# Refreshed on every assignment; bounds the map for conversations whose end the gateway never sees.
ASSIGNMENT_TTL_S = 30 * 24 * 3600
# A desk resends an action whose ack it did not get (a reconnect) within minutes, with the same id.
PUBLISHED_TTL_S = 24 * 3600

# Marker and append in one script, so a replayed event (after a crash before the offset commit) is
# never pushed twice, and a crash cannot leave a marker without its entry.
# The notice on KEYS[3] wakes the replica holding the agent's socket (see inbox_hub).
_PUSH_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'm', ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[1])
  redis.call('PUBLISH', KEYS[3], ARGV[4])
  return 1
end
return 0
"""

# The conversation leaves its agent: forget the assignment only if it is still theirs (a transfer to
# another agent may already have written the new one).
_UNASSIGN = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('SREM', KEYS[2], ARGV[2])
return 0
"""

_ENTRY_FIELD = b"m"


class DeskViews:
    def __init__(self, redis: "Redis", settings: ServiceSettings) -> None:
        self._redis = redis
        self._settings = settings
        self._push_once = redis.register_script(_PUSH_ONCE)
        self._unassign = redis.register_script(_UNASSIGN)

    def inbox_key(self, tenant: str, agent_id: str) -> str:
        return self._settings.key("gw", tenant, "agent", agent_id, "inbox")

    def _offer_key(self, tenant: str, offer_id: str) -> str:
        return self._settings.key("gw", tenant, "offer", offer_id)

    def _assignment_key(self, tenant: str, conversation_id: str) -> str:
        return self._settings.key("gw", tenant, "conversation", conversation_id)

    def _customer_key(self, tenant: str, conversation_id: str) -> str:
        return self._settings.key("gw", tenant, "conversation", conversation_id, "customer")

    def _assigned_key(self, tenant: str, agent_id: str) -> str:
        return self._settings.key("gw", tenant, "agent", agent_id, "conversations")

    async def apply(self, tenant: str, event_id: str, update: InboxUpdate) -> None:
        await self.apply_all([(tenant, event_id, update)])

    async def apply_all(self, updates: Sequence[tuple[str, str, InboxUpdate]]) -> None:
        """Write the effects of events (tenant, event id, update), in order, in one round trip.

        Safe to repeat after a crash part-way: the state writes are idempotent and each push happens once.
        """
        async with self._redis.pipeline(transaction=False) as pipe:
            for tenant, event_id, update in updates:
                await self._queue(pipe, tenant, event_id, update)
            if pipe.command_stack:
                await pipe.execute()

    async def _queue(self, pipe: "Pipeline", tenant: str, event_id: str, update: InboxUpdate) -> None:
        if offer := update.open_offer:
            key = self._offer_key(tenant, offer.offer_id)
            pipe.hset(
                key,
                mapping={
                    "tenant": offer.tenant,
                    "agent_id": offer.agent_id,
                    "conversation_id": offer.conversation_id,
                },
            )
            pipe.expire(key, OFFER_TTL_S)
            if offer.customer_id:
                customer = self._customer_key(tenant, offer.conversation_id)
                pipe.set(customer, offer.customer_id, ex=ASSIGNMENT_TTL_S)
        if update.closed_offer:
            pipe.delete(self._offer_key(tenant, update.closed_offer))
        if update.assignment:
            conversation_id, agent_id = update.assignment
            pipe.set(self._assignment_key(tenant, conversation_id), agent_id, ex=ASSIGNMENT_TTL_S)
            pipe.sadd(self._assigned_key(tenant, agent_id), conversation_id)
            pipe.expire(self._assigned_key(tenant, agent_id), ASSIGNMENT_TTL_S)
        if update.unassignment:
            conversation_id, agent_id = update.unassignment
            await self._unassign(
                keys=[self._assignment_key(tenant, conversation_id), self._assigned_key(tenant, agent_id)],
                args=[agent_id, conversation_id],
                client=pipe,
            )
        if update.agent_id and update.message:
            await self._push_once(
                keys=[
                    self._settings.key("gw", tenant, "applied", event_id),
                    self.inbox_key(tenant, update.agent_id),
                    notice_channel(self._settings),
                ],
                args=[APPLIED_TTL_S, INBOX_MAXLEN, update.message.to_json(), notice(tenant, update.agent_id)],
                client=pipe,
            )

    async def erase_conversations(self, tenant: str, conversation_ids: Sequence[str]) -> int:
        """Right to erasure: drop every inbox entry (offers, messages, notes) of these conversations from
        every agent's inbox of the tenant, and their assignments. Returns the entries dropped.

        Erasures are rare and inboxes short (INBOX_MAXLEN), so scanning the tenant's inboxes is cheap
        next to keeping a conversation -> entries index on every push."""
        erased = set(conversation_ids)
        if not erased:
            return 0
        dropped = 0
        pattern = self.inbox_key(tenant, "*")
        async for raw_key in self._redis.scan_iter(match=pattern, count=500):
            entries = cast(list[Any], await self._redis.xrange(raw_key))
            doomed = [
                entry_id
                for entry_id, fields in entries
                if json.loads(fields[_ENTRY_FIELD]).get("conversation_id") in erased
            ]
            if doomed:
                dropped += int(await self._redis.xdel(raw_key, *doomed))
        found = await self.assignees([(tenant, c) for c in erased])
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.delete(*(self._customer_key(tenant, c) for c in erased))
            for (_, conversation_id), agent_id in found.items():
                await self._unassign(
                    keys=[
                        self._assignment_key(tenant, conversation_id),
                        self._assigned_key(tenant, agent_id),
                    ],
                    args=[agent_id, conversation_id],
                    client=pipe,
                )
            if pipe.command_stack:
                await pipe.execute()
        return dropped

    async def published(self, tenant: str, event_id: str) -> bool:
        """Whether the desk action that becomes this event was published already (a resend)."""
        return bool(await self._redis.exists(self._settings.key("gw", tenant, "published", event_id)))

    async def mark_published(self, tenant: str, event_id: str) -> None:
        await self._redis.set(
            self._settings.key("gw", tenant, "published", event_id), b"1", ex=PUBLISHED_TTL_S
        )

    async def assignees(self, conversations: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The agents these (tenant, conversation id) are assigned to, in one round trip."""
        if not conversations:
            return {}
        found = cast(
            list[bytes | None], await self._redis.mget([self._assignment_key(t, c) for t, c in conversations])
        )
        return {pair: agent.decode() for pair, agent in zip(conversations, found, strict=True) if agent}

    async def offer(self, tenant: str, offer_id: str) -> OfferRecord | None:
        # The platform's client returns bytes (decode_responses=False).
        fields = cast(dict[bytes, bytes], await self._redis.hgetall(self._offer_key(tenant, offer_id)))
        if not fields:
            return None
        return OfferRecord(
            offer_id=offer_id,
            tenant=fields[b"tenant"].decode(),
            agent_id=fields[b"agent_id"].decode(),
            conversation_id=fields[b"conversation_id"].decode(),
        )

    async def customer_of(self, tenant: str, conversation_id: str) -> str | None:
        """The customer of a conversation offered to an agent of this gateway (None: never offered)."""
        found = cast(bytes | None, await self._redis.get(self._customer_key(tenant, conversation_id)))
        return found.decode() if found is not None else None

    async def assignee(self, tenant: str, conversation_id: str) -> str | None:
        agent_id = cast(bytes | None, await self._redis.get(self._assignment_key(tenant, conversation_id)))
        return agent_id.decode() if agent_id is not None else None

    async def assigned(self, tenant: str, agent_id: str) -> list[str]:
        """The conversations assigned to the agent now, in a stable order."""
        members = cast(set[bytes], await self._redis.smembers(self._assigned_key(tenant, agent_id)))
        return sorted(m.decode() for m in members)

    async def inbox_end(self, tenant: str, agent_id: str) -> str:
        """Id of the last entry of the inbox ("0-0" if empty): reading after it gets only new entries."""
        last = cast(list[Any], await self._redis.xrevrange(self.inbox_key(tenant, agent_id), count=1))
        return str(last[0][0].decode()) if last else "0-0"

    async def read_inbox(
        self, tenant: str, agent_id: str, after: str, *, count: int
    ) -> list[tuple[str, bytes]]:
        """Up to `count` entries after `after`, without waiting; (stream id, message JSON) pairs."""
        # The platform's client speaks RESP2: [[stream key, [(id, {field: value}), ...]]].
        response = cast(
            list[Any], await self._redis.xread({self.inbox_key(tenant, agent_id): after}, count=count)
        )
        return [
            (entry_id.decode(), fields[_ENTRY_FIELD])
            for _stream, entries in response
            for entry_id, fields in entries
        ]

"""Conversation views in Redis: the address index, each conversation's state and its timeline.

Every view is derived from the conversation log and can be rebuilt by replaying it. An event is applied
at most once: its id is added to the conversation's applied set in the same script that writes it.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from relais_context_store.domain.timeline import ViewChange
from relais_platform.settings import ServiceSettings

# KEYS: conversation hash, timeline list, applied-id set.
# ARGV: event id, timeline entry JSON or "", then the field/value pairs to set.
_APPLY = """
if redis.call('SADD', KEYS[3], ARGV[1]) == 0 then return 0 end
if ARGV[2] ~= '' then redis.call('RPUSH', KEYS[2], ARGV[2]) end
if #ARGV > 2 then redis.call('HSET', KEYS[1], unpack(ARGV, 3)) end
return 1
"""


@dataclass(frozen=True)
class Applied:
    tenant: str
    conversation_id: str
    event_id: str
    change: ViewChange


class ConversationViews:
    def __init__(self, redis: "Redis", settings: ServiceSettings) -> None:
        self._redis = redis
        self._key = settings.key
        self._apply = redis.register_script(_APPLY)

    def _conversation(self, tenant: str, conversation_id: str) -> str:
        return self._key("cs", tenant, "conversation", conversation_id)

    def _address(self, tenant: str, channel: str, address: str) -> str:
        return self._key("cs", tenant, "address", channel, address)

    async def open_conversations(
        self, addresses: Iterable[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], str]:
        """The open conversation of each (tenant, channel, address) that has one."""
        wanted = list(dict.fromkeys(addresses))
        if not wanted:
            return {}
        found = await self._redis.mget([self._address(*a) for a in wanted])
        return {
            a: v.decode() if isinstance(v, bytes) else v
            for a, v in zip(wanted, found, strict=True)
            if v is not None
        }

    async def index_addresses(self, conversations: dict[tuple[str, str, str], str]) -> None:
        if conversations:
            await self._redis.mset({self._address(*a): cid for a, cid in conversations.items()})

    async def already_applied(self, events: Sequence[tuple[str, str, str]]) -> set[str]:
        """Which of these (tenant, conversation id, event id) are already in the views."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for tenant, conversation_id, event_id in events:
                pipe.sismember(f"{self._conversation(tenant, conversation_id)}:applied", event_id)
            flags = await pipe.execute()
        return {e[2] for e, flag in zip(events, flags, strict=True) if flag}

    async def last_channels(
        self, conversations: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[str, str]]:
        """(last channel, last address) of each (tenant, conversation id) known to the views."""
        wanted = list(dict.fromkeys(conversations))
        async with self._redis.pipeline(transaction=False) as pipe:
            for tenant, cid in wanted:
                pipe.hmget(self._conversation(tenant, cid), "last_channel", "last_address")
            rows = await pipe.execute()
        return {c: (r[0].decode(), r[1].decode()) for c, r in zip(wanted, rows, strict=True) if r[0] and r[1]}

    async def apply(self, changes: Sequence[Applied], offsets: dict[tuple[str, int], int]) -> None:
        """Apply view changes and record the consumed offsets, all in one MULTI/EXEC."""
        async with self._redis.pipeline(transaction=True) as pipe:
            for a in changes:
                key = self._conversation(a.tenant, a.conversation_id)
                fields = [x for kv in a.change.fields.items() for x in kv]
                entry = json.dumps(a.change.entry, separators=(",", ":")) if a.change.entry else ""
                await self._apply(
                    keys=[key, f"{key}:timeline", f"{key}:applied"],
                    args=[a.event_id, entry, *fields],
                    client=pipe,
                )
            for (topic, partition), offset in offsets.items():
                pipe.set(self._key("cs", "offset", topic, str(partition)), offset)
            await pipe.execute()

    async def conversation(self, tenant: str, conversation_id: str) -> dict[str, Any] | None:
        """A conversation's state and whole timeline, or None if this tenant has no such conversation."""
        key = self._conversation(tenant, conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.lrange(f"{key}:timeline", 0, -1)
            state, timeline = await pipe.execute()
        if not state:
            return None
        view: dict[str, Any] = {k.decode(): v.decode() for k, v in state.items()}
        if "handoff" in view:
            view["handoff"] = json.loads(view["handoff"])
        view["timeline"] = [json.loads(e) for e in timeline]
        return view

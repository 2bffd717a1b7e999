"""The bot's per-conversation state in Redis, written together with the ids of the events applied.

Each state expires `retention_s` after its last change (RELAIS_BOT_STATE_RETENTION_S): a conversation
silent that long is over for the bot, and an abandoned one does not hold memory for ever.
"""

from collections.abc import Iterable

from redis.asyncio import Redis

from relais_bot.domain.policy import BotState
from relais_platform.settings import ServiceSettings

Conversation = tuple[str, str]  # (tenant, conversation id)


class BotStates:
    def __init__(self, redis: "Redis", settings: ServiceSettings, retention_s: float | None = None) -> None:
        self._redis = redis
        self._key = settings.key
        self._prefix = settings.key("bot")
        self._retention_ms = int(retention_s * 1000) if retention_s else None

    def _state(self, c: Conversation) -> str:
        return self._key("bot", c[0], "conversation", c[1])

    async def load(self, conversations: Iterable[Conversation]) -> dict[Conversation, BotState]:
        wanted = list(dict.fromkeys(conversations))
        if not wanted:
            return {}
        raw = await self._redis.mget([self._state(c) for c in wanted])
        return {
            c: BotState.model_validate_json(r) if r else BotState(tenant=c[0], conversation_id=c[1])
            for c, r in zip(wanted, raw, strict=True)
        }

    async def applied(self, events: list[tuple[Conversation, str]]) -> set[str]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for c, event_id in events:
                pipe.sismember(f"{self._state(c)}:applied", event_id)
            flags = await pipe.execute()
        return {event_id for (_, event_id), flag in zip(events, flags, strict=True) if flag}

    async def save(
        self, states: dict[Conversation, BotState], applied: list[tuple[Conversation, str]]
    ) -> None:
        """New states and the ids they include, in one MULTI/EXEC: both or neither."""
        async with self._redis.pipeline(transaction=True) as pipe:
            for c, state in states.items():
                # The command itself: redis-py's `set` inspects its arguments on every call (a check for
                # experimental ones), which cost more than the rest of the save.
                expiry = ("PX", self._retention_ms) if self._retention_ms else ()
                pipe.execute_command("SET", self._state(c), state.model_dump_json(), *expiry)
            for c, event_id in applied:
                pipe.sadd(f"{self._state(c)}:applied", event_id)
            if self._retention_ms:
                for c in {c for c, _ in applied}:
                    pipe.pexpire(f"{self._state(c)}:applied", self._retention_ms)
            await pipe.execute()

    async def wipe(self) -> int:
        """Delete every state (before a replay of the log rebuilds them). Returns the keys deleted."""
        deleted = 0
        async for key in self._redis.scan_iter(match=f"{self._prefix}:*", count=1000):
            deleted += await self._redis.unlink(key)
        return deleted

    async def erase(self, tenant: str, conversation_ids: Iterable[str]) -> None:
        """Forget what the bot kept of an erased customer's conversations (their words included)."""
        keys = [self._state((tenant, c)) for c in conversation_ids]
        if keys:
            await self._redis.delete(*keys)

"""The bot's per-conversation state in Redis, written together with the ids of the events applied."""

from collections.abc import Iterable

from redis.asyncio import Redis

from relais_bot.domain.policy import BotState
from relais_platform.settings import ServiceSettings

Conversation = tuple[str, str]  # (tenant, conversation id)


class BotStates:
    def __init__(self, redis: "Redis", settings: ServiceSettings, retention_s: int = 30 * 24 * 3600) -> None:
        self._redis = redis
        self._key = settings.key
        self._retention_s = retention_s

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
                pipe.set(self._state(c), state.model_dump_json(), ex=self._retention_s)
            for c, event_id in applied:
                pipe.sadd(f"{self._state(c)}:applied", event_id)
                pipe.expire(f"{self._state(c)}:applied", self._retention_s)
            await pipe.execute()

    async def erase(self, tenant: str, conversation_ids: Iterable[str]) -> None:
        """Forget what the bot kept of an erased customer's conversations (their words included)."""
        keys = [self._state((tenant, c)) for c in conversation_ids]
        if keys:
            await self._redis.delete(*keys)

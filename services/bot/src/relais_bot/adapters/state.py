"""The bot's per-conversation state in Redis, written together with the ids of the events applied.

Each state expires `retention_s` after its last change (RELAIS_BOT_STATE_RETENTION_S): a conversation
silent that long is over for the bot, and an abandoned one does not hold memory for ever.
"""

from collections.abc import Iterable, Sequence

from redis.asyncio import Redis

from relais_bot.domain.policy import BotState
from relais_platform.settings import ServiceSettings

Conversation = tuple[str, str]  # (tenant, conversation id)

# Per conversation (ARGV: its state key, the number of event ids, the ids): {the state or false, the
# applied flag of each id}.
_READ = """
local out = {}
local i = 1
while i <= #ARGV do
  local key, n = ARGV[i], tonumber(ARGV[i + 1])
  out[#out + 1] = {
    redis.call('GET', key),
    redis.call('SMISMEMBER', key .. ':applied', unpack(ARGV, i + 2, i + 1 + n)),
  }
  i = i + 2 + n
end
return out
"""

# ARGV: the retention in ms (0: none), then per conversation its state key, the new state ("" when
# unchanged), the number of event ids applied and the ids. Each state and its applied set expire
# `retention` after this write (RELAIS_BOT_STATE_RETENTION_S).
_SAVE = """
local retention = tonumber(ARGV[1])
local i = 2
while i <= #ARGV do
  local key, state, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  if state ~= '' then
    if retention > 0 then
      redis.call('SET', key, state, 'PX', retention)
    else
      redis.call('SET', key, state)
    end
  end
  if n > 0 then
    redis.call('SADD', key .. ':applied', unpack(ARGV, i + 3, i + 2 + n))
    if retention > 0 then redis.call('PEXPIRE', key .. ':applied', retention) end
  end
  i = i + 3 + n
end
return 0
"""


def _states(wanted: list[Conversation], raw: Sequence[bytes | str | None]) -> dict[Conversation, BotState]:
    return {
        c: BotState.model_validate_json(r) if r else BotState(tenant=c[0], conversation_id=c[1])
        for c, r in zip(wanted, raw, strict=True)
    }


class BotStates:
    def __init__(self, redis: "Redis", settings: ServiceSettings, retention_s: float | None = None) -> None:
        self._redis = redis
        self._key = settings.key
        self._prefix = settings.key("bot")
        self._retention_ms = int(retention_s * 1000) if retention_s else None
        self._read = redis.register_script(_READ)
        self._save = redis.register_script(_SAVE)

    def _state(self, c: Conversation) -> str:
        return self._key("bot", c[0], "conversation", c[1])

    async def load_batch(
        self, events: Sequence[tuple[Conversation, str]]
    ) -> tuple[set[str], dict[Conversation, BotState]]:
        """The ids among `events` already applied, and the state of each of their conversations: one
        script, one command and one reply for the batch (not a command per event and a second trip)."""
        by_conversation: dict[Conversation, list[str]] = {}
        for c, event_id in events:
            by_conversation.setdefault(c, []).append(event_id)
        if not by_conversation:
            return set(), {}
        args: list[str | int] = []
        for c, ids in by_conversation.items():
            args += [self._state(c), len(ids), *ids]
        rows = await self._read(args=args)
        done = {
            event_id
            for ids, (_, flags) in zip(by_conversation.values(), rows, strict=True)
            for event_id, flag in zip(ids, flags, strict=True)
            if flag
        }
        return done, _states(list(by_conversation), [raw for raw, _ in rows])

    async def save(
        self, states: dict[Conversation, BotState], applied: list[tuple[Conversation, str]]
    ) -> None:
        """New states and the ids they include, in one script (atomic, as a MULTI/EXEC was: both or
        neither), with one reply for the batch instead of one per command."""
        ids: dict[Conversation, list[str]] = {c: [] for c in states}
        for c, event_id in applied:
            ids.setdefault(c, []).append(event_id)
        args: list[str | int] = [self._retention_ms or 0]
        for c, applied_ids in ids.items():
            state = states.get(c)
            args += [self._state(c), state.model_dump_json() if state else "", len(applied_ids), *applied_ids]
        if len(args) > 1:
            await self._save(args=args)

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

"""The webhooks' outbox in Redis: one ordered queue per integrator and customer address, and per
integrator a schedule of the queues due, so that one integrator's backlog never delays another's.

Keys (in the deployment's namespace): `channels:webhook:q:<queue>` (a list of records, oldest first),
`channels:webhook:s:<queue>` (the head's attempts and first attempt time), `channels:webhook:due:<id>`
(a sorted set of the integrator's queues by when to try them), `channels:webhook:lease:<queue>` (the
replica delivering the head), `channels:webhook:seen:<id>:<message id>` (a message is queued once).
The outbox is not a view a replay rebuilds: keep this Redis persistent (append-only file).
"""

import json
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from relais_channels.settings import ChannelsSettings

_ENQUEUE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  redis.call('ZADD', KEYS[3], 'NX', ARGV[4], ARGV[3])
  return 1
end
return 0
"""
# Done with the head (sent or given up): pop it if it is still the head, schedule the next one now.
_POP = """
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then redis.call('LPOP', KEYS[1]) end
redis.call('DEL', KEYS[2])
if redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[3], ARGV[2])
else
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
end
if redis.call('GET', KEYS[4]) == ARGV[4] then redis.call('DEL', KEYS[4]) end
"""
_RETRY = """
redis.call('HSET', KEYS[1], 'attempts', ARGV[1], 'first_at', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
if redis.call('GET', KEYS[3]) == ARGV[5] then redis.call('DEL', KEYS[3]) end
"""


@dataclass(frozen=True, slots=True)
class Queued:
    """The head of a queue: the outbound record as it was, where it came from, and its attempts."""

    raw: bytes  # what the queue holds, compared when popping
    event_json: bytes
    partition: int
    offset: int
    attempts: int
    first_at: float | None


class Outbox:
    def __init__(self, redis: Redis, settings: ChannelsSettings, owner: str) -> None:
        self._redis = redis
        self._settings = settings
        self._owner = owner
        self._enqueue = redis.register_script(_ENQUEUE)
        self._pop = redis.register_script(_POP)
        self._retry = redis.register_script(_RETRY)
        # Long enough that nobody else can think the message orphaned while one attempt is under way.
        self._lease_ms = int((settings.webhook_timeout_s + 10) * 1000)
        self._seen_ttl_s = int(settings.webhook_give_up_after_s + 86_400)

    def _key(self, *parts: str) -> str:
        return self._settings.key("channels", "webhook", *parts)

    async def enqueue(
        self, integrator: str, queue: str, message_id: str, event_json: bytes, partition: int, offset: int
    ) -> bool:
        """Queue a message once (False when it already was: a redelivered outbound record)."""
        record = json.dumps({"p": partition, "o": offset, "e": event_json.decode()})
        keys = [
            self._key("seen", integrator, message_id),
            self._key("q", queue),
            self._key("due", integrator),
        ]
        added = await self._enqueue(keys=keys, args=[record, self._seen_ttl_s, queue, time.time()])
        return bool(added)

    async def due(self, integrator: str, now: float, limit: int) -> list[str]:
        members = await self._redis.zrangebyscore(
            self._key("due", integrator), "-inf", now, start=0, num=limit
        )
        return [m.decode() if isinstance(m, bytes) else str(m) for m in members]

    async def claim(self, queue: str) -> bool:
        return bool(await self._redis.set(self._key("lease", queue), self._owner, nx=True, px=self._lease_ms))

    async def head(self, queue: str) -> Queued | None:
        raw = await self._redis.lindex(self._key("q", queue), 0)
        if raw is None:
            return None
        raw = raw if isinstance(raw, bytes) else raw.encode()
        state = await self._redis.hgetall(self._key("s", queue))
        record = json.loads(raw)
        first_at = state.get(b"first_at")
        return Queued(
            raw=raw,
            event_json=record["e"].encode(),
            partition=record["p"],
            offset=record["o"],
            attempts=int(state.get(b"attempts", 0)),
            first_at=float(first_at) if first_at is not None else None,
        )

    async def done(self, integrator: str, queue: str, head: Queued | None) -> None:
        keys = [
            self._key("q", queue),
            self._key("s", queue),
            self._key("due", integrator),
            self._key("lease", queue),
        ]
        await self._pop(keys=keys, args=[head.raw if head else b"", queue, time.time(), self._owner])

    async def retry(self, integrator: str, queue: str, attempts: int, first_at: float, at: float) -> None:
        keys = [self._key("s", queue), self._key("due", integrator), self._key("lease", queue)]
        await self._retry(keys=keys, args=[attempts, first_at, at, queue, self._owner])

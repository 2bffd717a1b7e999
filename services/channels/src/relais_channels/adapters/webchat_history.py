"""Each web chat visitor's history in Redis, and the notices that wake their sockets.

Keys (in the deployment's namespace): `channels:webchat:h:<tenant>:<visitor>` (a stream of the entries
the widget draws, its ids are the positions a reconnecting widget resumes from; capped and expiring),
`channels:webchat:seen:<tenant>:<entry id>` (an entry is appended once, however often its record is
read), `channels:webchat:conv:<conversation id>` (the visitor of a conversation, for the hand-over
notices, which name the conversation only). One Pub/Sub channel, `channels:webchat:notices`, carries
`[tenant, visitor]` each time a history grows: every replica listens once and wakes its own sockets.
"""

import json
from typing import Any, cast

from redis.asyncio import Redis

from relais_channels.settings import ChannelsSettings

# Once-only append, trim, expiry and the notice in one step: a record read twice (a redelivered batch)
# neither duplicates an entry nor leaves it unannounced.
_APPEND = """
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) then return false end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'e', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', KEYS[3], ARGV[2])
return id
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class WebchatHistory:
    def __init__(self, redis: Redis, settings: ChannelsSettings) -> None:
        self._redis = redis
        self._settings = settings
        self._append = redis.register_script(_APPEND)
        self.notices = settings.key("channels", "webchat", "notices")

    def _stream(self, tenant: str, visitor: str) -> str:
        return self._settings.key("channels", "webchat", "h", tenant, visitor)

    async def append(self, tenant: str, visitor: str, once: str, entry: dict[str, Any]) -> str | None:
        """Append the entry unless `once` was appended already; its position, or None if it was."""
        result = await self._append(
            keys=[
                self._stream(tenant, visitor),
                self._settings.key("channels", "webchat", "seen", tenant, once),
                self.notices,
            ],
            args=[
                json.dumps(entry, separators=(",", ":"), ensure_ascii=False),
                json.dumps([tenant, visitor], separators=(",", ":")),
                self._settings.webchat_history_ttl_s,
                self._settings.webchat_history_max,
            ],
        )
        return None if result is None else _text(result)

    async def read(self, tenant: str, visitor: str, after: str | None, count: int) -> list[tuple[str, Any]]:
        """Up to `count` entries after position `after` (from the start when None), oldest first."""
        start = f"({after}" if after else "-"
        rows = cast(
            list[tuple[bytes, dict[bytes, bytes]]],
            await self._redis.xrange(self._stream(tenant, visitor), min=start, max="+", count=count),
        )
        return [(_text(pos), json.loads(fields[b"e"])) for pos, fields in rows]

    async def remember_visitor(self, conversation_id: str, tenant: str, visitor: str) -> None:
        await self._redis.set(
            self._settings.key("channels", "webchat", "conv", conversation_id),
            json.dumps([tenant, visitor]),
            ex=self._settings.webchat_history_ttl_s,
        )

    async def visitor_of(self, conversation_id: str) -> tuple[str, str] | None:
        raw = await self._redis.get(self._settings.key("channels", "webchat", "conv", conversation_id))
        if raw is None:
            return None
        tenant, visitor = json.loads(raw)
        return str(tenant), str(visitor)

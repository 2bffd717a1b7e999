"""The customers' email threads in Redis: the last mail of each customer address, so that a reply goes
out `In-Reply-To` it. A lost entry only costs the threading of the next reply, never the reply."""

import json

from redis.asyncio import Redis

from relais_channels.domain.email import Thread
from relais_channels.settings import ChannelsSettings

_TTL_S = 90 * 86_400


class EmailThreads:
    def __init__(self, redis: Redis, settings: ChannelsSettings) -> None:
        self._redis = redis
        self._settings = settings

    def _key(self, tenant: str, address: str) -> str:
        return self._settings.key("channels", "email", "thread", tenant, address.lower())

    async def remember(self, tenant: str, address: str, thread: Thread) -> None:
        value = json.dumps({"id": thread.message_id, "refs": thread.references, "subject": thread.subject})
        await self._redis.set(self._key(tenant, address), value, ex=_TTL_S)

    async def recall(self, tenant: str, address: str) -> Thread | None:
        raw = await self._redis.get(self._key(tenant, address))
        if raw is None:
            return None
        value = json.loads(raw)
        return Thread(value["id"], tuple(value["refs"]), value["subject"])

"""The last hour of a tenant's routing figures, shared by every replica and every supervisor's page.

A sample is taken when a supervisor's page asks for the history and the last one is older than
`STEP_S`: figures exist only while someone watches, and cost nothing otherwise. Samples live in one
Redis sorted set per tenant, scored by time and trimmed to `WINDOW_S`.
"""

import json
import time
from typing import Any, cast

from redis.asyncio import Redis

from relais_platform.settings import ServiceSettings

WINDOW_S = 3600
STEP_S = 10


class History:
    def __init__(self, redis: "Redis", settings: ServiceSettings) -> None:
        self._redis = redis
        self._key = settings.key

    async def due(self, tenant: str) -> bool:
        """Whether a sample is due now; true for one caller per step, whichever replica it reaches."""
        claimed = await self._redis.set(self._key("gw", tenant, "history", "step"), b"1", nx=True, ex=STEP_S)
        return bool(claimed)

    async def record(self, tenant: str, figures: dict[str, Any], now: float | None = None) -> None:
        at = time.time() if now is None else now
        key = self._key("gw", tenant, "history")
        async with self._redis.pipeline(transaction=True) as tx:
            tx.zadd(key, {json.dumps({"t": at, **figures}, separators=(",", ":")): at})
            tx.zremrangebyscore(key, "-inf", at - WINDOW_S)
            tx.expire(key, 2 * WINDOW_S)
            await tx.execute()

    async def last_hour(self, tenant: str, now: float | None = None) -> list[dict[str, Any]]:
        at = time.time() if now is None else now
        key = self._key("gw", tenant, "history")
        found = cast(list[bytes], await self._redis.zrangebyscore(key, at - WINDOW_S, "+inf"))
        return [json.loads(raw) for raw in found]

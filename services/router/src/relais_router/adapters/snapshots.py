"""Partition snapshots and read views of the router in Redis.

A snapshot holds every tenant router of one routing-topic partition and the offset of the first
event it does not include; the partition's next owner loads it and replays the log from there.
"""

from dataclasses import dataclass

from pydantic import TypeAdapter
from redis.asyncio import Redis

from relais_router.domain import TenantRouter
from relais_router.domain.snapshot import TenantSnapshot, capture, restore
from relais_router.settings import RouterSettings


@dataclass
class PartitionSnapshot:
    offset: int  # the next offset to read: every event before it is in `tenants`
    tenants: dict[str, TenantSnapshot]


_SNAPSHOT: TypeAdapter[PartitionSnapshot] = TypeAdapter(PartitionSnapshot)


def encode(offset: int, routers: dict[str, TenantRouter]) -> bytes:
    """A partition's routers as of `offset`, as stored (JSON).

    Fields equal to their defaults are left out, since loading puts the defaults back: half the bytes
    and a third less encoding of the 50,000 waiting conversations of the benchmark, whose hand-off
    packets are mostly empty fields, while the partition waits for the snapshot.
    """
    snapshot = PartitionSnapshot(offset, {t: capture(r) for t, r in sorted(routers.items())})
    return _SNAPSHOT.dump_json(snapshot, exclude_defaults=True)


def decode(raw: bytes | str) -> tuple[int, dict[str, TenantRouter]]:
    snapshot = _SNAPSHOT.validate_json(raw)
    return snapshot.offset, {t: restore(s) for t, s in snapshot.tenants.items()}


class Snapshots:
    def __init__(self, redis: Redis, settings: RouterSettings) -> None:
        self._redis = redis
        self._settings = settings

    def _key(self, partition: int) -> str:
        return self._settings.key("router", "snapshot", str(partition))

    async def load(self, partition: int) -> tuple[int, dict[str, TenantRouter]] | None:
        raw = await self._redis.get(self._key(partition))
        return None if raw is None else decode(raw)

    async def save(self, partition: int, offset: int, routers: dict[str, TenantRouter]) -> int:
        """Save the partition's state as of `offset` in one write; returns its size in bytes."""
        raw = encode(offset, routers)
        await self._redis.set(self._key(partition), raw)
        return len(raw)


class Views:
    """Per-tenant JSON documents for the read API, written by the tenant's owner, read by any replica."""

    def __init__(self, redis: Redis, settings: RouterSettings) -> None:
        self._redis = redis
        self._settings = settings

    def _key(self, tenant: str) -> str:
        return self._settings.key("router", "view", tenant)

    async def save(self, views: dict[str, bytes]) -> None:
        if views:
            await self._redis.mset({self._key(t): v for t, v in views.items()})

    async def load(self, tenant: str) -> bytes | None:
        raw = await self._redis.get(self._key(tenant))
        return raw.encode() if isinstance(raw, str) else raw

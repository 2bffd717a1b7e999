"""Tenant routing states in Redis, with the per-event markers that make applying an event idempotent."""

from redis.asyncio import Redis

from relais_router.domain import RouterState
from relais_router.settings import RouterSettings


class TenantStates:
    """One JSON document per tenant; written together with the id of the event that produced it."""

    def __init__(self, redis: Redis, settings: RouterSettings) -> None:
        self._redis = redis
        self._settings = settings

    def _state_key(self, tenant: str) -> str:
        return self._settings.key("router", "tenant", tenant)

    def _applied_key(self, tenant: str, event_id: str) -> str:
        return self._settings.key("router", "applied", tenant, event_id)

    async def load(self, tenant: str) -> RouterState:
        """The tenant's state; an empty one for a tenant never seen."""
        raw = await self._redis.get(self._state_key(tenant))
        return RouterState(tenant=tenant) if raw is None else RouterState.model_validate_json(raw)

    async def was_applied(self, tenant: str, event_id: str) -> bool:
        return bool(await self._redis.exists(self._applied_key(tenant, event_id)))

    async def save(self, state: RouterState, event_id: str) -> None:
        """Write the state and mark the event applied, atomically (MULTI/EXEC)."""
        async with self._redis.pipeline(transaction=True) as tx:
            tx.set(self._state_key(state.tenant), state.model_dump_json())
            tx.set(self._applied_key(state.tenant, event_id), b"1", ex=self._settings.applied_marker_ttl_s)
            await tx.execute()

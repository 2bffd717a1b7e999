"""The gateway's reads from the other services' HTTP APIs, always under the caller's tenant.

The context store owns a conversation's timeline (across channels, redacted, with delivery reports,
emptied on erasure) and the router owns the routing views; the desk reads them through the gateway so
the gateway's token decides what a caller may see.
"""

import asyncio
import time
from typing import Any

import httpx
from cachetools import TTLCache
from fastapi import HTTPException

from relais_agent_gateway.settings import GatewaySettings

TENANT_HEADER = "X-Relais-Tenant"
_CATCHUP_POLL_S = 0.1
_REPLY_CHANNELS_CACHED = 10_000  # conversations
# A tenant's away reasons change with its routing configuration, rarely: every desk that connects
# would otherwise read the router's whole agents view for them.
_AWAY_REASONS_CACHED = 1_000  # tenants
_AWAY_REASONS_TTL_S = 60.0


class Upstream:
    def __init__(self, settings: GatewaySettings) -> None:
        # The gateway's own token (RELAIS_UPSTREAM_TOKEN): both APIs refuse callers without one.
        token = settings.upstream_token
        auth = {"Authorization": f"Bearer {token.get_secret_value()}"} if token is not None else {}
        self._http = httpx.AsyncClient(timeout=settings.upstream_timeout_s, headers=auth)
        self._context_store = settings.context_store_url.rstrip("/")
        self._router = settings.router_url.rstrip("/")
        self._catchup_s = settings.timeline_catchup_s
        self._reply_channels: TTLCache[tuple[str, str], frozenset[str]] = TTLCache(
            _REPLY_CHANNELS_CACHED, settings.reply_channels_cache_s
        )
        self._away_reasons: TTLCache[str, tuple[str, ...]] = TTLCache(
            _AWAY_REASONS_CACHED, _AWAY_REASONS_TTL_S
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def conversation(
        self, tenant: str, conversation_id: str, *, assigned_to: str | None
    ) -> dict[str, Any] | None:
        """The context store's conversation, or None when it does not know it.

        When it is assigned, waits (a little) until the context store's timeline shows the assignment:
        everything before it is then in the timeline, everything after reaches the desk live.
        """
        deadline = time.monotonic() + self._catchup_s
        while True:
            found = await self._get(f"{self._context_store}/v1/conversations/{conversation_id}", tenant)
            if assigned_to is None or time.monotonic() >= deadline or _shows_assignment(found, assigned_to):
                return found
            await asyncio.sleep(_CATCHUP_POLL_S)

    async def reaches(self, tenant: str, conversation_id: str, channel: str) -> bool | None:
        """Whether the customer has an address on `channel` (a reply there can be delivered), or None
        when the context store does not know the conversation (yet).

        Only a yes is taken from the cache: a no is asked again, so a channel the customer has just
        written on is never refused on a stale answer.
        """
        key = (tenant, conversation_id)
        if channel in self._reply_channels.get(key, ()):
            return True
        url = f"{self._context_store}/v1/conversations/{conversation_id}/reply-channels"
        found = await self._get(url, tenant)
        if found is None:
            return None
        channels = self._reply_channels[key] = frozenset(found["channels"])
        return channel in channels

    async def away_reasons(self, tenant: str) -> tuple[str, ...] | None:
        """The tenant's away reasons from the router's view (cached a minute); None when it cannot tell."""
        if tenant not in self._away_reasons:
            try:
                view = await self.routing(tenant, "agents")
            except HTTPException:
                view = {}  # remembered too: a router that hangs does not hold up every desk that connects
            self._away_reasons[tenant] = tuple(view.get("away_reasons", ()))
        return self._away_reasons[tenant] or None

    async def routing(self, tenant: str, view: str) -> dict[str, Any]:
        found = await self._get(f"{self._router}/v1/tenants/{tenant}/{view}", tenant)
        if found is None:
            raise HTTPException(404, f"the router has no view of tenant {tenant!r} yet")
        return found

    async def _get(self, url: str, tenant: str) -> dict[str, Any] | None:
        try:
            response = await self._http.get(url, headers={TENANT_HEADER: tenant})
        except httpx.HTTPError as exc:
            raise HTTPException(503, f"upstream unavailable: {type(exc).__name__}") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise HTTPException(502, f"upstream answered {response.status_code}")
        body: dict[str, Any] = response.json()
        return body


def _shows_assignment(conversation: dict[str, Any] | None, agent_id: str) -> bool:
    if conversation is None:
        return False
    return any(
        e.get("kind") == "assigned" and e.get("agent_id") == agent_id for e in conversation["timeline"]
    )

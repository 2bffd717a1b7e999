"""Read API of the router for the supervisor view, and the configuration reload.

The views are written to Redis by the instance that owns each tenant, every `view_interval_s`, so
any replica answers for any tenant; `as_of` says how fresh a view is.
"""

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, HTTPException, Path, Request

from relais_contracts import TENANT_MAX_LENGTH, TENANT_PATTERN
from relais_platform.runtime import require_admin
from relais_router.adapters.snapshots import Views
from relais_router.consumers import RoutingHandler
from relais_router.domain.view import TenantView

TenantId = Annotated[str, Path(min_length=1, max_length=TENANT_MAX_LENGTH, pattern=TENANT_PATTERN)]


async def _view(request: Request, tenant: TenantId) -> TenantView:
    raw = await cast(Views, request.app.state.views).load(tenant)
    if raw is None:
        raise HTTPException(404, f"no routing state for tenant {tenant!r} yet")
    return TenantView.model_validate_json(raw)


View = Annotated[TenantView, Depends(_view)]

router = APIRouter(prefix="/v1/tenants/{tenant}", tags=["routing"])


@router.get("/queues")
async def queues(view: View) -> dict[str, Any]:
    """Each queue: waiting, longest wait, service level, eligible agents, and its first waiting items."""
    return {"tenant": view.tenant, "as_of": view.as_of, "queues": view.queues}


@router.get("/agents")
async def agents(view: View) -> dict[str, Any]:
    """The tenant's agents with their routing state, capacity, load and skills; the away reasons they
    may choose; and the conversations whose response target was missed (the supervisor's alerts)."""
    return {
        "tenant": view.tenant,
        "as_of": view.as_of,
        "agents": view.agents,
        "away_reasons": view.away_reasons,
        "alerts": view.alerts,
    }


admin = APIRouter(prefix="/v1/admin", tags=["admin"])


@admin.post("/reload-config", dependencies=[Depends(require_admin)])
async def reload_config(request: Request) -> dict[str, Any]:
    """Read the routing configuration files now (admin bearer token); changed ones are applied through
    the routing topic."""
    handler = cast(RoutingHandler, request.app.state.routing)
    errors = await handler.publish_configs()
    if errors:
        raise HTTPException(422, {"message": "some configuration files were rejected", "errors": errors})
    return {"reloaded": True}

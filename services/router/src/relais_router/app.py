"""Composition root of the router: the routing consumer, the read API and the ops endpoints."""

from fastapi import FastAPI

from relais_contracts import topics
from relais_platform.runtime import Runtime
from relais_router import api
from relais_router.adapters.tenant_states import TenantStates
from relais_router.consumers import RoutingHandler
from relais_router.settings import RouterSettings

SERVICE = "router"


def create_app(settings: RouterSettings) -> FastAPI:
    runtime = Runtime(settings, SERVICE)
    states = TenantStates(runtime.redis, settings)
    handler = RoutingHandler(states, runtime.publisher)
    runtime.consume("routing", [topics.ROUTING], handler, on_revoked=handler.on_revoked)

    app = runtime.app("Relais router")
    app.state.tenant_states = states
    app.include_router(api.router)
    return app

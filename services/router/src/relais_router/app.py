"""Composition root of the router: the routing consumer, its timers, the read API and the ops endpoints."""

from fastapi import FastAPI

from relais_contracts import topics
from relais_platform.runtime import Runtime
from relais_platform.tenants import TenantGate
from relais_platform.views_marker import SelfHealing, ViewsMarker
from relais_router import api
from relais_router.access import ACCESS
from relais_router.adapters.snapshots import Snapshots, Views
from relais_router.consumers import RoutingHandler
from relais_router.settings import RouterSettings

SERVICE = "router"


def create_app(settings: RouterSettings) -> FastAPI:
    runtime = Runtime(settings, SERVICE)
    views = Views(runtime.redis, settings)
    handler = RoutingHandler(settings, Snapshots(runtime.redis, settings), views, runtime.publisher)

    # The routers live in memory; Redis holds their snapshots and read views. When Redis loses them
    # (docs/operations.md, "Recovery"), each replica writes its own partitions' again at once.
    async def resave_after_restart() -> bool:
        await handler.resave()  # the last writes before the restart may be lost: write them again
        return False

    healing = SelfHealing(
        ViewsMarker(runtime.redis, settings, SERVICE),
        handler.resave,
        service=SERVICE,
        follow=handler.resave,  # another replica noticed first: this one's partitions are its own
        restarted=resave_after_restart,
        stopping=runtime.stopping,
    )

    async def check_views() -> None:
        await healing.ensure()

    runtime.consume(
        "routing",
        [topics.ROUTING],
        TenantGate(settings, runtime.publisher, SERVICE).guard("routing", healing.guard(handler)),
        on_assigned=handler.on_assigned,
        on_revoked=handler.on_revoked,
        on_dead_lettered=handler.on_dead_lettered,
    )
    runtime.every("views-marker", settings.view_interval_s, check_views)
    runtime.every("routing-timers", settings.tick_interval_s, handler.fire_timers)
    runtime.every("routing-views", settings.view_interval_s, handler.refresh_views)
    if settings.routing_config_dir is not None:
        runtime.every("routing-config", settings.routing_config_poll_s, handler.reload_configs)
    runtime.on_stopped(handler.save_all)

    app = runtime.app("Relais router", ACCESS)
    app.state.views = views
    app.state.routing = handler
    app.include_router(api.router)
    app.include_router(api.admin)
    return app

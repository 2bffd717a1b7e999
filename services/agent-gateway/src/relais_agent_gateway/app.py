"""The agent gateway's composition root: `create_app(settings)` wires Redis views, Kafka and the API."""

from fastapi import FastAPI

from relais_agent_gateway import api
from relais_agent_gateway.attendance import Attendance
from relais_agent_gateway.auth import TokenAuthority
from relais_agent_gateway.consumers import TOPICS, InboxProjector
from relais_agent_gateway.settings import GatewaySettings
from relais_agent_gateway.upstream import Upstream
from relais_agent_gateway.views import DeskViews
from relais_platform.runtime import Runtime
from relais_platform.sealing import customer_keys

SERVICE = "agent-gateway"


def create_app(settings: GatewaySettings) -> FastAPI:
    runtime = Runtime(settings, SERVICE)
    views = DeskViews(runtime.redis, settings)
    # One group name for every replica: each event is projected into Redis once, not once per replica.
    runtime.consume("inbox", TOPICS, InboxProjector(views).handle)

    app = runtime.app("Relais agent gateway")
    app.state.views = views
    app.state.tokens = TokenAuthority(settings)
    app.state.keys = customer_keys(runtime.redis, settings)
    upstream = Upstream(settings)
    runtime.on_stopped(upstream.close)
    app.state.upstream = upstream
    attendance = Attendance(
        runtime.redis,
        settings,
        runtime.publisher,
        grace_s=settings.desk_grace_s,
        heartbeat_s=settings.desk_heartbeat_s,
    )
    runtime.every("desk-heartbeat", settings.desk_heartbeat_s, attendance.heartbeat)
    # Sweeping more often than the grace keeps "offline" close to the grace, without busy polling.
    runtime.every(
        "desk-sweep", min(settings.desk_heartbeat_s, max(settings.desk_grace_s / 4, 0.2)), attendance.sweep
    )
    app.state.attendance = attendance
    app.include_router(api.agents)
    app.include_router(api.supervisors)
    if settings.dev_login_enabled:
        app.include_router(api.dev)
    return app

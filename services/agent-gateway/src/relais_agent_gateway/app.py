"""The agent gateway's composition root: `create_app(settings)` wires Redis views, Kafka and the API."""

from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.base import RequestResponseEndpoint

from relais_agent_gateway import api
from relais_agent_gateway.attendance import Attendance
from relais_agent_gateway.auth import TokenAuthority
from relais_agent_gateway.consumers import TOPICS, InboxProjector
from relais_agent_gateway.history import History
from relais_agent_gateway.inbox_hub import InboxHub
from relais_agent_gateway.settings import GatewaySettings
from relais_agent_gateway.upstream import Upstream
from relais_agent_gateway.views import DeskViews
from relais_platform.runtime import Runtime
from relais_platform.sealing import customer_keys

SERVICE = "agent-gateway"
STATIC = Path(__file__).parent / "static"
# The pages run only their own scripts, talk only to this gateway, and cannot be framed: customer text
# that got past the rendering (it does not: textContent only) still could not run or leak anything.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_PAGES = ("/desk", "/supervisor", "/static")


def create_app(settings: GatewaySettings) -> FastAPI:
    runtime = Runtime(settings, SERVICE)
    views = DeskViews(runtime.redis, settings)
    # One group name for every replica: each event is projected into Redis once, not once per replica.
    runtime.consume("inbox", TOPICS, InboxProjector(views).handle)

    app = runtime.app("Relais agent gateway")
    app.state.views = views
    hub = InboxHub(runtime.redis, settings)
    runtime.background("inbox-notices", hub.run)
    app.state.hub = hub
    app.state.tokens = TokenAuthority(settings)
    app.state.history = History(runtime.redis, settings)
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
    _serve_pages(app)
    if settings.dev_login_enabled:
        app.include_router(api.dev)
    return app


def _serve_pages(app: FastAPI) -> None:
    """The agent desk and the supervisor page: static files, no build step."""
    app.mount("/desk", StaticFiles(directory=STATIC / "desk", html=True), name="desk")
    app.mount("/supervisor", StaticFiles(directory=STATIC / "supervisor", html=True), name="supervisor")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/desk/")

    @app.middleware("http")
    async def page_headers(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        if request.url.path.startswith(_PAGES):
            response.headers.update(PAGE_HEADERS)
        return response

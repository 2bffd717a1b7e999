"""HTTP and WebSocket endpoints of the agent gateway."""

import re
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, HTTPException, Path, WebSocket
from fastapi.requests import HTTPConnection
from pydantic import BaseModel, Field

from relais_agent_gateway.attendance import Attendance
from relais_agent_gateway.auth import Agent, CurrentAgent, InvalidToken, Role, Tokens, require_role
from relais_agent_gateway.inbox_hub import InboxHub
from relais_agent_gateway.session import DeskSession
from relais_agent_gateway.settings import GatewaySettings
from relais_agent_gateway.upstream import Upstream
from relais_agent_gateway.views import DeskViews
from relais_contracts import TENANT_MAX_LENGTH, TENANT_PATTERN
from relais_platform.runtime import Runtime
from relais_platform.sealing import CustomerKeys

CLOSE_INVALID_TOKEN = 4401
# The desk offers two WebSocket subprotocols: this one, which the gateway selects, and `bearer.<JWT>`,
# which carries the token (browsers cannot set headers on a WebSocket, and a URL ends up in logs).
SUBPROTOCOL = "relais.agent"
TOKEN_SUBPROTOCOL_PREFIX = "bearer."  # noqa: S105 (a prefix, not a secret)
CLOSE_BAD_REQUEST = 4400
# A Redis stream id ("1700000000000-0", or its millisecond part alone) or "$" (only new entries).
_STREAM_POSITION = re.compile(r"\$|\d{1,20}(-\d{1,20})?")


def _views(conn: HTTPConnection) -> DeskViews:
    return cast(DeskViews, conn.app.state.views)


def _runtime(conn: HTTPConnection) -> Runtime:
    return cast(Runtime, conn.app.state.runtime)


def _upstream(conn: HTTPConnection) -> Upstream:
    return cast(Upstream, conn.app.state.upstream)


def _settings(conn: HTTPConnection) -> GatewaySettings:
    return cast(GatewaySettings, conn.app.state.runtime.settings)


Views = Annotated[DeskViews, Depends(_views)]
RuntimeDep = Annotated[Runtime, Depends(_runtime)]
UpstreamDep = Annotated[Upstream, Depends(_upstream)]
Settings = Annotated[GatewaySettings, Depends(_settings)]
ConversationId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")]

agents = APIRouter(tags=["agents"])


@agents.get("/v1/me")
async def me(agent: CurrentAgent) -> Agent:
    """The agent the bearer token names."""
    return agent


@agents.get("/v1/dispositions")
async def dispositions(agent: CurrentAgent, settings: Settings) -> list[str]:
    """The wrap-up codes an agent may close a conversation with."""
    return list(settings.dispositions)


@agents.get("/v1/conversations/{conversation_id}", responses={404: {"description": "not yours, or unknown"}})
async def conversation(
    conversation_id: ConversationId, agent: CurrentAgent, views: Views, upstream: UpstreamDep
) -> dict[str, Any]:
    """The conversation with its whole timeline across channels, from the context store.

    Only for the agent it is assigned to, or a supervisor of the tenant; anything else (another
    agent's, another tenant's, unknown) is the same 404, so ids cannot be probed.
    """
    assignee = await views.assignee(agent.tenant, conversation_id)
    if assignee != agent.id and "supervisor" not in agent.roles:
        raise HTTPException(404, f"no conversation {conversation_id!r} assigned to you")
    found = await upstream.conversation(agent.tenant, conversation_id, assigned_to=assignee)
    if found is None:
        raise HTTPException(404, f"no conversation {conversation_id!r} assigned to you")
    return found


@agents.websocket("/v1/agent/ws")
async def agent_socket(
    websocket: WebSocket,
    tokens: Tokens,
    views: Views,
    runtime: RuntimeDep,
    after: str | None = None,
) -> None:
    """The agent desk's session; protocol in `relais_agent_gateway.protocol`."""
    offered: list[str] = websocket.scope.get("subprotocols", [])
    token = next(
        (p.removeprefix(TOKEN_SUBPROTOCOL_PREFIX) for p in offered if p.startswith(TOKEN_SUBPROTOCOL_PREFIX)),
        "",
    )
    # Accepted before checking, because a close code can only be sent on an accepted socket and the
    # desk needs 4401 to tell "log in again" from a network failure. The token subprotocol is never the
    # one selected: it is not echoed back.
    await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    if "token" in websocket.query_params:
        # Refused even when valid: a URL is kept by proxies, access logs and browser history.
        await websocket.close(CLOSE_INVALID_TOKEN, "a token in the URL is refused: send it as a subprotocol")
        return
    try:
        agent = await tokens.verify(token)
    except InvalidToken:
        await websocket.close(CLOSE_INVALID_TOKEN, "invalid or expired token")
        return
    if after is not None and not _STREAM_POSITION.fullmatch(after):
        await websocket.close(CLOSE_BAD_REQUEST, "after must be a seq from this inbox")
        return
    settings = cast(GatewaySettings, runtime.settings)
    session = DeskSession(
        websocket,
        agent,
        views=views,
        publisher=runtime.publisher,
        tokens=tokens,
        keys=cast(CustomerKeys, websocket.app.state.keys),
        hub=cast(InboxHub, websocket.app.state.hub),
        upstream=cast(Upstream, websocket.app.state.upstream),
        dispositions=settings.dispositions,
    )
    attendance = cast(Attendance, websocket.app.state.attendance)
    session_id = await attendance.arrive(agent)
    try:
        await session.run(None if after == "$" else after)
    finally:
        await attendance.leave(session_id)


class DevLogin(BaseModel):
    tenant: str = Field(min_length=1, max_length=TENANT_MAX_LENGTH, pattern=TENANT_PATTERN)
    agent_id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    roles: tuple[Role, ...] = Field(default=("agent",), min_length=1)
    skills: dict[Annotated[str, Field(min_length=1, max_length=64)], Annotated[int, Field(ge=1, le=5)]] = (
        Field(default_factory=dict, max_length=100)
    )
    languages: tuple[Annotated[str, Field(min_length=2, max_length=16)], ...] = Field(
        default=(), max_length=50
    )


class IssuedToken(BaseModel):
    token: str
    expires_at: int


dev = APIRouter(tags=["dev"])


@dev.post("/v1/dev/login")
async def dev_login(body: DevLogin, tokens: Tokens) -> IssuedToken:
    """A token for any agent of any tenant, without a password: mounted only in env "dev"."""
    token = tokens.issue(
        tenant=body.tenant,
        agent_id=body.agent_id,
        name=body.name,
        roles=body.roles,
        skills=body.skills,
        languages=body.languages,
    )
    return IssuedToken(token=token, expires_at=tokens.expires_at(token))


supervisors = APIRouter(prefix="/v1/supervisor", tags=["supervisor"])


Supervisor = Annotated[Agent, require_role("supervisor")]


@supervisors.get("/queues")
async def queues(agent: Supervisor, upstream: UpstreamDep) -> dict[str, Any]:
    """The router's live view of the tenant's queues: waiting, longest wait, service level, offers."""
    return await upstream.routing(agent.tenant, "queues")


@supervisors.get("/agents")
async def agents_view(agent: Supervisor, upstream: UpstreamDep) -> dict[str, Any]:
    """The router's live view of the tenant's agents: state, capacity, load, skills."""
    return await upstream.routing(agent.tenant, "agents")

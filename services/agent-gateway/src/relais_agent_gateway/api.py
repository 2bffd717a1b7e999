"""HTTP and WebSocket endpoints of the agent gateway."""

import re
import uuid
from collections.abc import Callable
from typing import Annotated, Any, cast

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, HTTPException, Path, WebSocket, status
from fastapi.requests import HTTPConnection
from pydantic import BaseModel, Field

from relais_agent_gateway.attendance import Attendance
from relais_agent_gateway.auth import Agent, CurrentAgent, InvalidToken, Role, Tokens, require_role
from relais_agent_gateway.domain import figures, supervision
from relais_agent_gateway.domain.supervision import (
    Conflict,
    Invalid,
    MoveRequest,
    PresenceRequest,
    Routing,
    TakeBackRequest,
    Unknown,
    WhisperRequest,
)
from relais_agent_gateway.history import STEP_S, WINDOW_S, History
from relais_agent_gateway.inbox_hub import InboxHub
from relais_agent_gateway.session import DeskSession
from relais_agent_gateway.settings import GatewaySettings
from relais_agent_gateway.upstream import Upstream
from relais_agent_gateway.views import DeskViews
from relais_contracts import TENANT_MAX_LENGTH, TENANT_PATTERN, Outgoing, now_time
from relais_platform.runtime import Runtime
from relais_platform.sealing import CustomerKeys, seal_replies

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
AgentId = Annotated[str, Path(min_length=1, max_length=200)]

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
    """The router's live view of the tenant's agents: state, capacity, load, skills, conversations."""
    return await upstream.routing(agent.tenant, "agents")


@supervisors.get("/history")
async def history(agent: Supervisor, upstream: UpstreamDep, conn: HTTPConnection) -> dict[str, Any]:
    """The last hour of the tenant's figures for the charts, oldest first: per queue waiting, longest
    wait and service level, and the occupancy of the agents at work; a new sample every 10 s at most."""
    store = cast(History, conn.app.state.history)
    if await store.due(agent.tenant):
        try:
            queues_view = await upstream.routing(agent.tenant, "queues")
            agents_view = await upstream.routing(agent.tenant, "agents")
        except HTTPException:
            pass  # no figures now (no routing yet, router unreachable): the hour so far still shows
        else:
            await store.record(agent.tenant, figures.sample(queues_view, agents_view))
    return {"window_s": WINDOW_S, "step_s": STEP_S, "samples": await store.last_hour(agent.tenant)}


class Published(BaseModel):
    event_id: str  # the event on the log; the router's decision follows on the conversation's log


_ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such conversation or agent in your tenant"},
    409: {"description": "not possible in the conversation's or agent's state now"},
    422: {"description": "a queue, agent or away reason the tenant does not have, or a malformed body"},
    503: {"description": "the log or the routing views cannot be reached: try again"},
}


async def _routing_of(
    supervisor: Agent, upstream: Upstream, views: DeskViews, conversation_id: str | None = None
) -> Routing:
    """The routing state the checks of an action need, read under the supervisor's tenant."""
    tenant = supervisor.tenant
    state = None
    if conversation_id is not None:
        found = await upstream.conversation(tenant, conversation_id, assigned_to=None)
        state = str(found.get("state")) if found is not None else None
    agents_view = await upstream.routing(tenant, "agents")
    queues_view = await upstream.routing(tenant, "queues")
    return Routing(
        state=state,
        assignee=await views.assignee(tenant, conversation_id) if conversation_id else None,
        queues=frozenset(q["queue"] for q in queues_view.get("queues", ())),
        agents=frozenset(a["agent_id"] for a in agents_view.get("agents", ())),
        away_reasons=tuple(agents_view.get("away_reasons", ())),
    )


async def _publish(runtime: Runtime, outgoing: Outgoing) -> Published:
    try:
        await runtime.publisher.publish([outgoing])
    except (KafkaError, OSError, TimeoutError) as exc:
        raise HTTPException(503, f"not published, try again: {type(exc).__name__}") from None
    return Published(event_id=outgoing.event.id)


def _decided(decision: Callable[..., Outgoing], *args: Any) -> Outgoing:
    """A supervision decision, given a new event id and the time; a refusal becomes its 4xx."""
    try:
        return decision(*args, event_id=str(uuid.uuid4()), time=now_time())
    except (Unknown, Conflict, Invalid) as exc:
        code = 404 if isinstance(exc, Unknown) else 409 if isinstance(exc, Conflict) else 422
        raise HTTPException(code, str(exc)) from None


@supervisors.post(
    "/conversations/{conversation_id}/move", status_code=status.HTTP_202_ACCEPTED, responses=_ACTION_ERRORS
)
async def move(
    conversation_id: ConversationId,
    body: MoveRequest,
    supervisor: Supervisor,
    upstream: UpstreamDep,
    views: Views,
    runtime: RuntimeDep,
) -> Published:
    """Move a conversation (waiting, offered or with an agent) to another queue or to a named agent."""
    routing = await _routing_of(supervisor, upstream, views, conversation_id)
    decided = _decided(supervision.move_requested, supervisor, conversation_id, body, routing)
    return await _publish(runtime, decided)


@supervisors.post(
    "/conversations/{conversation_id}/take-back",
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ACTION_ERRORS,
)
async def take_back(
    conversation_id: ConversationId,
    body: TakeBackRequest,
    supervisor: Supervisor,
    upstream: UpstreamDep,
    views: Views,
    runtime: RuntimeDep,
) -> Published:
    """Take a conversation from its agent (a silent one, say) and route it again to someone else."""
    routing = await _routing_of(supervisor, upstream, views, conversation_id)
    decided = _decided(supervision.take_back_requested, supervisor, conversation_id, body, routing)
    return await _publish(runtime, decided)


@supervisors.post(
    "/agents/{agent_id}/presence", status_code=status.HTTP_202_ACCEPTED, responses=_ACTION_ERRORS
)
async def set_presence(
    agent_id: AgentId,
    body: PresenceRequest,
    supervisor: Supervisor,
    upstream: UpstreamDep,
    views: Views,
    runtime: RuntimeDep,
) -> Published:
    """Set an agent away (with one of the tenant's away reasons) or offline; their desk is told by whom."""
    routing = await _routing_of(supervisor, upstream, views)
    return await _publish(runtime, _decided(supervision.presence_set, supervisor, agent_id, body, routing))


@supervisors.post(
    "/conversations/{conversation_id}/whisper", status_code=status.HTTP_202_ACCEPTED, responses=_ACTION_ERRORS
)
async def whisper(
    conversation_id: ConversationId,
    body: WhisperRequest,
    supervisor: Supervisor,
    views: Views,
    runtime: RuntimeDep,
    conn: HTTPConnection,
) -> Published:
    """A note to the agent holding the conversation, shown on their desk only; never sent to the customer."""
    tenant = supervisor.tenant
    assignee = await views.assignee(tenant, conversation_id)
    written = _decided(supervision.whisper_added, supervisor, conversation_id, body, assignee)
    customer = await views.customer_of(tenant, conversation_id)
    if customer is not None:  # sealed in the customer's key, like the agent's notes
        keys = cast(CustomerKeys, conn.app.state.keys)
        (written,) = await seal_replies(keys, [written], {(tenant, conversation_id): customer})
    return await _publish(runtime, written)

"""HTTP and WebSocket endpoints of the agent gateway."""

import re
from typing import Annotated, cast

from fastapi import APIRouter, Depends, WebSocket
from fastapi.requests import HTTPConnection
from pydantic import BaseModel, Field

from relais_agent_gateway.auth import Agent, CurrentAgent, InvalidToken, Role, Tokens
from relais_agent_gateway.session import DeskSession
from relais_agent_gateway.views import DeskViews
from relais_contracts import TENANT_MAX_LENGTH, TENANT_PATTERN
from relais_platform.runtime import Runtime

CLOSE_INVALID_TOKEN = 4401
CLOSE_BAD_REQUEST = 4400
# A Redis stream id ("1700000000000-0", or its millisecond part alone) or "$" (only new entries).
_STREAM_POSITION = re.compile(r"\$|\d{1,20}(-\d{1,20})?")


def _views(conn: HTTPConnection) -> DeskViews:
    return cast(DeskViews, conn.app.state.views)


def _runtime(conn: HTTPConnection) -> Runtime:
    return cast(Runtime, conn.app.state.runtime)


Views = Annotated[DeskViews, Depends(_views)]
RuntimeDep = Annotated[Runtime, Depends(_runtime)]

agents = APIRouter(tags=["agents"])


@agents.get("/v1/me")
async def me(agent: CurrentAgent) -> Agent:
    """The agent the bearer token names."""
    return agent


@agents.websocket("/v1/agent/ws")
async def agent_socket(
    websocket: WebSocket,
    tokens: Tokens,
    views: Views,
    runtime: RuntimeDep,
    token: str | None = None,
    after: str | None = None,
) -> None:
    """The agent desk's session; protocol in `relais_agent_gateway.protocol`."""
    # Accepted before checking, because a close code can only be sent on an accepted socket and the
    # desk needs 4401 to tell "log in again" from a network failure.
    await websocket.accept()
    try:
        agent = tokens.verify(token or "")
    except InvalidToken:
        await websocket.close(CLOSE_INVALID_TOKEN, "invalid or expired token")
        return
    if after is not None and not _STREAM_POSITION.fullmatch(after):
        await websocket.close(CLOSE_BAD_REQUEST, "after must be a seq from this inbox")
        return
    await DeskSession(websocket, agent, views, runtime.publisher).run(None if after == "$" else after)


class DevLogin(BaseModel):
    tenant: str = Field(min_length=1, max_length=TENANT_MAX_LENGTH, pattern=TENANT_PATTERN)
    agent_id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    roles: tuple[Role, ...] = Field(default=("agent",), min_length=1)


class IssuedToken(BaseModel):
    token: str


dev = APIRouter(tags=["dev"])


@dev.post("/v1/dev/login")
async def dev_login(body: DevLogin, tokens: Tokens) -> IssuedToken:
    """A token for any agent of any tenant, without a password: mounted only in env "dev"."""
    return IssuedToken(
        token=tokens.issue(tenant=body.tenant, agent_id=body.agent_id, name=body.name, roles=body.roles)
    )

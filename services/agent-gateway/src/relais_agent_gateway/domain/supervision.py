"""The events a supervisor's actions become, and the checks that make a refusal precise.

The supervisor comes from the token, never from the request body: every event names them as its actor
(`by`), so the routing and conversation logs are the audit trail. What the checks need to know of the
routing state (the conversation's state in the context store, the router's queues, agents and away
reasons) the shell reads and passes in.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from relais_agent_gateway.auth import Agent
from relais_contracts import Outgoing, topics
from relais_contracts.conversation import Actor, WhisperAdded, WhisperData
from relais_contracts.routing import (
    SupervisorMoveData,
    SupervisorMoveRequested,
    SupervisorPresenceData,
    SupervisorPresenceSet,
    SupervisorTakeBackData,
    SupervisorTakeBackRequested,
)

SOURCE = "relais/agent-gateway"
# Conversation states (the context store's) in which the router holds a conversation.
ROUTED = frozenset({"waiting", "offered", "assigned"})


class Unknown(LookupError):
    """No such conversation or agent in the supervisor's tenant (404)."""


class Conflict(Exception):
    """The action does not fit the conversation's or agent's state now (409)."""


class Invalid(ValueError):
    """The request names something the tenant does not have (422)."""


_MODEL = ConfigDict(frozen=True, extra="forbid")


class MoveRequest(BaseModel):
    model_config = _MODEL
    to_queue: str | None = Field(default=None, min_length=1, max_length=64)
    to_agent_id: str | None = Field(default=None, min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _somewhere(self) -> "MoveRequest":
        if self.to_queue is None and self.to_agent_id is None:
            raise ValueError("a move needs to_queue or to_agent_id")
        return self


class TakeBackRequest(BaseModel):
    model_config = _MODEL
    note: str | None = Field(default=None, max_length=2000)


class PresenceRequest(BaseModel):
    model_config = _MODEL
    presence: Literal["away", "offline"]
    away_reason: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _reason_with_away(self) -> "PresenceRequest":
        if self.away_reason is not None and self.presence != "away":
            raise ValueError("an away reason goes with presence 'away' only")
        return self


class WhisperRequest(BaseModel):
    model_config = _MODEL
    text: str = Field(min_length=1, max_length=5000)


@dataclass(frozen=True, slots=True)
class Routing:
    """What the checks need of the tenant's routing state, as the shell read it."""

    state: str | None  # the conversation's state in the context store (None: unknown)
    assignee: str | None = None  # the agent holding it
    queues: frozenset[str] = frozenset()
    agents: frozenset[str] = frozenset()
    away_reasons: tuple[str, ...] = ()


def actor(supervisor: Agent) -> Actor:
    return Actor(id=supervisor.id, name=supervisor.name)


def move_requested(
    supervisor: Agent,
    conversation_id: str,
    request: MoveRequest,
    routing: Routing,
    *,
    event_id: str,
    time: datetime,
) -> Outgoing:
    _check_routed(conversation_id, routing)
    if request.to_queue is not None and request.to_queue not in routing.queues:
        raise Invalid(f"no queue {request.to_queue!r}: one of {', '.join(sorted(routing.queues)) or 'none'}")
    if request.to_agent_id is not None:
        if request.to_agent_id not in routing.agents:
            raise Invalid(f"no agent {request.to_agent_id!r} in the router's view of the tenant")
        if request.to_agent_id == routing.assignee:
            raise Conflict(f"conversation {conversation_id} is with {request.to_agent_id} already")
    data = SupervisorMoveData(
        conversation_id=conversation_id,
        by=actor(supervisor),
        to_queue=request.to_queue,
        to_agent_id=request.to_agent_id,
        note=request.note,
    )
    event = SupervisorMoveRequested(
        id=event_id, source=SOURCE, time=time, tenant=supervisor.tenant, data=data
    )
    return Outgoing(topics.ROUTING, supervisor.tenant, event)


def take_back_requested(
    supervisor: Agent,
    conversation_id: str,
    request: TakeBackRequest,
    routing: Routing,
    *,
    event_id: str,
    time: datetime,
) -> Outgoing:
    _check_routed(conversation_id, routing)
    if routing.state not in ("offered", "assigned"):
        raise Conflict(f"conversation {conversation_id} is {routing.state}: no agent holds it")
    data = SupervisorTakeBackData(conversation_id=conversation_id, by=actor(supervisor), note=request.note)
    event = SupervisorTakeBackRequested(
        id=event_id, source=SOURCE, time=time, tenant=supervisor.tenant, data=data
    )
    return Outgoing(topics.ROUTING, supervisor.tenant, event)


def presence_set(
    supervisor: Agent,
    agent_id: str,
    request: PresenceRequest,
    routing: Routing,
    *,
    event_id: str,
    time: datetime,
) -> Outgoing:
    if agent_id not in routing.agents:
        raise Unknown(f"no agent {agent_id!r} in the router's view of the tenant")
    if request.away_reason is not None and request.away_reason not in routing.away_reasons:
        raise Invalid(
            f"away reason {request.away_reason!r} is not one of {', '.join(routing.away_reasons) or 'none'}"
        )
    data = SupervisorPresenceData(
        agent_id=agent_id, by=actor(supervisor), presence=request.presence, away_reason=request.away_reason
    )
    event = SupervisorPresenceSet(id=event_id, source=SOURCE, time=time, tenant=supervisor.tenant, data=data)
    return Outgoing(topics.ROUTING, supervisor.tenant, event)


def whisper_added(
    supervisor: Agent,
    conversation_id: str,
    request: WhisperRequest,
    assignee: str | None,
    *,
    event_id: str,
    time: datetime,
) -> Outgoing:
    """To the agent holding the conversation now; on the conversation's log, which no service delivers
    to the customer."""
    if assignee is None:
        raise Conflict(f"conversation {conversation_id} is with no agent: there is nobody to whisper to")
    event = WhisperAdded(
        id=event_id,
        source=SOURCE,
        time=time,
        tenant=supervisor.tenant,
        subject=conversation_id,
        data=WhisperData(whisper_id=event_id, agent_id=assignee, by=actor(supervisor), text=request.text),
    )
    return Outgoing(topics.CONVERSATIONS, conversation_id, event)


def _check_routed(conversation_id: str, routing: Routing) -> None:
    if routing.state is None:
        raise Unknown(f"no conversation {conversation_id!r}")
    if routing.state not in ROUTED:
        raise Conflict(f"conversation {conversation_id} is {routing.state}, not with routing")

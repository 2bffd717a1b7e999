"""Events for agent gateways (`relais.agents.v1`, keyed by agent id)."""

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from relais_contracts import topics
from relais_contracts.channel import Channel
from relais_contracts.conversation import Actor, HandoffPacket, ResponseClock
from relais_contracts.envelope import CloudEvent, Payload


class AgentEvent(CloudEvent):
    topics: ClassVar = (topics.AGENTS,)


class OfferCreatedData(Payload):
    offer_id: str
    agent_id: str
    conversation_id: str
    channel: Channel
    packet: HandoffPacket
    expires_at: AwareDatetime | None = None


class OfferCreated(AgentEvent):
    """The router offers a conversation to this agent, with everything known about it."""

    type: Literal["relais.agent.offer.created"] = "relais.agent.offer.created"
    data: OfferCreatedData


class OfferRescindedData(Payload):
    offer_id: str
    agent_id: str
    conversation_id: str
    reason: str = Field(max_length=200)


class OfferRescinded(AgentEvent):
    """The offer is no longer open (the customer left, the offer expired, someone else took it)."""

    type: Literal["relais.agent.offer.rescinded"] = "relais.agent.offer.rescinded"
    data: OfferRescindedData


class AgentStatusChangedData(Payload):
    agent_id: str
    # not-responding: the agent missed too many offers in a row and gets no more until they come back.
    status: Literal["available", "away", "offline", "not-responding"]
    reason: str | None = Field(default=None, max_length=200)
    # Set when a supervisor set the status (`relais.routing.supervisor.presence.set`).
    by: Actor | None = None


class AgentStatusChanged(AgentEvent):
    """The router changed an agent's routing status on its own (e.g. not responding to offers) or on a
    supervisor's word."""

    type: Literal["relais.agent.status.changed"] = "relais.agent.status.changed"
    data: AgentStatusChangedData


class ClockChangedData(Payload):
    agent_id: str
    conversation_id: str
    clock: ResponseClock
    # warning: the target is near (the desk shows it); breached: it passed; stopped: the agent answered.
    state: Literal["warning", "breached", "stopped"]
    due_at: AwareDatetime | None = None


class ClockChanged(AgentEvent):
    """A response-time clock of one of the agent's conversations needs their attention (or no longer)."""

    type: Literal["relais.agent.clock.changed"] = "relais.agent.clock.changed"
    data: ClockChangedData


class ConversationTakenData(Payload):
    agent_id: str
    conversation_id: str
    # supervisor: a supervisor (`by`) moved the conversation or took it back.
    reason: Literal["silent", "offline", "breach", "supervisor"]
    by: Actor | None = None


class ConversationTaken(AgentEvent):
    """The router took a conversation from this agent to give it to another; the desk says so."""

    type: Literal["relais.agent.conversation.taken"] = "relais.agent.conversation.taken"
    data: ConversationTakenData

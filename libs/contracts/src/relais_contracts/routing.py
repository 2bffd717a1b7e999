"""Events of the routing topic (`relais.routing.v1`, keyed by tenant so one router owns a tenant)."""

from typing import ClassVar, Literal

from pydantic import Field

from relais_contracts import topics
from relais_contracts.channel import _CHANNEL, Channel
from relais_contracts.conversation import HandoffPacket
from relais_contracts.envelope import CloudEvent, Payload

Presence = Literal["available", "away", "offline"]


class RoutingEvent(CloudEvent):
    topics: ClassVar = (topics.ROUTING,)


class WorkSubmittedData(Payload):
    conversation_id: str = Field(min_length=1, max_length=200)
    channel: Channel = _CHANNEL
    packet: HandoffPacket


class WorkSubmitted(RoutingEvent):
    """A conversation needs a human: the bot (or a fallback) hands it to the router."""

    type: Literal["relais.routing.work.submitted"] = "relais.routing.work.submitted"
    data: WorkSubmittedData


class PresenceChangedData(Payload):
    agent_id: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    presence: Presence
    # Simultaneous conversations the agent takes, per channel kind ("*" for any other channel).
    capacity: dict[str, int] = Field(default_factory=lambda: {"*": 1})
    skills: dict[str, int] = Field(default_factory=dict)
    languages: tuple[str, ...] = ()


class PresenceChanged(RoutingEvent):
    """An agent went available, away or offline."""

    type: Literal["relais.routing.agent.presence.changed"] = "relais.routing.agent.presence.changed"
    data: PresenceChangedData


class OfferAnswerData(Payload):
    offer_id: str = Field(min_length=1, max_length=200)
    agent_id: str = Field(min_length=1, max_length=200)
    conversation_id: str = Field(min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=500)


class OfferAccepted(RoutingEvent):
    type: Literal["relais.routing.offer.accepted"] = "relais.routing.offer.accepted"
    data: OfferAnswerData


class OfferRejected(RoutingEvent):
    type: Literal["relais.routing.offer.rejected"] = "relais.routing.offer.rejected"
    data: OfferAnswerData


class WorkCompletedData(Payload):
    conversation_id: str = Field(min_length=1, max_length=200)
    agent_id: str = Field(min_length=1, max_length=200)
    disposition: str | None = Field(default=None, max_length=64)


class WorkCompleted(RoutingEvent):
    """The agent wrapped the conversation up: their capacity is free again."""

    type: Literal["relais.routing.work.completed"] = "relais.routing.work.completed"
    data: WorkCompletedData

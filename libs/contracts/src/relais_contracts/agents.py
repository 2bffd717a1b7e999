"""Events for agent gateways (`relais.agents.v1`, keyed by agent id)."""

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from relais_contracts import topics
from relais_contracts.channel import Channel
from relais_contracts.conversation import HandoffPacket
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

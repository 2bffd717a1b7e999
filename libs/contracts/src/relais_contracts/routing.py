"""Events of the routing topic (`relais.routing.v1`, keyed by tenant so one router owns a tenant)."""

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AwareDatetime, Field, model_validator

from relais_contracts import topics
from relais_contracts.channel import _CHANNEL, Channel
from relais_contracts.conversation import Actor, HandoffPacket
from relais_contracts.envelope import CloudEvent, Payload

Presence = Literal["available", "away", "offline"]


class RoutingEvent(CloudEvent):
    topics: ClassVar = (topics.ROUTING,)


class WorkSubmittedData(Payload):
    conversation_id: str = Field(min_length=1, max_length=200)
    channel: Channel = _CHANNEL
    packet: HandoffPacket
    # Reserve the work for this agent for the queue's sticky window (else the customer's last agent).
    preferred_agent_id: str | None = Field(default=None, max_length=200)


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
    # Most conversations at once over all channel kinds; None means only the per-kind limits apply.
    total_capacity: int | None = Field(default=None, ge=1)
    # Skill name -> proficiency, 1 (novice) to 5 (expert).
    skills: dict[str, Annotated[int, Field(ge=1, le=5)]] = Field(default_factory=dict)
    languages: tuple[str, ...] = ()
    # With presence "away": why (one of the tenant's away reasons, e.g. "break", "training").
    away_reason: str | None = Field(default=None, min_length=1, max_length=64)


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
    # returned-to-bot: the agent hands the conversation back to the bot instead of ending it.
    reason: Literal["completed", "returned-to-bot"] = "completed"
    note: str | None = Field(default=None, max_length=2000)


class WorkCompleted(RoutingEvent):
    """The agent is done with the conversation (wrap-up, or back to the bot): their capacity is free."""

    type: Literal["relais.routing.work.completed"] = "relais.routing.work.completed"
    data: WorkCompletedData


class WorkCancelledData(Payload):
    conversation_id: str = Field(min_length=1, max_length=200)
    reason: Literal["customer-left", "closed"] = "customer-left"


class WorkCancelled(RoutingEvent):
    """The customer left (or the conversation closed): stop routing it, free any offer or assignment."""

    type: Literal["relais.routing.work.cancelled"] = "relais.routing.work.cancelled"
    data: WorkCancelledData


class TransferRequestedData(Payload):
    conversation_id: str = Field(min_length=1, max_length=200)
    agent_id: str = Field(min_length=1, max_length=200)
    to_queue: str | None = Field(default=None, min_length=1, max_length=64)
    to_agent_id: str | None = Field(default=None, min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


class TransferRequested(RoutingEvent):
    """An agent transfers their conversation to a queue or to another agent."""

    type: Literal["relais.routing.transfer.requested"] = "relais.routing.transfer.requested"
    data: TransferRequestedData


class TimerTickData(Payload):
    # The earliest deadline this tick was scheduled for; the core fires every deadline up to `time`.
    due: AwareDatetime


class TimerTick(RoutingEvent):
    """The router's own clock, written to the routing topic so a replay fires the same timers."""

    type: Literal["relais.routing.timer.tick"] = "relais.routing.timer.tick"
    data: TimerTickData


class QueuesConfiguredData(Payload):
    # The tenant's routing configuration as loaded from its file (see the router's docs for the shape).
    config: dict[str, Any]
    digest: str = Field(min_length=1, max_length=128)


class QueuesConfigured(RoutingEvent):
    """A tenant's queues were (re)configured; carried on the log so a replay routes the same way."""

    type: Literal["relais.routing.queues.configured"] = "relais.routing.queues.configured"
    data: QueuesConfiguredData


class AgentRepliedData(Payload):
    conversation_id: str = Field(min_length=1, max_length=200)
    agent_id: str = Field(min_length=1, max_length=200)
    message_id: str = Field(min_length=1, max_length=200)


class AgentReplied(RoutingEvent):
    """An agent replied in a conversation: the router stops its response clock (the words stay on the log)."""

    type: Literal["relais.routing.agent.replied"] = "relais.routing.agent.replied"
    data: AgentRepliedData


class CustomerWroteData(Payload):
    conversation_id: str = Field(min_length=1, max_length=200)
    message_id: str = Field(min_length=1, max_length=200)


class CustomerWrote(RoutingEvent):
    """The customer wrote while an agent holds the conversation: the next-response clock starts."""

    type: Literal["relais.routing.customer.wrote"] = "relais.routing.customer.wrote"
    data: CustomerWroteData


# Supervisor actions. Each names the supervisor who acted (`by`): the routing log is their audit trail,
# and a replay decides the same.


class SupervisorMoveData(Payload):
    conversation_id: str = Field(min_length=1, max_length=200)
    by: Actor
    to_queue: str | None = Field(default=None, min_length=1, max_length=64)
    to_agent_id: str | None = Field(default=None, min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _somewhere(self) -> "SupervisorMoveData":
        if self.to_queue is None and self.to_agent_id is None:
            raise ValueError("a move needs to_queue or to_agent_id")
        return self


class SupervisorMoveRequested(RoutingEvent):
    """A supervisor moves a conversation (waiting, offered or with an agent) to another queue or to a
    named agent; its agent, if any, loses it and is told."""

    type: Literal["relais.routing.supervisor.move.requested"] = "relais.routing.supervisor.move.requested"
    data: SupervisorMoveData


class SupervisorTakeBackData(Payload):
    conversation_id: str = Field(min_length=1, max_length=200)
    by: Actor
    note: str | None = Field(default=None, max_length=2000)


class SupervisorTakeBackRequested(RoutingEvent):
    """A supervisor takes a conversation back from its agent (a silent one, say): it is routed again in
    its queue, to anyone but that agent."""

    type: Literal["relais.routing.supervisor.takeback.requested"] = (
        "relais.routing.supervisor.takeback.requested"
    )
    data: SupervisorTakeBackData


class SupervisorPresenceData(Payload):
    agent_id: str = Field(min_length=1, max_length=200)
    by: Actor
    # A supervisor takes an agent out of routing; only the agent makes themselves available.
    presence: Literal["away", "offline"]
    away_reason: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _reason_with_away(self) -> "SupervisorPresenceData":
        if self.away_reason is not None and self.presence != "away":
            raise ValueError("an away reason goes with presence 'away' only")
        return self


class SupervisorPresenceSet(RoutingEvent):
    """A supervisor sets an agent away (with a reason) or offline; the agent's desk is told."""

    type: Literal["relais.routing.supervisor.presence.set"] = "relais.routing.supervisor.presence.set"
    data: SupervisorPresenceData

"""The events an agent's desk actions become.

Tenant and agent always come from the token, never from the client message; answering an offer or
replying in a conversation needs it to be this agent's.
"""

from datetime import datetime

from relais_agent_gateway.auth import Agent
from relais_agent_gateway.domain.inbox import OfferRecord
from relais_agent_gateway.protocol import AcceptOffer, PostReply, RejectOffer, SetPresence
from relais_contracts import Outgoing, topics
from relais_contracts.conversation import ReplyAuthor, ReplyData, ReplyPosted
from relais_contracts.routing import (
    OfferAccepted,
    OfferAnswerData,
    OfferRejected,
    PresenceChanged,
    PresenceChangedData,
)

SOURCE = "relais/agent-gateway"


class NotYours(Exception):
    """The offer or conversation is unknown, another agent's, or another tenant's (indistinguishably)."""


def presence_changed(agent: Agent, command: SetPresence, *, event_id: str, time: datetime) -> Outgoing:
    data = PresenceChangedData(agent_id=agent.id, name=agent.name, presence=command.presence)
    if command.capacity is not None:
        data = data.model_copy(update={"capacity": command.capacity})
    event = PresenceChanged(id=event_id, source=SOURCE, time=time, tenant=agent.tenant, data=data)
    # The routing topic is keyed by tenant: one router instance owns the tenant's agents and queues.
    return Outgoing(topics.ROUTING, agent.tenant, event)


def offer_answered(
    agent: Agent,
    command: AcceptOffer | RejectOffer,
    offer: OfferRecord | None,
    *,
    event_id: str,
    time: datetime,
) -> Outgoing:
    if offer is None or offer.tenant != agent.tenant or offer.agent_id != agent.id:
        raise NotYours(f"offer {command.offer_id} is not open for you")
    answer = OfferAccepted if isinstance(command, AcceptOffer) else OfferRejected
    event = answer(
        id=event_id,
        source=SOURCE,
        time=time,
        tenant=agent.tenant,
        data=OfferAnswerData(
            offer_id=offer.offer_id,
            agent_id=agent.id,
            conversation_id=offer.conversation_id,
            reason=command.reason if isinstance(command, RejectOffer) else None,
        ),
    )
    return Outgoing(topics.ROUTING, agent.tenant, event)


def reply_posted(
    agent: Agent, command: PostReply, assignee: str | None, *, event_id: str, time: datetime
) -> Outgoing:
    """`assignee` is the agent the conversation is assigned to in the agent's own tenant."""
    if assignee != agent.id:
        raise NotYours(f"conversation {command.conversation_id} is not assigned to you")
    event = ReplyPosted(
        id=event_id,
        source=SOURCE,
        time=time,
        tenant=agent.tenant,
        subject=command.conversation_id,
        # The message id is the event id: a retried reply (same client_msg_id) is one message.
        data=ReplyData(
            message_id=event_id,
            author=ReplyAuthor(kind="agent", name=agent.name, id=agent.id),
            text=command.text,
        ),
    )
    return Outgoing(topics.CONVERSATIONS, command.conversation_id, event)

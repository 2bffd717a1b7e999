"""The events an agent's desk actions become.

Tenant and agent always come from the token, never from the client message; answering an offer or
replying in a conversation needs it to be this agent's.
"""

from datetime import datetime

from relais_agent_gateway.auth import Agent
from relais_agent_gateway.domain.inbox import OfferRecord
from relais_agent_gateway.protocol import (
    AcceptOffer,
    AddNote,
    PostReply,
    RejectOffer,
    ReturnToBot,
    SetPresence,
    Transfer,
    WrapUp,
)
from relais_contracts import Outgoing, topics
from relais_contracts.conversation import NoteAdded, NoteData, ReplyAuthor, ReplyData, ReplyPosted
from relais_contracts.routing import (
    AgentReplied,
    AgentRepliedData,
    OfferAccepted,
    OfferAnswerData,
    OfferRejected,
    PresenceChanged,
    PresenceChangedData,
    TransferRequested,
    TransferRequestedData,
    WorkCompleted,
    WorkCompletedData,
)

SOURCE = "relais/agent-gateway"


class NotYours(Exception):
    """The offer or conversation is unknown, another agent's, or another tenant's (indistinguishably)."""


class Refused(ValueError):
    """The message is well formed but asks for something the tenant does not allow."""


class NoAddress(Exception):
    """The customer has no address on the channel a reply asks for: it could never be delivered."""


def presence_changed(
    agent: Agent,
    command: SetPresence,
    *,
    event_id: str,
    time: datetime,
    away_reasons: tuple[str, ...] | None = None,
) -> Outgoing:
    """`away_reasons` are the tenant's (None when the router could not be asked: any reason passes)."""
    if command.away_reason is not None:
        if command.presence != "away":
            raise Refused("an away reason goes with presence 'away' only")
        if away_reasons is not None and command.away_reason not in away_reasons:
            raise Refused(f"away reason {command.away_reason!r} is not one of {', '.join(away_reasons)}")
    data = PresenceChangedData(
        agent_id=agent.id,
        name=agent.name,
        presence=command.presence,
        skills=agent.skills,
        languages=agent.languages,
        away_reason=command.away_reason,
    )
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
    _check_assigned(agent, command.conversation_id, assignee)
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
            channel=command.channel,
        ),
    )
    return Outgoing(topics.CONVERSATIONS, command.conversation_id, event)


def reply_noticed(posted: Outgoing) -> Outgoing:
    """What the router hears of an agent's reply: who answered which conversation, never the words.
    It owns the conversation's response clocks. The id derives from the reply's, so a resent reply is
    one notice."""
    reply = posted.event
    if not isinstance(reply, ReplyPosted):
        raise TypeError(f"a reply notice is made of a reply, not of {reply.type}")
    author = reply.data.author
    event = AgentReplied(
        **reply.follow(1, source=SOURCE),
        data=AgentRepliedData(
            conversation_id=reply.subject or "", agent_id=author.id or "", message_id=reply.data.message_id
        ),
    )
    return Outgoing(topics.ROUTING, reply.tenant, event)


def note_added(
    agent: Agent, command: AddNote, assignee: str | None, *, event_id: str, time: datetime
) -> Outgoing:
    _check_assigned(agent, command.conversation_id, assignee)
    event = NoteAdded(
        id=event_id,
        source=SOURCE,
        time=time,
        tenant=agent.tenant,
        subject=command.conversation_id,
        data=NoteData(
            note_id=event_id,
            author=ReplyAuthor(kind="agent", name=agent.name, id=agent.id),
            text=command.text,
        ),
    )
    return Outgoing(topics.CONVERSATIONS, command.conversation_id, event)


def transfer_requested(
    agent: Agent, command: Transfer, assignee: str | None, *, event_id: str, time: datetime
) -> Outgoing:
    """The router moves the conversation (and says so); a queue it does not know is routed as its default."""
    _check_assigned(agent, command.conversation_id, assignee)
    if command.to_agent_id == agent.id:
        raise Refused("a conversation cannot be transferred to its own agent")
    data = TransferRequestedData(
        conversation_id=command.conversation_id,
        agent_id=agent.id,
        to_queue=command.to_queue,
        to_agent_id=command.to_agent_id,
        note=command.note,
    )
    event = TransferRequested(id=event_id, source=SOURCE, time=time, tenant=agent.tenant, data=data)
    return Outgoing(topics.ROUTING, agent.tenant, event)


def work_completed(
    agent: Agent,
    command: WrapUp | ReturnToBot,
    assignee: str | None,
    dispositions: tuple[str, ...],
    *,
    event_id: str,
    time: datetime,
) -> Outgoing:
    """Wrap-up or return to the bot: either way the agent is done and the router frees their capacity."""
    _check_assigned(agent, command.conversation_id, assignee)
    if isinstance(command, WrapUp):
        if command.disposition not in dispositions:
            raise Refused(f"disposition {command.disposition!r} is not one of {', '.join(dispositions)}")
        data = WorkCompletedData(
            conversation_id=command.conversation_id, agent_id=agent.id, disposition=command.disposition
        )
    else:
        data = WorkCompletedData(
            conversation_id=command.conversation_id,
            agent_id=agent.id,
            reason="returned-to-bot",
            note=command.note,
        )
    event = WorkCompleted(id=event_id, source=SOURCE, time=time, tenant=agent.tenant, data=data)
    return Outgoing(topics.ROUTING, agent.tenant, event)


def _check_assigned(agent: Agent, conversation_id: str, assignee: str | None) -> None:
    if assignee != agent.id:
        raise NotYours(f"conversation {conversation_id} is not assigned to you")

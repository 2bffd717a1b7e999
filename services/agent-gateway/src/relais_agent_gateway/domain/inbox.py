"""What an agent or conversation event changes in the desk views: open offers, assignments, inboxes."""

from dataclasses import dataclass

from relais_agent_gateway.protocol import (
    AssignedMessage,
    ConversationMessage,
    InboxMessage,
    OfferMessage,
    OfferRescindedMessage,
)
from relais_contracts import Event
from relais_contracts.agents import OfferCreated, OfferRescinded
from relais_contracts.conversation import Assigned, CustomerMessage, ReplyPosted, TranscriptEntry

# Conversation events an assigned agent follows; they need the conversation's current assignee.
FOLLOWED = (CustomerMessage, ReplyPosted)


@dataclass(frozen=True, slots=True)
class OfferRecord:
    """An open offer, so that only the agent it was made to (in its tenant) can answer it."""

    offer_id: str
    tenant: str
    agent_id: str
    conversation_id: str


@dataclass(frozen=True, slots=True)
class InboxUpdate:
    """The effects of one event; every field is optional and most events set one or two."""

    agent_id: str | None = None  # whose inbox receives `message`
    message: InboxMessage | None = None
    open_offer: OfferRecord | None = None
    closed_offer: str | None = None
    assignment: tuple[str, str] | None = None  # (conversation id, agent id)


def project(event: Event, assignee: str | None = None) -> InboxUpdate:
    """The effects of `event`; `assignee` is the agent the conversation of a FOLLOWED event is with."""
    match event:
        case OfferCreated(data=d):
            return InboxUpdate(
                agent_id=d.agent_id,
                message=OfferMessage(
                    offer_id=d.offer_id,
                    conversation_id=d.conversation_id,
                    channel=d.channel,
                    expires_at=d.expires_at,
                    packet=d.packet,
                    at=event.time,
                ),
                open_offer=OfferRecord(d.offer_id, event.tenant, d.agent_id, d.conversation_id),
            )
        case OfferRescinded(data=d):
            return InboxUpdate(
                agent_id=d.agent_id,
                message=OfferRescindedMessage(
                    offer_id=d.offer_id, conversation_id=d.conversation_id, reason=d.reason, at=event.time
                ),
                closed_offer=d.offer_id,
            )
        case Assigned(data=d):
            return InboxUpdate(
                agent_id=d.agent_id,
                message=AssignedMessage(
                    offer_id=d.offer_id,
                    conversation_id=event.conversation_id,
                    agent_name=d.agent_name,
                    at=event.time,
                ),
                closed_offer=d.offer_id,
                assignment=(event.conversation_id, d.agent_id),
            )
        case CustomerMessage(data=d) if assignee:
            entry = TranscriptEntry(
                message_id=d.message_id,
                author_kind="customer",
                author_name=d.customer_name,
                channel=d.channel,
                text=d.text,
                at=event.time,
            )
            return _followed(event.conversation_id, assignee, entry)
        case ReplyPosted(data=d) if assignee:
            entry = TranscriptEntry(
                message_id=d.message_id,
                author_kind=d.author.kind,
                author_name=d.author.name,
                text=d.text,
                at=event.time,
            )
            return _followed(event.conversation_id, assignee, entry)
    return InboxUpdate()


def _followed(conversation_id: str, assignee: str, entry: TranscriptEntry) -> InboxUpdate:
    return InboxUpdate(
        agent_id=assignee, message=ConversationMessage(conversation_id=conversation_id, message=entry)
    )

"""What an agent or conversation event changes in the desk views: open offers, assignments, inboxes."""

from dataclasses import dataclass

from relais_agent_gateway.protocol import (
    AssignedMessage,
    By,
    ClockMessage,
    ConversationMessage,
    ConversationUpdated,
    DeliveryMessage,
    InboxMessage,
    Note,
    NoteMessage,
    OfferMessage,
    OfferRescindedMessage,
    ReleasedMessage,
    StatusMessage,
    TakenMessage,
    Whisper,
    WhisperMessage,
)
from relais_contracts import Event
from relais_contracts.agents import (
    AgentStatusChanged,
    ClockChanged,
    ConversationTaken,
    OfferCreated,
    OfferRescinded,
)
from relais_contracts.conversation import (
    Assigned,
    ChannelSwitched,
    Closed,
    CustomerLeft,
    CustomerMessage,
    DeliveryStatus,
    NoteAdded,
    Released,
    ReplyPosted,
    TranscriptEntry,
    WhisperAdded,
)

# Conversation events the assigned agent follows; projecting them needs the conversation's assignee.
FOLLOWED = (CustomerMessage, ReplyPosted, NoteAdded, DeliveryStatus, ChannelSwitched, CustomerLeft, Closed)


@dataclass(frozen=True, slots=True)
class OfferRecord:
    """An open offer, so that only the agent it was made to (in its tenant) can answer it."""

    offer_id: str
    tenant: str
    agent_id: str
    conversation_id: str
    # The conversation's customer, from the packet: an agent's reply and notes are sealed in their key.
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class InboxUpdate:
    """The effects of one event; every field is optional and most events set one or two."""

    agent_id: str | None = None  # whose inbox receives `message`
    message: InboxMessage | None = None
    open_offer: OfferRecord | None = None
    closed_offer: str | None = None
    assignment: tuple[str, str] | None = None  # (conversation id, agent id)
    unassignment: tuple[str, str] | None = None  # (conversation id, the agent it leaves)


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
                open_offer=OfferRecord(
                    d.offer_id, event.tenant, d.agent_id, d.conversation_id, d.packet.customer_id
                ),
            )
        case OfferRescinded(data=d):
            return InboxUpdate(
                agent_id=d.agent_id,
                message=OfferRescindedMessage(
                    offer_id=d.offer_id, conversation_id=d.conversation_id, reason=d.reason, at=event.time
                ),
                closed_offer=d.offer_id,
            )
        case AgentStatusChanged(data=d):
            by = By(id=d.by.id, name=d.by.name) if d.by else None
            return InboxUpdate(
                agent_id=d.agent_id,
                message=StatusMessage(status=d.status, reason=d.reason, by=by, at=event.time),
            )
        case ClockChanged(data=d):
            return InboxUpdate(
                agent_id=d.agent_id,
                message=ClockMessage(
                    conversation_id=d.conversation_id,
                    clock=d.clock,
                    state=d.state,
                    due_at=d.due_at,
                    at=event.time,
                ),
            )
        case ConversationTaken(data=d):
            return InboxUpdate(
                agent_id=d.agent_id,
                message=TakenMessage(
                    conversation_id=d.conversation_id,
                    reason=d.reason,
                    by=By(id=d.by.id, name=d.by.name) if d.by else None,
                    at=event.time,
                ),
            )
        case WhisperAdded(data=d):
            # To the agent it was written for, wherever the conversation went since: it is about their work.
            return InboxUpdate(
                agent_id=d.agent_id,
                message=WhisperMessage(
                    conversation_id=event.conversation_id,
                    whisper=Whisper(
                        whisper_id=d.whisper_id, by=By(id=d.by.id, name=d.by.name), text=d.text, at=event.time
                    ),
                    sealed=d.text_sealed,
                    key_id=d.key_id,
                ),
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
        case Released(data=d):
            return InboxUpdate(
                agent_id=d.agent_id,
                message=ReleasedMessage(
                    conversation_id=event.conversation_id,
                    reason=d.reason,
                    disposition=d.disposition,
                    at=event.time,
                ),
                unassignment=(event.conversation_id, d.agent_id),
            )
    message = _followed(event) if assignee else None  # no assignee: the bot has it, or it waits
    return InboxUpdate(agent_id=assignee, message=message) if message else InboxUpdate()


def _followed(event: Event) -> InboxMessage | None:
    """What the assigned agent sees of a conversation event."""
    match event:
        case CustomerMessage(data=d):
            entry = TranscriptEntry(
                message_id=d.message_id,
                author_kind="customer",
                author_name=d.customer_name,
                channel=d.channel,
                text=d.text,
                at=event.time,
            )
            return ConversationMessage(
                conversation_id=event.conversation_id, message=entry, sealed=d.text_sealed, key_id=d.key_id
            )
        case ReplyPosted(data=d):
            entry = TranscriptEntry(
                message_id=d.message_id,
                author_kind=d.author.kind,
                author_name=d.author.name,
                channel=d.channel,
                text=d.text,
                at=event.time,
            )
            return ConversationMessage(
                conversation_id=event.conversation_id, message=entry, sealed=d.text_sealed, key_id=d.key_id
            )
        case NoteAdded(data=d):
            note = Note(
                note_id=d.note_id,
                author_id=d.author.id,
                author_name=d.author.name,
                text=d.text,
                at=event.time,
            )
            return NoteMessage(
                conversation_id=event.conversation_id, note=note, sealed=d.text_sealed, key_id=d.key_id
            )
        case DeliveryStatus(data=d):
            return DeliveryMessage(
                conversation_id=event.conversation_id,
                message_id=d.message_id,
                status=d.status,
                reason=d.reason,
                at=event.time,
            )
        case ChannelSwitched(data=d):
            return ConversationUpdated(
                conversation_id=event.conversation_id,
                what="channel_switched",
                channel=d.channel,
                at=event.time,
            )
        case CustomerLeft(data=d):
            return ConversationUpdated(
                conversation_id=event.conversation_id, what="customer_left", channel=d.channel, at=event.time
            )
        case Closed():
            return ConversationUpdated(conversation_id=event.conversation_id, what="closed", at=event.time)
    return None

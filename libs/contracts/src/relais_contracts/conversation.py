"""Events of the conversation log (`relais.conversations.v1`, keyed and `subject`-ed by conversation id).

The log is the system of record: every view of a conversation can be rebuilt by replaying it.
"""

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from relais_contracts import topics
from relais_contracts.channel import _ADDRESS, _CHANNEL, Attachment, Channel, IdentityHints
from relais_contracts.envelope import CloudEvent, Payload

AuthorKind = Literal["customer", "bot", "agent", "system"]


class ConversationEvent(CloudEvent):
    """Every conversation event names its conversation in `subject`."""

    topics: ClassVar = (topics.CONVERSATIONS,)
    subject: str = Field(min_length=1, max_length=200)

    @property
    def conversation_id(self) -> str:
        return self.subject


class OpenedData(Payload):
    channel: Channel = _CHANNEL
    address: str = _ADDRESS
    customer_name: str | None = Field(default=None, max_length=200)
    identity: IdentityHints | None = None


class Opened(ConversationEvent):
    """A customer with no open conversation wrote: a conversation starts, with the bot."""

    type: Literal["relais.conversation.opened"] = "relais.conversation.opened"
    data: OpenedData


class CustomerMessageData(Payload):
    message_id: str = Field(min_length=1, max_length=200)
    channel: Channel = _CHANNEL
    address: str = _ADDRESS
    customer_name: str | None = Field(default=None, max_length=200)
    text: str = Field(max_length=20_000)
    external_id: str = Field(min_length=1, max_length=200)
    language: str | None = Field(default=None, max_length=16)
    attachments: tuple[Attachment, ...] = ()


class CustomerMessage(ConversationEvent):
    """A customer message, resolved to its conversation, as appended to the log."""

    type: Literal["relais.conversation.message.received"] = "relais.conversation.message.received"
    data: CustomerMessageData


class ReplyAuthor(Payload):
    kind: Literal["bot", "agent"]
    name: str = Field(min_length=1, max_length=200)
    id: str | None = Field(default=None, max_length=200)


class ReplyData(Payload):
    message_id: str = Field(min_length=1, max_length=200)
    author: ReplyAuthor
    text: str = Field(min_length=1, max_length=20_000)
    in_reply_to: str | None = Field(default=None, max_length=200)


class ReplyPosted(ConversationEvent):
    """The bot or an agent wrote to the conversation; the context store delivers it to the customer."""

    type: Literal["relais.conversation.reply.posted"] = "relais.conversation.reply.posted"
    data: ReplyData


class TranscriptEntry(Payload):
    message_id: str
    author_kind: AuthorKind
    author_name: str | None = None
    channel: Channel | None = None
    text: str
    at: datetime


class HandoffPacket(Payload):
    """Everything an agent needs so the customer never repeats themselves."""

    reason: str = Field(min_length=1, max_length=64)
    summary: str = Field(max_length=4000)
    language: str | None = None
    intent: str | None = None
    channels: tuple[Channel, ...] = ()
    transcript: tuple[TranscriptEntry, ...] = ()
    skills: tuple[str, ...] = ()
    queue: str = Field(default="general", min_length=1, max_length=64)
    priority: int = Field(default=0, ge=0, le=100)


class HandoffRequestedData(Payload):
    packet: HandoffPacket


class HandoffRequested(ConversationEvent):
    """The bot decided a human is needed; the packet goes with the conversation to the router."""

    type: Literal["relais.conversation.handoff.requested"] = "relais.conversation.handoff.requested"
    data: HandoffRequestedData


class QueuedData(Payload):
    queue: str
    position: int = Field(ge=1)
    enqueued_at: AwareDatetime


class Queued(ConversationEvent):
    """The router holds the conversation in a queue until an agent is free."""

    type: Literal["relais.conversation.queued"] = "relais.conversation.queued"
    data: QueuedData


class OfferedData(Payload):
    offer_id: str
    agent_id: str


class Offered(ConversationEvent):
    """The router offered the conversation to an agent."""

    type: Literal["relais.conversation.offered"] = "relais.conversation.offered"
    data: OfferedData


class AssignedData(Payload):
    offer_id: str
    agent_id: str
    agent_name: str | None = None


class Assigned(ConversationEvent):
    """An agent accepted: the conversation is theirs until wrap-up, transfer or return to the bot."""

    type: Literal["relais.conversation.assigned"] = "relais.conversation.assigned"
    data: AssignedData

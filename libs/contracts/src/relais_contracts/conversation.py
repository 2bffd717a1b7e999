"""Events of the conversation log (`relais.conversations.v1`, keyed and `subject`-ed by conversation id).

The log is the system of record: every view of a conversation can be rebuilt by replaying it.
"""

from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field, model_validator

from relais_contracts import topics
from relais_contracts.channel import (
    _ADDRESS,
    _CHANNEL,
    CUSTOMER_NAME_MAX,
    CUSTOMER_TEXT_MAX,
    Attachment,
    Channel,
    IdentityHints,
    QuickReply,
)
from relais_contracts.envelope import CloudEvent, Payload

AuthorKind = Literal["customer", "bot", "agent", "system"]

# Size budgets, under the broker's 1 MiB record (Kafka's default `message.max.bytes`, 1,048,588 bytes,
# and the producers' `max.request.size`, 1,048,576; docs/operations.md):
# - a sealed customer text: a Fernet token of the JSON of a text and a name at their maxima, at most
#   6 bytes a character (a control character escaped as \uXXXX): 161,720 characters;
SEALED_TEXT_MAX = 170_000
# - a handoff packet as its JSON travels on a topic, after sealing: the transcript is cut to the newest
#   entries that fit (`transcript_omitted` says how many older ones the conversation's timeline has).
#   A `relais.conversation.handoff.requested`, `relais.routing.work.submitted` or
#   `relais.agent.offer.created` is the packet and about 1 KiB of envelope and routing fields.
PACKET_MAX_BYTES = 128 * 1024
# - a sealed channel address: a Fernet token of the JSON of an address (320 characters at most).
SEALED_ADDRESS_MAX = 3_000

# The clear `address` of an event whose address is sealed in the customer's key (`address_sealed`):
# for the tenants that seal, no channel address travels in clear on the log, so erasing the customer
# (destroying the key) leaves none behind. Readers open it with the key; after erasure it is gone.
SEALED_ADDRESS = "[sealed]"


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
    # The customer the context store resolved this conversation to (sticky routing, history).
    customer_id: str | None = Field(default=None, max_length=200)
    # For a tenant that seals: the address in the customer's key (`address` is SEALED_ADDRESS).
    address_sealed: str | None = Field(default=None, max_length=SEALED_ADDRESS_MAX)
    key_id: str | None = Field(default=None, max_length=300)


class Opened(ConversationEvent):
    """A customer with no open conversation wrote: a conversation starts, with the bot."""

    type: Literal["relais.conversation.opened"] = "relais.conversation.opened"
    data: OpenedData


class CustomerMessageData(Payload):
    message_id: str = Field(min_length=1, max_length=200)
    channel: Channel = _CHANNEL
    address: str = _ADDRESS
    customer_name: str | None = Field(default=None, max_length=CUSTOMER_NAME_MAX)
    # Redacted before the log (card numbers masked, CVVs and IBANs removed). Empty when sealed.
    text: str = Field(max_length=CUSTOMER_TEXT_MAX)
    external_id: str = Field(min_length=1, max_length=200)
    language: str | None = Field(default=None, max_length=16)
    attachments: tuple[Attachment, ...] = ()
    # Kinds of secrets redacted from the text ("card", "cvv", "iban").
    redactions: tuple[str, ...] = ()
    # Set when the text was cut to CUSTOMER_TEXT_MAX characters (it then ends with " […]"): how many
    # characters the customer wrote.
    truncated_from: int | None = Field(default=None, ge=0)
    # Tenants that enable sealing get the text (and the name) encrypted with the customer's key
    # (Fernet token) instead of in clear; `key_id` names the key. Erasing the customer destroys the
    # key, so the log keeps no readable text of theirs. Read it with `relais_platform.sealing`.
    text_sealed: str | None = Field(default=None, max_length=SEALED_TEXT_MAX)
    key_id: str | None = Field(default=None, max_length=300)
    # The address in the same key (`address` is SEALED_ADDRESS), as on every event that carries one.
    address_sealed: str | None = Field(default=None, max_length=SEALED_ADDRESS_MAX)

    @property
    def sealed(self) -> bool:
        return self.text_sealed is not None


class CustomerMessage(ConversationEvent):
    """A customer message, resolved to its conversation, as appended to the log."""

    type: Literal["relais.conversation.message.received"] = "relais.conversation.message.received"
    data: CustomerMessageData


class ChannelSwitchedData(Payload):
    from_channel: Channel = _CHANNEL
    channel: Channel = _CHANNEL
    address: str = _ADDRESS
    customer_id: str | None = Field(default=None, max_length=200)
    # For a tenant that seals: the address in the customer's key (`address` is SEALED_ADDRESS).
    address_sealed: str | None = Field(default=None, max_length=SEALED_ADDRESS_MAX)
    key_id: str | None = Field(default=None, max_length=300)


class ChannelSwitched(ConversationEvent):
    """The customer of an open conversation wrote on another channel (or address): it continues there."""

    type: Literal["relais.conversation.channel.switched"] = "relais.conversation.channel.switched"
    data: ChannelSwitchedData


class ClosedData(Payload):
    # inactivity: the customer wrote nothing for the configured timeout.
    reason: Literal["inactivity"]
    customer_id: str | None = Field(default=None, max_length=200)


class Closed(ConversationEvent):
    """The conversation is over; it stays in the customer's history, and a next message opens a new one."""

    type: Literal["relais.conversation.closed"] = "relais.conversation.closed"
    data: ClosedData


class CustomerLeftData(Payload):
    channel: Channel = _CHANNEL
    address: str = _ADDRESS
    # For a tenant that seals: the address in the customer's key (`address` is SEALED_ADDRESS).
    address_sealed: str | None = Field(default=None, max_length=SEALED_ADDRESS_MAX)
    key_id: str | None = Field(default=None, max_length=300)


class CustomerLeft(ConversationEvent):
    """The customer left the channel session (closed the chat window, hung up): any wait is abandoned."""

    type: Literal["relais.conversation.customer.left"] = "relais.conversation.customer.left"
    data: CustomerLeftData


class DeliveryStatusData(Payload):
    message_id: str = Field(min_length=1, max_length=200)
    status: Literal["delivered", "read", "failed"]
    reason: str | None = Field(default=None, max_length=1000)
    external_id: str | None = Field(default=None, max_length=200)


class DeliveryStatus(ConversationEvent):
    """A channel's report on a bot or agent message (from `relais.channel.delivery.updated`)."""

    type: Literal["relais.conversation.delivery.updated"] = "relais.conversation.delivery.updated"
    data: DeliveryStatusData


class ReplyAuthor(Payload):
    kind: Literal["bot", "agent"]
    name: str = Field(min_length=1, max_length=200)
    id: str | None = Field(default=None, max_length=200)


class Actor(Payload):
    """Who did it, when a person other than the conversation's agent acts (a supervisor): on the event
    itself, so the log is the audit trail."""

    id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    role: Literal["supervisor"] = "supervisor"


class _SealedText(Payload):
    """A reply's or note's text, in clear or, for a customer who has a key (their tenant seals), sealed
    in that key (`text_sealed`, `key_id`, `text` empty): erasing the customer destroys the key, so the
    log keeps no readable reply or note of their conversations. Read it with `relais_platform.sealing`."""

    text_sealed: str | None = Field(default=None, max_length=SEALED_TEXT_MAX)
    key_id: str | None = Field(default=None, max_length=300)

    @property
    def sealed(self) -> bool:
        return self.text_sealed is not None

    @model_validator(mode="after")
    def _text_or_sealed(self) -> "_SealedText":
        text: str = getattr(self, "text", "")
        if self.text_sealed is None and not text:
            raise ValueError("text is required unless text_sealed is given")
        if self.text_sealed is not None and (text or not self.key_id):
            raise ValueError("a sealed text has an empty text and a key_id")
        return self


class ReplyData(_SealedText):
    message_id: str = Field(min_length=1, max_length=200)
    author: ReplyAuthor
    text: str = Field(max_length=20_000)
    in_reply_to: str | None = Field(default=None, max_length=200)
    # Deliver on this channel instead of the one the customer used last (an agent's choice).
    channel: Channel | None = Field(default=None, min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")
    # Suggested answers, delivered with the message (relais.channel.message.send quick_replies).
    quick_replies: tuple[QuickReply, ...] = Field(default=(), max_length=10)


class ReplyPosted(ConversationEvent):
    """The bot or an agent wrote to the conversation; the context store delivers it to the customer."""

    type: Literal["relais.conversation.reply.posted"] = "relais.conversation.reply.posted"
    data: ReplyData


class NoteData(_SealedText):
    note_id: str = Field(min_length=1, max_length=200)
    author: ReplyAuthor
    text: str = Field(max_length=5000)


class NoteAdded(ConversationEvent):
    """An agent's internal note on the conversation: kept in its timeline, never sent to the customer."""

    type: Literal["relais.conversation.note.added"] = "relais.conversation.note.added"
    data: NoteData


class WhisperData(_SealedText):
    whisper_id: str = Field(min_length=1, max_length=200)
    # The agent it is for: the conversation's agent when the supervisor wrote it.
    agent_id: str = Field(min_length=1, max_length=200)
    by: Actor
    text: str = Field(max_length=5000)


class WhisperAdded(ConversationEvent):
    """A supervisor's note to the conversation's agent: shown on that agent's desk only, never sent to
    the customer (no service delivers it)."""

    type: Literal["relais.conversation.whisper.added"] = "relais.conversation.whisper.added"
    data: WhisperData


class TranscriptEntry(Payload):
    message_id: str
    author_kind: AuthorKind
    author_name: str | None = None
    channel: Channel | None = None
    text: str
    at: datetime


class Entity(Payload):
    """A fact the bot extracted from the customer's words (an order number, an amount, a date)."""

    kind: str = Field(min_length=1, max_length=64)
    value: str = Field(max_length=500)


class HandoffReason(StrEnum):
    """Why a conversation went to a person (HandoffPacket.reason), for every service that hands over."""

    CUSTOMER_REQUEST = "customer-request"
    SENSITIVE = "sensitive"
    FRUSTRATION = "frustration"
    STUCK = "stuck"
    VIP = "vip"
    TENANT_RULE = "tenant-rule"
    BOT_FAILURE = "bot-failure"
    # The context store's watchdog: the bot did not answer a customer in time.
    BOT_SILENT = "bot-silent"


class HandoffPacket(Payload):
    """Everything an agent needs so the customer never repeats themselves."""

    reason: str = Field(min_length=1, max_length=64)
    summary: str = Field(max_length=4000)
    language: str | None = None
    intent: str | None = None
    confidence: float | None = Field(default=None, ge=0, le=1)
    # Sentiment of the customer's turns, oldest first, each in [-1, 1].
    sentiment: tuple[float, ...] = ()
    sensitivity: tuple[str, ...] = ()
    entities: tuple[Entity, ...] = ()
    # What the bot already answered, so the agent does not repeat it.
    bot_answers: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    transcript: tuple[TranscriptEntry, ...] = ()
    # Older transcript entries left out to keep the packet within PACKET_MAX_BYTES: the conversation's
    # timeline (context store, by conversation id) holds them all.
    transcript_omitted: int = Field(default=0, ge=0)
    skills: tuple[str, ...] = ()
    queue: str = Field(default="general", min_length=1, max_length=64)
    priority: int = Field(default=0, ge=0, le=100)
    customer_id: str | None = Field(default=None, max_length=200)
    # For tenants whose customer text is sealed (see CustomerMessage): the summary, transcript and
    # entities travel as one token of the customer's key, and read as erased once the key is destroyed.
    sealed: str | None = Field(default=None, max_length=500_000)
    key_id: str | None = Field(default=None, max_length=300)


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


class WaitUpdatedData(Payload):
    queue: str
    position: int = Field(ge=1)
    # Expected seconds until an agent is offered the conversation; None when the router cannot tell.
    expected_wait_s: int | None = Field(default=None, ge=0)


class WaitUpdated(ConversationEvent):
    """The conversation's place in its queue changed; the bot tells the customer, without flooding."""

    type: Literal["relais.conversation.wait.updated"] = "relais.conversation.wait.updated"
    data: WaitUpdatedData


class TransferredData(Payload):
    from_agent_id: str | None = None
    to_queue: str | None = None
    to_agent_id: str | None = None
    note: str | None = Field(default=None, max_length=2000)
    # Set when a supervisor moved it (`relais.routing.supervisor.move.requested`), not its agent.
    by: Actor | None = None


class Transferred(ConversationEvent):
    """The conversation moved to another queue or agent; it is routed again from there."""

    type: Literal["relais.conversation.transferred"] = "relais.conversation.transferred"
    data: TransferredData


class ReleasedData(Payload):
    agent_id: str
    reason: Literal["completed", "transferred", "returned-to-bot", "agent-offline", "reassigned"]
    disposition: str | None = Field(default=None, max_length=64)


class Released(ConversationEvent):
    """The conversation left its agent (wrap-up, transfer, return to the bot); their capacity is free."""

    type: Literal["relais.conversation.released"] = "relais.conversation.released"
    data: ReleasedData


class DequeuedData(Payload):
    queue: str
    # customer-left: the customer abandoned; closed: outside opening hours; max-wait: waited too long
    # with no overflow left; no-queue: the queue is not configured.
    reason: Literal["customer-left", "closed", "max-wait", "no-queue"]
    message: str | None = Field(default=None, max_length=2000)


class Dequeued(ConversationEvent):
    """The router stopped looking for an agent for this conversation, and says why."""

    type: Literal["relais.conversation.dequeued"] = "relais.conversation.dequeued"
    data: DequeuedData


class ReturnedToBotData(Payload):
    agent_id: str
    note: str | None = Field(default=None, max_length=2000)


class ReturnedToBot(ConversationEvent):
    """An agent handed the conversation back to the bot, which takes over again."""

    type: Literal["relais.conversation.returned_to_bot"] = "relais.conversation.returned_to_bot"
    data: ReturnedToBotData


# first-response: from assignment to the agent's first reply; next-response: from a customer message
# to the agent's next reply; resolution: from assignment to wrap-up.
ResponseClock = Literal["first-response", "next-response", "resolution"]
BreachAction = Literal["raise-priority", "alert-supervisor", "offer-to-another"]


class ClockBreachedData(Payload):
    clock: ResponseClock
    agent_id: str
    queue: str
    target_s: int = Field(ge=1)
    # What the queue's configuration did about it, in the order done.
    actions: tuple[BreachAction, ...] = ()


class ClockBreached(ConversationEvent):
    """A response-time target of the conversation's queue was missed while an agent held it."""

    type: Literal["relais.conversation.clock.breached"] = "relais.conversation.clock.breached"
    data: ClockBreachedData


class ReassignedData(Payload):
    from_agent_id: str
    queue: str
    # silent: no reply within the queue's reassign_after; offline: the agent left with it open;
    # breach: a response target was missed and the queue offers it to another agent; supervisor: a
    # supervisor took it back (`by`).
    reason: Literal["silent", "offline", "breach", "supervisor"]
    by: Actor | None = None


class Reassigned(ConversationEvent):
    """The router took the conversation from its agent and routes it to another one, with its context."""

    type: Literal["relais.conversation.reassigned"] = "relais.conversation.reassigned"
    data: ReassignedData

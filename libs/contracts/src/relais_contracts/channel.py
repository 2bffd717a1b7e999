"""The channel contract: what integrators publish on the inbound topic and read from the outbound topic."""

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from relais_contracts import topics
from relais_contracts.envelope import CloudEvent, Payload

Channel = str  # webchat, sms, whatsapp, email, voice, messenger, … (open set: new channels need no release)
_CHANNEL = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")
_ADDRESS = Field(min_length=1, max_length=320)
# The most of a customer's text the conversation log keeps, in characters (at most 4 UTF-8 bytes each):
# the context store cuts a longer text to this, with a marker, and records the original length.
CUSTOMER_TEXT_MAX = 20_000
CUSTOMER_NAME_MAX = 200
ATTACHMENT_NAME_MAX = 300


class Party(Payload):
    address: str = _ADDRESS
    name: str | None = Field(default=None, max_length=CUSTOMER_NAME_MAX)


class Recipient(Payload):
    address: str = _ADDRESS


class IdentityHints(Payload):
    """Who the customer says they are. Claimed, unless `verified` or carrying the tenant's valid
    `signature`: a claim never attaches the sender to another customer (docs/channel-contract.md)."""

    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    customer_ref: str | None = Field(default=None, max_length=200)
    # The channel authenticated the customer (a logged-in session, a verified sender). The integrator is
    # trusted as far as its Kafka credentials are: set it only for identities it checked itself.
    verified: bool = False
    # HMAC-SHA256 (hex) by the tenant's backend, with its identity secret, over the canonical string of
    # the three identifiers and `signed_at` (unix seconds): proves the tenant vouches for them.
    signature: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    signed_at: int | None = Field(default=None, ge=0)


class Attachment(Payload):
    url: str = Field(min_length=1, max_length=2000)
    content_type: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=ATTACHMENT_NAME_MAX)


class MessageReceivedData(Payload):
    channel: Channel = _CHANNEL
    from_: Party = Field(alias="from")
    # Any length the broker carries: the context store keeps at most CUSTOMER_TEXT_MAX characters.
    text: str
    external_id: str = Field(min_length=1, max_length=200)
    identity: IdentityHints | None = None
    language: str | None = Field(default=None, min_length=2, max_length=16)
    attachments: tuple[Attachment, ...] = ()


class MessageReceived(CloudEvent):
    """A customer wrote on a channel."""

    topics: ClassVar = (topics.INBOUND,)
    type: Literal["relais.channel.message.received"] = "relais.channel.message.received"
    data: MessageReceivedData


class DeliveryUpdatedData(Payload):
    external_id: str | None = Field(default=None, max_length=200)
    message_id: str | None = Field(default=None, max_length=200)
    status: Literal["delivered", "read", "failed"]
    reason: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _names_a_message(self) -> "DeliveryUpdatedData":
        if not (self.external_id or self.message_id):
            raise ValueError("one of external_id or message_id is required")
        return self


class DeliveryUpdated(CloudEvent):
    """The channel reports what happened to a message Relais sent."""

    topics: ClassVar = (topics.INBOUND,)
    type: Literal["relais.channel.delivery.updated"] = "relais.channel.delivery.updated"
    data: DeliveryUpdatedData


class SessionEndedData(Payload):
    channel: Channel = _CHANNEL
    from_: Party = Field(alias="from")


class SessionEnded(CloudEvent):
    """The customer left the channel (closed the chat window, hung up): a wait is abandoned."""

    topics: ClassVar = (topics.INBOUND,)
    type: Literal["relais.channel.session.ended"] = "relais.channel.session.ended"
    data: SessionEndedData


class Author(Payload):
    kind: Literal["bot", "agent"]
    name: str = Field(min_length=1, max_length=200)


class QuickReply(Payload):
    """A suggested answer a channel may show as a button; choosing it sends `payload` as the message text.

    Optional for integrators: the message's text always says the same in words, so a channel without
    buttons loses nothing by ignoring them.
    """

    title: str = Field(min_length=1, max_length=80)
    payload: str = Field(min_length=1, max_length=200)


class MessageSendData(Payload):
    channel: Channel = _CHANNEL
    to: Recipient
    text: str = Field(max_length=20_000)
    message_id: str = Field(min_length=1, max_length=200)
    in_reply_to: str | None = Field(default=None, max_length=200)
    author: Author
    quick_replies: tuple[QuickReply, ...] = Field(default=(), max_length=10)


class MessageSend(CloudEvent):
    """Relais asks the channel to deliver a message; `subject` is the conversation id."""

    topics: ClassVar = (topics.OUTBOUND,)
    type: Literal["relais.channel.message.send"] = "relais.channel.message.send"
    data: MessageSendData

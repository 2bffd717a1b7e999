"""The agent desk's WebSocket protocol (`GET /v1/agent/ws`): one JSON object per text frame.

The reference with examples is `services/agent-gateway/docs/agent-protocol.md`; these models are what
the gateway accepts and sends. Inbox messages are stored without `seq` (the id Redis gives the entry),
which is added when they are sent.
"""

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from relais_contracts.conversation import HandoffPacket, TranscriptEntry
from relais_contracts.routing import Presence

Ref = Annotated[str, Field(max_length=200)] | int
ErrorCode = Literal["invalid", "unsupported", "not_yours", "forbidden", "no_address", "unavailable"]
_ID = Field(min_length=1, max_length=200)
_CHANNEL_NAME = Field(default=None, min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")


class _ClientMessage(BaseModel):
    # Unknown fields are ignored so a newer desk can talk to an older gateway during a rollout.
    model_config = ConfigDict(frozen=True, extra="ignore")

    ref: Ref | None = None
    client_msg_id: str | None = Field(default=None, min_length=1, max_length=200)


class SetPresence(_ClientMessage):
    type: Literal["presence"]
    presence: Presence
    capacity: (
        dict[
            Annotated[str, Field(pattern=r"^(\*|[a-z][a-z0-9_-]*)$", max_length=32)],
            Annotated[int, Field(ge=0, le=100)],
        ]
        | None
    ) = Field(default=None, max_length=32)
    # With presence "away": one of the tenant's away reasons (`ready.away_reasons`).
    away_reason: str | None = Field(default=None, min_length=1, max_length=64)


class AcceptOffer(_ClientMessage):
    type: Literal["accept"]
    offer_id: str = Field(min_length=1, max_length=200)


class RejectOffer(_ClientMessage):
    type: Literal["reject"]
    offer_id: str = Field(min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=500)


class PostReply(_ClientMessage):
    type: Literal["reply"]
    conversation_id: str = _ID
    text: str = Field(min_length=1, max_length=20_000)
    channel: str | None = _CHANNEL_NAME  # another of the customer's channels; default: the last one used


class AddNote(_ClientMessage):
    type: Literal["note"]
    conversation_id: str = _ID
    text: str = Field(min_length=1, max_length=5000)


class Transfer(_ClientMessage):
    type: Literal["transfer"]
    conversation_id: str = _ID
    to_queue: str | None = Field(default=None, min_length=1, max_length=64)
    to_agent_id: str | None = Field(default=None, min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _somewhere(self) -> "Transfer":
        if self.to_queue is None and self.to_agent_id is None:
            raise ValueError("a transfer needs to_queue or to_agent_id")
        return self


class ReturnToBot(_ClientMessage):
    type: Literal["return_to_bot"]
    conversation_id: str = _ID
    note: str | None = Field(default=None, max_length=2000)


class WrapUp(_ClientMessage):
    type: Literal["wrap_up"]
    conversation_id: str = _ID
    disposition: str = Field(min_length=1, max_length=64)


class RenewToken(_ClientMessage):
    type: Literal["token"]
    token: str = Field(min_length=1, max_length=20_000)


# What an agent does (each becomes one event), and everything a desk may send.
Action = SetPresence | AcceptOffer | RejectOffer | PostReply | AddNote | Transfer | ReturnToBot | WrapUp
ClientMessage = Annotated[Action | RenewToken, Field(discriminator="type")]
_CLIENT_MESSAGES: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


class ProtocolError(ValueError):
    """A client message the gateway cannot act on; answered with an `error` message."""

    def __init__(self, code: ErrorCode, message: str, ref: Ref | None = None) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.ref = ref


def parse_client_message(text: str) -> ClientMessage:
    """Decode one text frame, or raise ProtocolError (with the message's `ref` when it has one)."""
    try:
        return _CLIENT_MESSAGES.validate_json(text)
    except ValidationError as exc:
        errors = exc.errors()
        code: ErrorCode = "unsupported" if errors[0]["type"] == "union_tag_invalid" else "invalid"
        # loc[0] is the union member ("accept", ...); the rest names the field.
        detail = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'][1:]) or '(message)'}: {err['msg']}" for err in errors
        )
        raise ProtocolError(code, detail, _ref_of(text)) from None


def _ref_of(text: str) -> Ref | None:
    """The `ref` of a message that failed validation, so the client can match the error to it."""
    try:
        ref = json.loads(text).get("ref")
    except (ValueError, AttributeError):
        return None
    return ref if isinstance(ref, int | str) and not isinstance(ref, bool) and len(str(ref)) <= 200 else None


class _ServerMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)


class AgentInfo(BaseModel):
    id: str
    tenant: str
    name: str
    roles: tuple[str, ...]


class Ready(_ServerMessage):
    type: Literal["ready"] = "ready"
    seq: str
    agent: AgentInfo
    conversations: tuple[str, ...] = ()  # assigned to the agent now
    dispositions: tuple[str, ...] = ()
    away_reasons: tuple[str, ...] = ()  # the tenant's; empty when the router could not be asked


class Ack(_ServerMessage):
    type: Literal["ack"] = "ack"
    ref: Ref | None = None
    event_id: str | None = None  # the event the message became (none for a token renewal)


class Error(_ServerMessage):
    type: Literal["error"] = "error"
    ref: Ref | None = None
    code: ErrorCode
    message: str


# Inbox messages are stored without `seq`: it is the stream id Redis gives the entry, added when sent.


class OfferMessage(_ServerMessage):
    type: Literal["offer"] = "offer"
    offer_id: str
    conversation_id: str
    channel: str
    expires_at: datetime | None = None
    packet: HandoffPacket
    at: datetime


class OfferRescindedMessage(_ServerMessage):
    type: Literal["offer.rescinded"] = "offer.rescinded"
    offer_id: str
    conversation_id: str
    reason: str
    at: datetime


class AssignedMessage(_ServerMessage):
    type: Literal["assigned"] = "assigned"
    offer_id: str
    conversation_id: str
    agent_name: str | None = None
    at: datetime


class ConversationMessage(_ServerMessage):
    type: Literal["message"] = "message"
    conversation_id: str
    message: TranscriptEntry
    # A sealed customer message is stored sealed and opened only on its way to the desk, so the inbox
    # never holds the text of a customer whose key is destroyed. Never sent.
    sealed: str | None = None
    key_id: str | None = None


class Note(BaseModel):
    note_id: str
    author_id: str | None = None
    author_name: str
    text: str
    at: datetime


class NoteMessage(_ServerMessage):
    type: Literal["note"] = "note"
    conversation_id: str
    note: Note
    # As a message's: a sealed note is opened only on its way to the desk. Never sent.
    sealed: str | None = None
    key_id: str | None = None


class DeliveryMessage(_ServerMessage):
    type: Literal["delivery"] = "delivery"
    conversation_id: str
    message_id: str
    status: Literal["delivered", "read", "failed"]
    reason: str | None = None
    at: datetime


class ConversationUpdated(_ServerMessage):
    type: Literal["conversation.updated"] = "conversation.updated"
    conversation_id: str
    what: Literal["customer_left", "closed", "channel_switched"]
    channel: str | None = None
    at: datetime


class ReleasedMessage(_ServerMessage):
    type: Literal["released"] = "released"
    conversation_id: str
    reason: str
    disposition: str | None = None
    at: datetime


class By(BaseModel):
    """The supervisor who did it."""

    id: str
    name: str


class StatusMessage(_ServerMessage):
    type: Literal["status"] = "status"
    status: str
    reason: str | None = None
    by: By | None = None  # a supervisor set it
    at: datetime


class ClockMessage(_ServerMessage):
    """A response-time clock of one of the agent's conversations: near its target, past it, or stopped."""

    type: Literal["clock"] = "clock"
    conversation_id: str
    clock: str
    state: Literal["warning", "breached", "stopped"]
    due_at: datetime | None = None
    at: datetime


class TakenMessage(_ServerMessage):
    """The router gave one of the agent's conversations to another agent (a `released` follows)."""

    type: Literal["conversation.taken"] = "conversation.taken"
    conversation_id: str
    reason: Literal["silent", "offline", "breach", "supervisor"]
    by: By | None = None  # the supervisor who moved it or took it back
    at: datetime


class Whisper(BaseModel):
    whisper_id: str
    by: By
    text: str
    at: datetime


class WhisperMessage(_ServerMessage):
    """A supervisor's note to this agent about one of their conversations: the customer never sees it."""

    type: Literal["whisper"] = "whisper"
    conversation_id: str
    whisper: Whisper
    # As a note's: a sealed whisper is opened only on its way to the desk. Never sent.
    sealed: str | None = None
    key_id: str | None = None


InboxMessage = (
    OfferMessage
    | OfferRescindedMessage
    | AssignedMessage
    | ConversationMessage
    | NoteMessage
    | DeliveryMessage
    | ConversationUpdated
    | ReleasedMessage
    | StatusMessage
    | ClockMessage
    | TakenMessage
    | WhisperMessage
)


def with_seq(entry: bytes, seq: str) -> str:
    """An inbox entry as sent: the stored message plus its position in the inbox."""
    message: dict[str, Any] = json.loads(entry)
    return json.dumps({**message, "seq": seq}, separators=(",", ":"))

"""The agent desk's WebSocket protocol (`GET /v1/agent/ws`): one JSON object per text frame.

Connect with `?token=<JWT>` (browsers cannot set headers on a WebSocket) and optionally
`&after=<seq>`. A bad or expired token closes the socket with code 4401, a malformed `after`
with 4400; a session also closes with 4401 when its token expires.

Server -> client. Messages from the agent's inbox carry `seq`, the id of the entry in the
agent's inbox stream; reconnecting with `after=<last seq seen>` resumes right after it, on any
replica. Without `after` a session starts at the end of the inbox (only new entries).

- `{"type": "ready", "seq", "agent": {"id", "tenant", "name", "roles"}}` first, once the session
  is authenticated and positioned; `seq` is where it resumes from (pass it as `after` if nothing
  else arrives before a reconnect).
- `{"type": "offer", "seq", "offer_id", "conversation_id", "channel", "expires_at"?, "packet", "at"}`
  — a conversation is offered to the agent; `packet` is the handoff packet (summary, intent,
  language, transcript, skills, queue, priority, ...).
- `{"type": "offer.rescinded", "seq", "offer_id", "conversation_id", "reason", "at"}`
- `{"type": "assigned", "seq", "offer_id", "conversation_id", "agent_name"?, "at"}` — the
  conversation is the agent's: its messages follow.
- `{"type": "message", "seq", "conversation_id", "message": {"message_id", "author_kind",
  "author_name"?, "channel"?, "text", "at"}}` — a customer message or a reply (bot or agent; the
  agent's own replies come back too, with the `message_id` its `ack` announced), in
  conversation order.

Direct answers to a client message, without `seq`:

- `{"type": "ack", "ref"?, "event_id"}` — the action is published; for a reply, `event_id` is
  also the reply's `message_id`.
- `{"type": "error", "ref"?, "code", "message"}` — the socket stays open. Codes: `invalid` (not
  a valid message), `unsupported` (unknown `type`), `not_yours` (the offer or conversation is not
  this agent's), `unavailable` (try again; with the same `client_msg_id` a retry is not doubled).

Client -> server. Every message may carry `ref` (string or integer, echoed in the answer) and
`client_msg_id` (the event id is then derived from it, so a retried message is applied once):

- `{"type": "presence", "presence": "available" | "away" | "offline", "capacity"?: {"*": 1}}`
- `{"type": "accept", "offer_id"}`
- `{"type": "reject", "offer_id", "reason"?}`
- `{"type": "reply", "conversation_id", "text"}`
"""

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from relais_contracts.conversation import HandoffPacket, TranscriptEntry
from relais_contracts.routing import Presence

Ref = Annotated[str, Field(max_length=200)] | int
ErrorCode = Literal["invalid", "unsupported", "not_yours", "unavailable"]


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


class AcceptOffer(_ClientMessage):
    type: Literal["accept"]
    offer_id: str = Field(min_length=1, max_length=200)


class RejectOffer(_ClientMessage):
    type: Literal["reject"]
    offer_id: str = Field(min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=500)


class PostReply(_ClientMessage):
    type: Literal["reply"]
    conversation_id: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=20_000)


ClientMessage = Annotated[SetPresence | AcceptOffer | RejectOffer | PostReply, Field(discriminator="type")]
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


class Ack(_ServerMessage):
    type: Literal["ack"] = "ack"
    ref: Ref | None = None
    event_id: str


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


InboxMessage = OfferMessage | OfferRescindedMessage | AssignedMessage | ConversationMessage


def with_seq(entry: bytes, seq: str) -> str:
    """An inbox entry as sent: the stored message plus its position in the inbox."""
    message: dict[str, Any] = json.loads(entry)
    return json.dumps({**message, "seq": seq}, separators=(",", ":"))

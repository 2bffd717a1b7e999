"""Every Relais event type, one discriminated union, and the one call that decodes a record."""

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter, ValidationError
from pydantic_core import from_json

from relais_contracts.agents import (
    AgentStatusChanged,
    ClockChanged,
    ConversationTaken,
    OfferCreated,
    OfferRescinded,
)
from relais_contracts.channel import DeliveryUpdated, MessageReceived, MessageSend, SessionEnded
from relais_contracts.conversation import (
    Assigned,
    ChannelSwitched,
    ClockBreached,
    Closed,
    CustomerLeft,
    CustomerMessage,
    DeliveryStatus,
    Dequeued,
    HandoffRequested,
    NoteAdded,
    Offered,
    Opened,
    Queued,
    Reassigned,
    Released,
    ReplyPosted,
    ReturnedToBot,
    Transferred,
    WaitUpdated,
    WhisperAdded,
)
from relais_contracts.customers import CustomerErased, IdentityConfirmed, IdentityLinked, IdentityUnlinked
from relais_contracts.envelope import CloudEvent
from relais_contracts.facts import ConversationFact
from relais_contracts.routing import (
    AgentReplied,
    CustomerWrote,
    OfferAccepted,
    OfferRejected,
    PresenceChanged,
    QueuesConfigured,
    SupervisorMoveRequested,
    SupervisorPresenceSet,
    SupervisorTakeBackRequested,
    TimerTick,
    TransferRequested,
    WorkCancelled,
    WorkCompleted,
    WorkSubmitted,
)

Event = Annotated[
    MessageReceived
    | DeliveryUpdated
    | SessionEnded
    | MessageSend
    | Opened
    | CustomerMessage
    | ReplyPosted
    | NoteAdded
    | HandoffRequested
    | Queued
    | Offered
    | Assigned
    | WaitUpdated
    | Transferred
    | Released
    | Dequeued
    | ReturnedToBot
    | ChannelSwitched
    | Closed
    | CustomerLeft
    | DeliveryStatus
    | IdentityLinked
    | IdentityUnlinked
    | IdentityConfirmed
    | CustomerErased
    | WorkSubmitted
    | PresenceChanged
    | OfferAccepted
    | OfferRejected
    | WorkCompleted
    | WorkCancelled
    | TransferRequested
    | TimerTick
    | QueuesConfigured
    | OfferCreated
    | OfferRescinded
    | AgentStatusChanged
    | AgentReplied
    | CustomerWrote
    | ClockBreached
    | Reassigned
    | ClockChanged
    | ConversationTaken
    | ConversationFact
    | SupervisorMoveRequested
    | SupervisorTakeBackRequested
    | SupervisorPresenceSet
    | WhisperAdded,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

EVENT_TYPES: dict[str, type[CloudEvent]] = {
    model.model_fields["type"].default: model
    for model in (
        MessageReceived, DeliveryUpdated, SessionEnded, MessageSend, Opened, CustomerMessage,
        ReplyPosted, HandoffRequested, Queued, Offered, Assigned, WaitUpdated, Transferred, Released,
        Dequeued, ReturnedToBot, WorkSubmitted, PresenceChanged, OfferAccepted, OfferRejected,
        WorkCompleted, WorkCancelled, TransferRequested, TimerTick, QueuesConfigured, OfferCreated,
        OfferRescinded, AgentStatusChanged, ChannelSwitched, Closed, CustomerLeft, DeliveryStatus,
        IdentityLinked, IdentityUnlinked, IdentityConfirmed, CustomerErased, NoteAdded,
        AgentReplied, CustomerWrote, ClockBreached, Reassigned, ClockChanged, ConversationTaken,
        ConversationFact,
        SupervisorMoveRequested, SupervisorTakeBackRequested, SupervisorPresenceSet, WhisperAdded,
    )
}  # fmt: skip

DecodeReason = Literal["null-value", "invalid-json", "not-cloudevent", "unknown-type", "schema"]
_REQUIRED_ATTRIBUTES = ("specversion", "id", "source", "type")


class DecodeError(ValueError):
    """Why a record is not a Relais event; `reason` is a stable code for dead-letter metrics."""

    def __init__(self, reason: DecodeReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: DecodeReason = reason
        self.detail = detail


def decode(raw: bytes | str | None) -> Event:
    """Decode one record value (CloudEvents structured JSON) into its typed event, or raise DecodeError.

    Whatever the bytes, the only exception is DecodeError: a record must never crash its consumer.
    """
    if raw is None:
        raise DecodeError("null-value", "the record has no value (a tombstone)")
    try:
        # pydantic's parser, not json.loads: it refuses invalid UTF-8, lone surrogates (which would
        # fail later, when the text is encoded again), NaN, huge numbers and nesting beyond 200 levels
        # (json.loads raises RecursionError there) with one ValueError.
        obj = from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        raise DecodeError("invalid-json", str(exc)) from None
    if not isinstance(obj, dict) or any(attr not in obj for attr in _REQUIRED_ATTRIBUTES):
        raise DecodeError(
            "not-cloudevent", f"a CloudEvent is a JSON object with {', '.join(_REQUIRED_ATTRIBUTES)}"
        )
    if obj["specversion"] != "1.0":
        raise DecodeError("not-cloudevent", f"unsupported specversion {str(obj['specversion'])[:50]!r}")
    event_type = obj["type"]
    if not isinstance(event_type, str):  # `"type": []` would not even hash
        raise DecodeError("not-cloudevent", f"type must be a string, not {_json_type(event_type)}")
    if event_type not in EVENT_TYPES:
        raise DecodeError("unknown-type", f"unknown event type {event_type[:100]!r}")
    try:
        return EVENT_ADAPTER.validate_python(obj)
    except ValidationError as exc:
        errors = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'][1:]) or '(event)'}: {err['msg']}" for err in exc.errors()
        )
        raise DecodeError("schema", errors) from None
    except RecursionError:  # a payload model's own validators on data nested too deep
        raise DecodeError("schema", "data nested too deeply") from None


def _json_type(value: object) -> str:
    return {dict: "an object", list: "an array", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )

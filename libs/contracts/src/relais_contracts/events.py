"""Every Relais event type, one discriminated union, and the one call that decodes a record."""

import json
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter, ValidationError

from relais_contracts.agents import AgentStatusChanged, OfferCreated, OfferRescinded
from relais_contracts.channel import DeliveryUpdated, MessageReceived, MessageSend, SessionEnded
from relais_contracts.conversation import (
    Assigned,
    ChannelSwitched,
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
    Released,
    ReplyPosted,
    ReturnedToBot,
    Transferred,
    WaitUpdated,
)
from relais_contracts.customers import CustomerErased, IdentityConfirmed, IdentityLinked, IdentityUnlinked
from relais_contracts.envelope import CloudEvent
from relais_contracts.routing import (
    OfferAccepted,
    OfferRejected,
    PresenceChanged,
    QueuesConfigured,
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
    | AgentStatusChanged,
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
    )
}  # fmt: skip

DecodeReason = Literal["invalid-json", "not-cloudevent", "unknown-type", "schema"]
_REQUIRED_ATTRIBUTES = ("specversion", "id", "source", "type")


class DecodeError(ValueError):
    """Why a record is not a Relais event; `reason` is a stable code for dead-letter metrics."""

    def __init__(self, reason: DecodeReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: DecodeReason = reason
        self.detail = detail


def decode(raw: bytes | str) -> Event:
    """Decode one record value (CloudEvents structured JSON) into its typed event, or raise DecodeError."""
    try:
        obj = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DecodeError("invalid-json", str(exc)) from None
    if not isinstance(obj, dict) or any(attr not in obj for attr in _REQUIRED_ATTRIBUTES):
        raise DecodeError(
            "not-cloudevent", f"a CloudEvent needs the attributes {', '.join(_REQUIRED_ATTRIBUTES)}"
        )
    if obj["specversion"] != "1.0":
        raise DecodeError("not-cloudevent", f"unsupported specversion {obj['specversion']!r}")
    if obj["type"] not in EVENT_TYPES:
        raise DecodeError("unknown-type", f"unknown event type {obj['type']!r}")
    try:
        return EVENT_ADAPTER.validate_python(obj)
    except ValidationError as exc:
        errors = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'][1:]) or '(event)'}: {err['msg']}" for err in exc.errors()
        )
        raise DecodeError("schema", errors) from None

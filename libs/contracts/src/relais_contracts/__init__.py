"""Relais event contracts: the CloudEvents envelope, one model per event type, topic names."""

from relais_contracts.envelope import (
    CONTENT_TYPE,
    TENANT_MAX_LENGTH,
    TENANT_PATTERN,
    CloudEvent,
    Outgoing,
    derive_id,
    derive_key,
    event_uid,
    now_time,
)
from relais_contracts.events import EVENT_TYPES, DecodeError, Event, decode

__all__ = [
    "CONTENT_TYPE",
    "EVENT_TYPES",
    "TENANT_MAX_LENGTH",
    "TENANT_PATTERN",
    "CloudEvent",
    "DecodeError",
    "Event",
    "Outgoing",
    "decode",
    "derive_id",
    "derive_key",
    "event_uid",
    "now_time",
]

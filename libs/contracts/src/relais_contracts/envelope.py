"""The CloudEvents 1.0 envelope (structured JSON mode) shared by every Relais event.

Each event type is a subclass that pins `type` to a Literal and `data` to its payload model, so a
discriminated union (see `events.py`) decodes any record in one call.
"""

import functools
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

CONTENT_TYPE = "application/cloudevents+json"

# Fixed namespace so that an output id depends only on the input event's (source, id) and the output's index:
# replaying an input after a crash reproduces exactly the same output ids, and consumers drop them.
_OUTPUT_ID_NAMESPACE = uuid.UUID("6f1c3e4a-52a4-4c11-9a54-0d7c3f1e2b90")

TenantId = str
# A tenant id as it appears in events, keys, tokens and URLs.
TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
TENANT_MAX_LENGTH = 64


class Payload(BaseModel):
    """Base of every `data` model. Unknown fields are ignored so producers can add optional fields."""

    # Validation errors never quote the input: it may be a customer's words, and errors reach logs and
    # dead-letter headers.
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, hide_input_in_errors=True)


class CloudEvent(BaseModel):
    """CloudEvents attributes used by Relais, plus the extensions `tenant`, `correlationid`, `causationid`."""

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    # Which topics an event type may appear on; used for the AsyncAPI export and by publishers' checks.
    topics: ClassVar[tuple[str, ...]] = ()

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=500)
    type: str
    time: AwareDatetime
    datacontenttype: Literal["application/json"] = "application/json"
    subject: str | None = Field(default=None, max_length=200)
    tenant: TenantId = Field(min_length=1, max_length=TENANT_MAX_LENGTH, pattern=TENANT_PATTERN)
    correlationid: str | None = Field(default=None, max_length=200)
    causationid: str | None = Field(default=None, max_length=200)
    data: Any

    @property
    def uid(self) -> str:
        """The event's identity: CloudEvents makes `id` unique only within its `source`, so two
        integrators may send the same id. Deduplication and derived ids use this, never `id` alone."""
        return event_uid(self.source, self.id)

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True, by_alias=True).encode()

    def follow(self, index: int, **fields: Any) -> dict[str, Any]:
        """Envelope attributes of the `index`-th event caused by this one.

        The id is derived from this event's (source, id), the correlation id is carried along and the
        causation id points back here. Callers add `source`, `data` and, if needed, `subject`.
        """
        return {
            "id": derive_id(self.source, self.id, index),
            "time": self.time,
            "tenant": self.tenant,
            "correlationid": self.correlationid or self.id,
            "causationid": self.id,
            **fields,
        }


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An event a decision produces: the contract topic it goes to, its record key, the event."""

    topic: str
    key: str
    event: CloudEvent


# Cached: handlers ask an event for its uid many times (deduplication, state keys, derived ids). The
# events of a batch and their outputs fit many times over in the cache.
@functools.lru_cache(maxsize=65_536)
def event_uid(source: str, event_id: str) -> str:
    """One string for (source, id), deterministic: a uuid5 of both, unambiguous whatever they hold."""
    # The text of json.dumps([source, event_id]) (ASCII, ", " between), without building an encoder.
    return _uuid5(f"[{_json_string(source)}, {_json_string(event_id)}]")


def derive_id(source: str, input_id: str, index: int) -> str:
    """Deterministic id of the `index`-th output caused by the event (`source`, `input_id`)."""
    return _uuid5(f"{event_uid(source, input_id)}#{index}")


def derive_key(*parts: str) -> str:
    """Deterministic id for an entity first seen in an event (a conversation, an offer)."""
    return _uuid5("/".join(parts))


_json_string = json.encoder.encode_basestring_ascii
_NAMESPACE_BYTES = _OUTPUT_ID_NAMESPACE.bytes


def _uuid5(name: str) -> str:
    """str(uuid.uuid5(_OUTPUT_ID_NAMESPACE, name)), the same string without a UUID object or a byte
    array (the version and variant are set in the hex text): every event's uid and every derived id
    is one, several per message in every service."""
    h = hashlib.sha1(_NAMESPACE_BYTES + name.encode(), usedforsecurity=False).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


# The RFC 4122 variant (binary 10) over the top two bits of the 17th hex digit.
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def now_time() -> datetime:
    """Wall-clock time for events created at the edge (an HTTP call, a WebSocket message)."""
    return datetime.now(UTC)

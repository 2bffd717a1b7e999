"""CloudEvents over HTTP (binding 1.0) into the channel contract's events, and the checks of the ingress.

Three modes: structured (`application/cloudevents+json`, the event is the body), binary (`ce-*` headers
are the attributes, the body is `data`) and batch (`application/cloudevents-batch+json`, a JSON array
of structured events). Each event is validated by the contract's own decoder, so the ingress accepts
exactly what a Kafka integrator may publish on `relais.inbound.v1`.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from pydantic_core import from_json

from relais_channels.domain.integrators import Integrator
from relais_contracts import CloudEvent, DecodeError, Outgoing, decode, topics
from relais_contracts.channel import DeliveryUpdated, MessageReceived, SessionEnded

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
# Binary mode carries `data` as the body; the contract's data is JSON.
BINARY_DATA = "application/json"
INBOUND_TYPES = (MessageReceived, DeliveryUpdated, SessionEnded)
_INBOUND_TYPE_NAMES = {model.model_fields["type"].default for model in INBOUND_TYPES}
# CloudEvents attributes the contract knows; in binary mode each is a `ce-<name>` header.
_BINARY_ATTRIBUTES = (
    "specversion", "id", "source", "type", "time", "subject", "tenant", "correlationid", "causationid",
)  # fmt: skip


class IngressError(ValueError):
    """A refused request: the HTTP status and a precise reason for the caller."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail


def invalid(detail: str) -> IngressError:
    return IngressError(400, "invalid event", detail)


@dataclass(frozen=True, slots=True)
class Request:
    """What the ingress reads of an HTTP request: its media type, its headers (lower-case), its body."""

    content_type: str
    headers: Mapping[str, str]
    body: bytes


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def events_of(request: Request, max_batch: int) -> list[CloudEvent]:
    """The events a request carries, each validated against the contract; IngressError otherwise."""
    kind = media_type(request.content_type)
    if kind == STRUCTURED:
        return [_decode(request.body, "")]
    if kind == BATCH:
        items = _json(request.body)
        if not isinstance(items, list):
            raise invalid("a batch is a JSON array of events")
        if not items:
            raise invalid("the batch is empty")
        if len(items) > max_batch:
            raise IngressError(
                413, "batch too large", f"{len(items)} events in one batch (at most {max_batch})"
            )
        return [_decode(json.dumps(item).encode(), f"[{i}] ") for i, item in enumerate(items)]
    if "ce-specversion" in request.headers:
        return [_binary(request, kind)]
    raise IngressError(
        415,
        "unsupported media type",
        f"send {STRUCTURED}, {BATCH}, or binary mode ({BINARY_DATA} with ce-* headers)",
    )


def _binary(request: Request, kind: str) -> CloudEvent:
    if kind != BINARY_DATA:
        raise IngressError(415, "unsupported media type", f"binary mode carries data as {BINARY_DATA}")
    try:
        return _binary_event(request)
    except UnicodeDecodeError:
        raise invalid("a ce-* header is not percent-encoded UTF-8") from None


def _binary_event(request: Request) -> CloudEvent:
    # Header values are percent-encoded where they would not be printable ASCII (binding 1.0, 3.1.3.2).
    event: dict[str, Any] = {
        name: unquote(request.headers[f"ce-{name}"], errors="strict")
        for name in _BINARY_ATTRIBUTES
        if f"ce-{name}" in request.headers
    }
    event["datacontenttype"] = BINARY_DATA
    event["data"] = _json(request.body)
    return _decode(json.dumps(event).encode(), "")


def _json(body: bytes) -> Any:
    try:
        # The contract's parser: it refuses invalid UTF-8, lone surrogates, NaN and deep nesting.
        return from_json(body, allow_inf_nan=False)
    except ValueError as exc:
        raise invalid(f"the body is not valid JSON in UTF-8: {exc}") from None


def _decode(raw: bytes, where: str) -> CloudEvent:
    try:
        event = decode(raw)
    except DecodeError as exc:
        if exc.reason == "invalid-json":
            raise invalid(f"{where}the body is not valid JSON in UTF-8: {exc.detail}") from None
        raise invalid(f"{where}{exc.reason}: {exc.detail}") from None
    if event.type not in _INBOUND_TYPE_NAMES:
        raise invalid(
            f"{where}{event.type} is not a channel event "
            f"(send one of {', '.join(sorted(_INBOUND_TYPE_NAMES))})"
        )
    return event


def _channel(event: CloudEvent) -> str | None:
    """The channel an inbound event speaks for; a delivery report names a message, not a channel."""
    if isinstance(event, MessageReceived | SessionEnded):
        return event.data.channel
    return None


def authorize(integrator: Integrator, events: Sequence[CloudEvent]) -> None:
    """Refuse the whole request (403) when one of its events is for another tenant or channel."""
    for i, event in enumerate(events):
        where = f"[{i}] " if len(events) > 1 else ""
        channel = _channel(event)
        if event.tenant != integrator.tenant:
            raise IngressError(
                403, "forbidden", f"{where}integrator {integrator.id} may not speak for tenant {event.tenant}"
            )
        if not integrator.may_speak_for(event.tenant, channel):
            raise IngressError(
                403,
                "forbidden",
                f"{where}integrator {integrator.id} may not speak for channel {channel} "
                f"(only {', '.join(sorted(integrator.channels))})",
            )


def outgoing(event: CloudEvent) -> Outgoing:
    """The record of an accepted event, keyed as the contract says: one customer address stays in order."""
    if isinstance(event, MessageReceived | SessionEnded):
        key = topics.inbound_key(event.tenant, event.data.channel, event.data.from_.address)
    elif isinstance(event, DeliveryUpdated):
        # A report names no address: its message's reports stay in order with each other.
        key = f"{event.tenant}:delivery:{event.data.message_id or event.data.external_id}"
    else:  # events_of lets only the inbound types through
        raise TypeError(f"{event.type} is not an inbound event")
    return Outgoing(topics.INBOUND, key, event)

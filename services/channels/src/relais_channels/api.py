"""The HTTP ingress: `POST /v1/events`, signed CloudEvents over HTTP (docs/integrators.md).

It is a bare ASGI middleware in front of the FastAPI app, not a FastAPI route: the ingress's own work
(signature, validation, Kafka) is a fraction of a request's CPU, and FastAPI's middleware stack,
dependency resolution and response classes took more than half of it (py-spy, `make bench-channels`).
Every other path goes on to the app; the operation is still in the app's OpenAPI document.
"""

import json
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog
from fastapi import FastAPI

from relais_channels.domain import signing
from relais_channels.domain.cloudevents_http import IngressError
from relais_channels.domain.cloudevents_http import Request as IngressRequest
from relais_channels.ingress import Ingress, RateLimited
from relais_channels.metrics import INGRESS_REQUESTS, INGRESS_SECONDS
from relais_platform.faults import infrastructure_fault

log = structlog.get_logger(__name__)
PATH = "/v1/events"
PROBLEM = "application/problem+json"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Answer:
    """A whole response: status, body and headers (content-type and content-length set here)."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, content: object, media_type: str, headers: dict[str, str] | None = None):
        self.status = status
        self.body = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
        self.headers = [(b"content-type", media_type.encode()), (b"content-length", b"%d" % len(self.body))]
        self.headers += [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()
        ]

    async def send(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> Answer:
    """An RFC 9457 problem: what is wrong, precisely enough to fix the request."""
    return Answer(
        status, {"type": "about:blank", "title": title, "status": status, "detail": detail}, PROBLEM, headers
    )


class ClientGone(Exception):
    """The client disconnected before its body was read: nothing is published, nothing answered."""


async def _body(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The raw body, refused (413) past `limit` bytes without reading the rest."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise IngressError(413, "payload too large", f"the body is {declared} bytes (at most {limit})")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise IngressError(413, "payload too large", f"the body is over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


_SCHEMAS = "https://relais.dev/schemas"
_EVENT = {
    "oneOf": [
        {"$ref": f"{_SCHEMAS}/relais.channel.message.received.json"},
        {"$ref": f"{_SCHEMAS}/relais.channel.delivery.updated.json"},
        {"$ref": f"{_SCHEMAS}/relais.channel.session.ended.json"},
    ]
}
_PROBLEM = {
    "type": "object",
    "required": ["title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "what is wrong, precisely (e.g. the schema error)"},
    },
}
_SIGNATURE_HEADERS = [
    {
        "name": signing.INTEGRATOR_HEADER,
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "the integrator's id",
    },
    {
        "name": signing.SIGNATURE_HEADER,
        "in": "header",
        "required": True,
        "schema": {"type": "string", "pattern": "^t=[0-9]+(,v1=[0-9a-f]{64})+$"},
        "description": 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the secret>; '
        "at most RELAIS_SIGNATURE_TOLERANCE_S (300 s) from the service's clock",
    },
]


def _refusal(description: str) -> dict[str, object]:
    return {"description": description, "content": {PROBLEM: {"schema": _PROBLEM}}}


OPERATION = {
    "tags": ["ingress"],
    "summary": "Post Events",
    "description": "Publish channel events (structured, binary or batch) on relais.inbound.v1; "
    "202 once acknowledged.",
    "operationId": "post_events_v1_events_post",
    "parameters": _SIGNATURE_HEADERS,
    "requestBody": {
        "required": True,
        "description": "CloudEvents over HTTP: structured mode (the event), batch mode (an array of events) "
        "or binary mode (`application/json` data, the attributes as `ce-*` headers)",
        "content": {
            "application/cloudevents+json": {"schema": _EVENT},
            "application/cloudevents-batch+json": {
                "schema": {"type": "array", "items": _EVENT, "minItems": 1}
            },
            "application/json": {
                "schema": {"type": "object", "description": "binary mode: the event's data"}
            },
        },
    },
    "responses": {
        "202": {
            "description": "every event acknowledged by Kafka (acks=all)",
            "content": {
                "application/json": {
                    "schema": {"type": "object", "properties": {"accepted": {"type": "integer"}}}
                }
            },
        },
        "400": _refusal("not JSON in UTF-8, not a channel event, or invalid against its JSON Schema"),
        "401": _refusal("unknown integrator, missing, stale or wrong signature"),
        "403": _refusal("an event for a tenant or channel the integrator may not speak for"),
        "413": _refusal("the body or the batch is over its limit"),
        "415": _refusal("neither structured, batch nor binary mode"),
        "429": _refusal("over the integrator's rate; Retry-After says when to send again"),
        "503": _refusal("Kafka did not acknowledge; send again (the same ids are applied once)"),
    },
}


class IngressEndpoint:
    """`POST /v1/events` answered here; any other request goes on to `app`."""

    def __init__(self, app: ASGIApp, ingress: Ingress) -> None:
        self.app = app
        self.ingress = ingress

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH:
            await self.app(scope, receive, send)
        elif scope["method"] != "POST":
            await Answer(405, {"detail": "Method Not Allowed"}, "application/json", {"Allow": "POST"}).send(
                send
            )
        else:
            try:
                answer = await self.post_events(scope, receive)
            except ClientGone:
                return
            await answer.send(send)

    async def post_events(self, scope: Scope, receive: Receive) -> Answer:
        """Publish channel events (structured, binary or batch) on relais.inbound.v1; 202 once acknowledged
        (the operation's description in the OpenAPI document)."""
        started = time.perf_counter()
        ingress = self.ingress
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:  # lower-case names; the first of repeated ones, as Starlette
            headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
        integrator_id = headers.get(_INTEGRATOR)
        label = integrator_id if integrator_id in ingress.integrators else "unknown"
        try:
            body = await _body(
                receive, headers.get("content-length"), ingress.settings.ingress_max_body_bytes
            )
            count = await ingress.receive(
                integrator_id,
                headers.get(_SIGNATURE),
                IngressRequest(headers.get("content-type", ""), headers, body),
            )
            answer = Answer(202, {"accepted": count}, "application/json")
        except RateLimited as exc:
            answer = problem(
                exc.status, exc.title, exc.detail, {"Retry-After": str(math.ceil(exc.retry_after_s))}
            )
        except IngressError as exc:
            log.info(
                "ingress refused a request", integrator=label, status=exc.status, reason=exc.detail[:300]
            )
            answer = problem(exc.status, exc.title, exc.detail)
        except Exception as exc:
            if not infrastructure_fault(exc):
                raise
            # Kafka did not acknowledge: nothing is promised, the integrator sends again (ids make it safe).
            log.warning("ingress could not publish", integrator=label, error=repr(exc))
            answer = problem(
                503, "unavailable", "the events could not be stored; send them again", {"Retry-After": "1"}
            )
        INGRESS_REQUESTS.labels(label, str(answer.status)).inc()
        INGRESS_SECONDS.observe(time.perf_counter() - started)
        return answer


_INTEGRATOR = signing.INTEGRATOR_HEADER.lower()
_SIGNATURE = signing.SIGNATURE_HEADER.lower()


def serve_ingress(app: FastAPI, ingress: Ingress) -> None:
    """Answer `POST /v1/events` in front of the app's routes (inside its error middleware, so a bug is
    still a logged 500), and document it in the app's OpenAPI document."""
    app.add_middleware(IngressEndpoint, ingress=ingress)
    # The app keeps the document it generates until its routes change: the operation is added to it.
    app.openapi()["paths"][PATH] = {"post": OPERATION}

"""The HTTP ingress: `POST /v1/events`, signed CloudEvents over HTTP (docs/integrators.md)."""

import math
import time
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from relais_channels.domain import signing
from relais_channels.domain.cloudevents_http import IngressError
from relais_channels.domain.cloudevents_http import Request as IngressRequest
from relais_channels.ingress import Ingress, RateLimited
from relais_channels.metrics import INGRESS_REQUESTS, INGRESS_SECONDS
from relais_platform.faults import infrastructure_fault

log = structlog.get_logger(__name__)
PROBLEM = "application/problem+json"

router = APIRouter(tags=["ingress"])


async def _ingress(request: Request) -> Ingress:
    # async: FastAPI runs a plain `def` dependency in a worker thread, a thread hop per request.
    ingress: Ingress = request.app.state.ingress
    return ingress


IngressDep = Annotated[Ingress, Depends(_ingress)]


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    """An RFC 9457 problem: what is wrong, precisely enough to fix the request."""
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type=PROBLEM,
        headers=headers,
    )


async def _body(request: Request, limit: int) -> bytes:
    """The raw body, refused (413) past `limit` bytes without reading the rest."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise IngressError(413, "payload too large", f"the body is {declared} bytes (at most {limit})")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise IngressError(413, "payload too large", f"the body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


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


_OPENAPI = {
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


@router.post("/v1/events", status_code=202, openapi_extra=_OPENAPI, response_model=None)
async def post_events(request: Request, ingress: IngressDep) -> Response:
    """Publish channel events (structured, binary or batch) on relais.inbound.v1; 202 once acknowledged."""
    started = time.perf_counter()
    integrator_id = request.headers.get(signing.INTEGRATOR_HEADER)
    label = integrator_id if integrator_id in ingress.integrators else "unknown"
    try:
        body = await _body(request, ingress.settings.ingress_max_body_bytes)
        count = await ingress.receive(
            integrator_id,
            request.headers.get(signing.SIGNATURE_HEADER),
            IngressRequest(request.headers.get("content-type", ""), request.headers, body),
        )
        response: Response = JSONResponse({"accepted": count}, status_code=202)
    except RateLimited as exc:
        response = problem(
            exc.status, exc.title, exc.detail, {"Retry-After": str(math.ceil(exc.retry_after_s))}
        )
    except IngressError as exc:
        log.info("ingress refused a request", integrator=label, status=exc.status, reason=exc.detail[:300])
        response = problem(exc.status, exc.title, exc.detail)
    except Exception as exc:
        if not infrastructure_fault(exc):
            raise
        # Kafka did not acknowledge: nothing is promised, the integrator sends again (ids make it safe).
        log.warning("ingress could not publish", integrator=label, error=repr(exc))
        response = problem(
            503, "unavailable", "the events could not be stored; send them again", {"Retry-After": "1"}
        )
    INGRESS_REQUESTS.labels(label, str(response.status_code)).inc()
    INGRESS_SECONDS.observe(time.perf_counter() - started)
    return response

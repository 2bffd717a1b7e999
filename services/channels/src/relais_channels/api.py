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


def _ingress(request: Request) -> Ingress:
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


@router.post("/v1/events", status_code=202)
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

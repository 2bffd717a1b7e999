"""Channel events as an integrator sends them over HTTP, for the channels service's tests."""

import json
import time
import uuid
from typing import Any

from relais_channels.domain.signing import sign

TENANT = "acme"
SECRET = "acme-web-secret-0123456789abcdef0123"


def message(
    text: str = "Bonjour",
    *,
    address: str = "visitor-1",
    channel: str = "webchat",
    tenant: str = TENANT,
    **extra: Any,
) -> dict[str, Any]:
    """A `relais.channel.message.received` in structured mode, as a JSON object."""
    return {
        "specversion": "1.0",
        "id": extra.pop("id", str(uuid.uuid4())),
        "source": "acme/webchat",
        "type": "relais.channel.message.received",
        "time": "2026-11-24T10:00:00Z",
        "tenant": tenant,
        "data": {"channel": channel, "from": {"address": address}, "text": text, "external_id": "x1"},
        **extra,
    }


def signed(
    body: bytes, integrator: str = "acme-web", secret: str = SECRET, at: int | None = None
) -> dict[str, str]:
    """The headers of a request of `integrator` signing `body` at `at` (now by default)."""
    return {
        "Relais-Integrator": integrator,
        "Relais-Signature": sign(secret.encode(), int(time.time()) if at is None else at, body),
    }


def body(event: Any) -> bytes:
    return json.dumps(event).encode()

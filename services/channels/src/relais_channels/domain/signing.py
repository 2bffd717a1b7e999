"""The request signature of the HTTP ingress and of webhooks: `Relais-Signature: t=<unix s>,v1=<hex>`.

`v1` is the hex HMAC-SHA256, keyed with the integrator's secret, of `"<t>.<raw body>"`: the time is
signed with the body, so a captured request cannot be replayed later or with another body.
"""

import hmac
from dataclasses import dataclass

SIGNATURE_HEADER = "Relais-Signature"
INTEGRATOR_HEADER = "Relais-Integrator"
SCHEME = "v1"


class SignatureError(ValueError):
    """Why a signature is refused, in words safe to send back (never the expected value)."""


@dataclass(frozen=True, slots=True)
class ParsedSignature:
    timestamp: int
    signatures: tuple[str, ...]


def digest(secret: bytes, timestamp: int, body: bytes) -> str:
    # hmac.digest: OpenSSL's one-shot HMAC, a third cheaper than an hmac.new object (on every request).
    return hmac.digest(secret, b"%d.%b" % (timestamp, body), "sha256").hex()


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The header value for `body` signed at `timestamp`."""
    return f"t={timestamp},{SCHEME}={digest(secret, timestamp, body)}"


def parse(header: str | None) -> ParsedSignature:
    if not header:
        raise SignatureError(f"the {SIGNATURE_HEADER} header is missing")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError(f"{SIGNATURE_HEADER} is t=<unix seconds>,{SCHEME}=<hex>")
        if name == "t":
            if not value.isascii() or not value.isdigit() or len(value) > 12:
                raise SignatureError(f"{SIGNATURE_HEADER}: t must be unix seconds")
            timestamp = int(value)
        elif name == SCHEME:
            signatures.append(value.lower())
        # Other schemes are ignored, so a later scheme can be sent beside v1 during a migration.
    if timestamp is None:
        raise SignatureError(f"{SIGNATURE_HEADER} has no t=")
    if not signatures:
        raise SignatureError(f"{SIGNATURE_HEADER} has no {SCHEME}= signature")
    return ParsedSignature(timestamp, tuple(signatures))


def verify(
    header: str | None, secrets: tuple[bytes, ...], body: bytes, now: float, tolerance_s: float
) -> int:
    """The signed timestamp when `header` signs `body` with one of `secrets` within `tolerance_s` of
    `now`; otherwise SignatureError. Compares in constant time."""
    parsed = parse(header)
    skew = now - parsed.timestamp
    if abs(skew) > tolerance_s:
        direction = "old" if skew > 0 else "far in the future"
        raise SignatureError(
            f"the signature's timestamp is {abs(int(skew))} s {direction} (at most {int(tolerance_s)} s)"
        )
    expected = [digest(secret, parsed.timestamp, body) for secret in secrets]
    # Every pair is compared, so the time taken says nothing about which secret or value came close.
    matched = False
    for candidate in parsed.signatures:
        for value in expected:
            matched |= hmac.compare_digest(candidate.encode(), value.encode())
    if not matched:
        raise SignatureError("the signature does not match the body")
    return parsed.timestamp

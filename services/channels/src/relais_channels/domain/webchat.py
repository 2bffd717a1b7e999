"""The web chat's pure core: visitor tokens, the widget's frames, and what a visitor's history holds.

A visitor is a random id (`v-…`), the customer's address on the `webchat` channel. The browser keeps
it as a token signed with the integrator's secret, so a visitor can only ever name itself: the history
a socket reads is the one of the id in its token (docs/channels.md, "Web chat").
"""

import hashlib
import hmac
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from relais_channels.domain.integrators import Integrator
from relais_channels.domain.ratelimit import TokenBucket
from relais_contracts.channel import (
    IdentityHints,
    MessageReceived,
    MessageReceivedData,
    MessageSend,
    Party,
)
from relais_contracts.conversation import Assigned, Released, ReturnedToBot, Transferred

CHANNEL = "webchat"
VISITOR = re.compile(r"^v-[A-Za-z0-9_-]{22}$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TOKEN_CONTEXT = "relais-webchat-visitor-v1"  # noqa: S105 (what the MAC is of, not a secret)
# Event ids of a visitor's messages: derived from the widget's client id, so that a message sent again
# after a lost ack (a reconnect) has the id it had, and the context store applies it once.
_IDS = uuid.UUID("5b0e7a52-59f4-4c36-9a53-0c1f0e0d7a11")


def new_visitor() -> str:
    return "v-" + secrets.token_urlsafe(16)


def _mac(secret: bytes, integrator_id: str, visitor: str) -> str:
    base = f"{_TOKEN_CONTEXT}\n{integrator_id}\n{visitor}".encode()
    return hmac.new(secret, base, hashlib.sha256).hexdigest()


def visitor_token(integrator: Integrator, visitor: str) -> str:
    """What the browser keeps: the visitor id and its MAC with the integrator's current secret."""
    return f"{visitor}.{_mac(integrator.signing_secret, integrator.id, visitor)}"


def visitor_of(integrator: Integrator, token: str | None) -> str | None:
    """The visitor a token names, if this integrator's secret (current or being rotated out) signed it."""
    if not token or len(token) > 200:
        return None
    visitor, _, mac = token.partition(".")
    if not VISITOR.match(visitor):
        return None
    for secret in integrator.secrets:
        if hmac.compare_digest(mac.encode(), _mac(secret, integrator.id, visitor).encode()):
            return visitor
    return None


def origin_allowed(integrator: Integrator, origin: str | None, host: str | None) -> bool:
    """A browser always sends Origin: the service's own page or a site the integrator listed. Without
    one the client is not a browser, which no other site can make connect with a visitor's token."""
    if origin is None:
        return True
    if origin in integrator.widget_origins:
        return True
    return host is not None and origin.split("://", 1)[-1] == host


class FrameError(ValueError):
    """A frame the service refuses: a code the widget knows and a precise reason."""

    def __init__(self, code: str, detail: str, client_id: str | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.client_id = client_id


@dataclass(frozen=True, slots=True)
class VisitorMessage:
    text: str
    client_id: str | None
    name: str | None
    identity: IdentityHints | None


def parse_frame(raw: str | None, max_chars: int, max_bytes: int) -> VisitorMessage:
    """The visitor's message in a text frame `{"type": "message", "text": …}`; FrameError otherwise."""
    if raw is None:
        raise FrameError("invalid", "frames are JSON text, not binary")
    if len(raw) > max_bytes or len(raw.encode()) > max_bytes:
        raise FrameError("too_large", f"a frame is at most {max_bytes} bytes")
    try:
        frame = json.loads(raw)
    except ValueError:
        raise FrameError("invalid", "a frame is one JSON object") from None
    if not isinstance(frame, dict):
        raise FrameError("invalid", "a frame is one JSON object")
    client_id = frame.get("client_id")
    if client_id is not None and not (isinstance(client_id, str) and _CLIENT_ID.match(client_id)):
        raise FrameError("invalid", "client_id is 1 to 64 letters, digits, - or _")
    if frame.get("type") != "message":
        raise FrameError("invalid", f"unknown frame type {str(frame.get('type'))[:40]!r}", client_id)
    text = frame.get("text")
    if not isinstance(text, str) or not text.strip():
        raise FrameError("invalid", "text is a non-empty string", client_id)
    if len(text) > max_chars:
        raise FrameError("too_large", f"a message is at most {max_chars} characters", client_id)
    name = frame.get("name")
    if name is not None and not (isinstance(name, str) and 0 < len(name) <= 200):
        raise FrameError("invalid", "name is a string of at most 200 characters", client_id)
    return VisitorMessage(text, client_id, name, _identity(frame.get("identity"), client_id))


def _identity(value: Any, client_id: str | None) -> IdentityHints | None:
    """The identity the tenant's backend signed, passed on as it is: the context store checks the
    signature. A browser cannot vouch for anyone, so `verified` is refused, never trusted."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise FrameError("invalid", "identity is an object", client_id)
    if value.get("verified"):
        raise FrameError(
            "invalid", "a browser cannot send a verified identity: have your backend sign it", client_id
        )
    try:
        return IdentityHints.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise FrameError("invalid", f"identity.{where}: {first['msg']}", client_id) from None


def event_id(integrator: Integrator, visitor: str, client_id: str | None) -> str:
    if client_id is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_IDS, f"{integrator.id}\n{visitor}\n{client_id}"))


def received(
    integrator: Integrator, visitor: str, message: VisitorMessage, id_: str, now: datetime
) -> MessageReceived:
    """The contract's event for a visitor's message, as any integrator would publish it."""
    return MessageReceived(
        id=id_,
        source=f"{integrator.id}/{CHANNEL}",
        time=now,
        tenant=integrator.tenant,
        data=MessageReceivedData(
            channel=CHANNEL,
            **{"from": Party(address=visitor, name=message.name)},
            text=message.text,
            external_id=id_,
            identity=message.identity,
        ),
    )


# What a visitor's history holds, oldest first; the widget draws exactly these.


def visitor_entry(message: VisitorMessage, id_: str, now: datetime) -> dict[str, Any]:
    return {"kind": "message", "from": "visitor", "id": id_, "text": message.text, "at": now.isoformat()}


def reply_entry(send: MessageSend) -> dict[str, Any]:
    """A bot's or an agent's message, with its quick replies (the widget sends a chosen payload)."""
    d = send.data
    return {
        "kind": "message",
        "from": d.author.kind,
        "name": d.author.name,
        "id": d.message_id,
        "text": d.text,
        "quick_replies": [{"title": q.title, "payload": q.payload} for q in d.quick_replies],
        "at": send.time.isoformat(),
    }


PersonEvent = Assigned | Released | ReturnedToBot | Transferred


def person_entry(event: PersonEvent) -> dict[str, Any]:
    """A person took the conversation over (their display name, never their id), or left it."""
    if isinstance(event, Assigned):
        return {"kind": "person", "joined": True, "name": event.data.agent_name, "at": event.time.isoformat()}
    return {"kind": "person", "joined": False, "name": None, "at": event.time.isoformat()}


def entry_id(entry: dict[str, Any], event_id_: str) -> str:
    """What makes an entry once-only: its message id, or the event that made it."""
    return str(entry.get("id") or event_id_)


def is_visitor(address: str) -> bool:
    """Whether a webchat address is one of the widget's visitors (other web chats have their own)."""
    return bool(VISITOR.match(address))


class SocketLimits:
    """Per replica: the sockets each IP address holds, and each visitor's messages per minute.

    A visitor's bucket outlives its sockets until it is full again, so closing and reopening a socket
    does not refill it; buckets of visitors gone for a minute are dropped, keeping memory bounded."""

    def __init__(self, sockets_per_ip: int, messages_per_minute: int) -> None:
        self._per_ip = sockets_per_ip
        self._per_minute = messages_per_minute
        self._sockets: dict[str, int] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._users: dict[str, int] = {}
        self._pruned_at = 0.0

    def open(self, ip: str, visitor: str, now: float) -> bool:
        """Count a socket in; False when the IP address already holds its share."""
        if self._sockets.get(ip, 0) >= self._per_ip:
            return False
        self._sockets[ip] = self._sockets.get(ip, 0) + 1
        self._users[visitor] = self._users.get(visitor, 0) + 1
        if visitor not in self._buckets:
            self._buckets[visitor] = TokenBucket.full(self._per_minute / 60.0, self._per_minute, now)
        if now - self._pruned_at >= 60.0:
            self._prune(now)
        return True

    def close(self, ip: str, visitor: str) -> None:
        for counts, key in ((self._sockets, ip), (self._users, visitor)):
            left = counts.get(key, 0) - 1
            if left > 0:
                counts[key] = left
            else:
                counts.pop(key, None)

    def take(self, visitor: str, now: float) -> float:
        """0.0 when the visitor may send now, else the seconds to wait."""
        return self._buckets[visitor].take(now)

    def _prune(self, now: float) -> None:
        self._pruned_at = now
        refill_s = 60.0
        for visitor in [
            v for v, b in self._buckets.items() if v not in self._users and now - b.at >= refill_s
        ]:
            del self._buckets[visitor]

    @property
    def sockets(self) -> int:
        return sum(self._sockets.values())

    @property
    def visitors_tracked(self) -> int:
        return len(self._buckets)

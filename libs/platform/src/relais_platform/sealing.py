"""Crypto-shredding of customer text: one encryption key per customer, destroyed on erasure.

The context store seals a customer's message text (Fernet: AES-128-CBC + HMAC-SHA256) with that
customer's key before it reaches the conversation log, for the tenants that enable sealing. Every
service that needs the text reads it back with `unseal_messages`; once the key is destroyed the text in
the log, in every replica and in every replay, is unreadable, and reads as `ERASED_TEXT`.

Keys live in Redis under `relais:keys:` (or a Redis of their own). Unlike the views they cannot be
rebuilt from the log: that is the point, so that Redis needs persistence (AOF) and backups whose
retention matches the erasure deadline.

Bot and agent replies and agent notes leave through `seal_replies` (their writers: the bot, the agent
gateway) and are read back with `unseal_replies`. Handoff packets leave through `seal_handoffs`, which
also keeps each within `PACKET_MAX_BYTES` as it travels, sealed or not (`fit_packet`).
"""

import contextlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from redis.asyncio import Redis

from relais_contracts import Outgoing
from relais_contracts.channel import Attachment
from relais_contracts.conversation import (
    PACKET_MAX_BYTES,
    CustomerMessage,
    HandoffPacket,
    NoteAdded,
    ReplyPosted,
    WhisperAdded,
)
from relais_platform.redis_client import connect_redis
from relais_platform.settings import ServiceSettings

ERASED_TEXT = "[erased]"
_CUT = " […]"


def key_id(tenant: str, customer_id: str) -> str:
    return f"{tenant}/{customer_id}"


class CustomerKeys:
    """The per-customer key store."""

    def __init__(self, redis: "Redis", settings: ServiceSettings) -> None:
        self._redis = redis
        self._key = settings.key

    def _redis_key(self, kid: str) -> str:
        return self._key("keys", kid)

    async def ensure(self, tenant: str, customers: Iterable[str]) -> dict[str, Fernet]:
        """The key of each customer, created when missing (SET NX, so concurrent writers agree)."""
        kids = [key_id(tenant, c) for c in dict.fromkeys(customers)]
        if not kids:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for kid in kids:
                pipe.set(self._redis_key(kid), Fernet.generate_key(), nx=True)
                pipe.get(self._redis_key(kid))
            replies = await pipe.execute()
        return {kid: Fernet(raw) for kid, raw in zip(kids, replies[1::2], strict=True)}

    async def lookup(self, kids: Iterable[str]) -> dict[str, Fernet]:
        """The keys that still exist among these key ids."""
        wanted = list(dict.fromkeys(kids))
        if not wanted:
            return {}
        found = await self._redis.mget([self._redis_key(k) for k in wanted])
        return {k: Fernet(raw) for k, raw in zip(wanted, found, strict=True) if raw is not None}

    async def destroy(self, tenant: str, customer_id: str) -> bool:
        """Erase the customer's key: everything sealed with it is unreadable from now on."""
        return bool(await self._redis.delete(self._redis_key(key_id(tenant, customer_id))))


def customer_keys(redis: "Redis", settings: ServiceSettings) -> CustomerKeys:
    """The key store: the service's Redis unless `RELAIS_KEYSTORE_REDIS_URL` gives the keys their own."""
    if settings.keystore_redis_url is None:
        return CustomerKeys(redis, settings)
    own = settings.model_copy(update={"redis_url": settings.keystore_redis_url})
    return CustomerKeys(connect_redis(own), settings)


def sealed_length(plain: int) -> int:
    """Characters of the Fernet token of `plain` bytes: version, timestamp, IV, the AES-CBC ciphertext
    padded to whole 16-byte blocks and the HMAC, in URL-safe base64 (4 characters per 3 bytes)."""
    return 4 * math.ceil((1 + 8 + 16 + (plain // 16 + 1) * 16 + 32) / 3)


def _plain(words: dict[str, object]) -> bytes:
    # Not ASCII-escaped: a Cyrillic letter or an emoji costs its 2 to 4 UTF-8 bytes, not 6 or 12.
    return json.dumps(words, ensure_ascii=False).encode()


def seal(key: Fernet, text: str, name: str | None, attachments: Sequence[Attachment] = ()) -> str:
    """One token for the personal fields of a message: its text, the customer's name, and the
    attachments (their URLs often lead to the customer's files without any further check)."""
    sealed: dict[str, Any] = {"text": text, "name": name}
    if attachments:
        sealed["attachments"] = [a.model_dump(mode="json", exclude_none=True) for a in attachments]
    return key.encrypt(_plain(sealed)).decode()


def seal_fields(key: Fernet, fields: Mapping[str, object]) -> str:
    """One token for some JSON fields of an event (a channel address, a customer's identities)."""
    return key.encrypt(_plain(dict(fields))).decode()


def open_fields(key: Fernet | None, token: str) -> dict[str, Any] | None:
    """The fields sealed by `seal_fields`, or None when the key was destroyed (or the token is not ours)."""
    if key is None:
        return None
    try:
        fields: dict[str, Any] = json.loads(key.decrypt(token.encode()))
    except InvalidToken:
        return None
    return fields


def _sealed_attachments(key: Fernet | None, token: str) -> tuple[Attachment, ...]:
    if key is None:
        return ()
    try:
        sealed = json.loads(key.decrypt(token.encode()))
    except InvalidToken:
        return ()
    return tuple(Attachment.model_validate(a) for a in sealed.get("attachments", ()))


def open_sealed(key: Fernet | None, token: str) -> tuple[str, str | None]:
    """(text, name), or `ERASED_TEXT` and no name when the key was destroyed (or the token is not ours)."""
    if key is None:
        return ERASED_TEXT, None
    try:
        sealed = json.loads(key.decrypt(token.encode()))
    except InvalidToken:
        return ERASED_TEXT, None
    return str(sealed["text"]), sealed.get("name")


async def unseal_messages(keys: CustomerKeys, messages: Sequence[CustomerMessage]) -> list[CustomerMessage]:
    """The messages with their text and customer name in clear; unsealed messages are returned as is.

    For the services that read customer text from the log (bot, agent gateway): call it in the shell,
    before the pure core, and never write the result back to a topic.
    """
    found = await keys.lookup(m.data.key_id for m in messages if m.data.sealed and m.data.key_id)
    out = []
    for m in messages:
        if m.data.text_sealed is None:
            out.append(m)
            continue
        key = found.get(m.data.key_id or "")
        text, name = open_sealed(key, m.data.text_sealed)
        update: dict[str, Any] = {"text": text, "customer_name": name, "text_sealed": None}
        if not m.data.attachments:
            update["attachments"] = _sealed_attachments(key, m.data.text_sealed)
        data = m.data.model_copy(update=update)
        out.append(m.model_copy(update={"data": data}))
    return out


# The parts of a handoff packet that carry the customer's words.
_PACKET_WORDS = {"summary", "transcript", "entities"}


def seal_packet(key: Fernet, kid: str, packet: HandoffPacket) -> HandoffPacket:
    """The packet with its summary, transcript and entities in one token of the customer's key."""
    token = key.encrypt(_plain(packet.model_dump(mode="json", include=_PACKET_WORDS))).decode()
    return packet.model_copy(
        update={"summary": "", "transcript": (), "entities": (), "sealed": token, "key_id": kid}
    )


def packet_bytes(packet: HandoffPacket, kid: str | None = None) -> int:
    """Bytes of the packet's JSON on a topic; with a key id, once sealed with that key (after sealing:
    the token's length follows from the words' length, whatever the key)."""
    if kid is not None:
        words = _plain(packet.model_dump(mode="json", include=_PACKET_WORDS))
        placeholder = "x" * sealed_length(len(words))
        packet = packet.model_copy(
            update={"summary": "", "transcript": (), "entities": (), "sealed": placeholder, "key_id": kid}
        )
    return len(packet.model_dump_json(exclude_none=True).encode())


def fit_packet(
    packet: HandoffPacket, kid: str | None = None, max_bytes: int = PACKET_MAX_BYTES
) -> HandoffPacket:
    """The packet within `max_bytes` as it travels (sealed with `kid`'s key when given), in any script.

    The newest transcript entries that fit are kept, the older ones counted in `transcript_omitted` (the
    conversation's timeline has them); when not even the newest fits whole, it is cut with a marker. The
    bot's answers, then the entities, oldest first, then the summary give way only if that is not enough.
    """
    if packet_bytes(packet, kid) <= max_bytes:
        return packet
    entries = packet.transcript

    def newest(n: int) -> HandoffPacket:
        omitted = packet.transcript_omitted + len(entries) - n
        return packet.model_copy(
            update={"transcript": entries[len(entries) - n :], "transcript_omitted": omitted}
        )

    kept = _largest(len(entries), lambda n: packet_bytes(newest(n), kid) <= max_bytes)
    fitted = newest(kept)
    if kept == 0 and entries:
        last = entries[-1]

        def cut(size: int) -> HandoffPacket:
            entry = last.model_copy(update={"text": last.text[:size] + _CUT})
            return fitted.model_copy(
                update={"transcript": (entry,), "transcript_omitted": fitted.transcript_omitted - 1}
            )

        if packet_bytes(cut(0), kid) <= max_bytes:
            fitted = cut(_largest(len(last.text), lambda size: packet_bytes(cut(size), kid) <= max_bytes))
    while packet_bytes(fitted, kid) > max_bytes:
        if fitted.bot_answers:
            fitted = fitted.model_copy(update={"bot_answers": fitted.bot_answers[1:]})
        elif fitted.entities:
            fitted = fitted.model_copy(update={"entities": fitted.entities[1:]})
        elif fitted.summary:
            fitted = fitted.model_copy(update={"summary": fitted.summary[: len(fitted.summary) // 2]})
        else:
            raise ValueError(f"a handoff packet cannot fit in {max_bytes} bytes")
    return fitted


def _largest(high: int, fits: Callable[[int], bool]) -> int:
    """The largest n in [0, high] with `fits(n)` (true up to some n, false after it); 0 if none."""
    low = 0
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def open_packet(key: Fernet | None, packet: HandoffPacket) -> HandoffPacket:
    """The packet in clear; after erasure (or with a token that is not ours) its words read as erased."""
    if packet.sealed is None:
        return packet
    words: dict[str, object] = {"summary": ERASED_TEXT}
    if key is not None:
        with contextlib.suppress(InvalidToken):  # not our key's token: as good as erased
            words = json.loads(key.decrypt(packet.sealed.encode()))
    fields = packet.model_dump(mode="json", exclude=_PACKET_WORDS | {"sealed"})
    return HandoffPacket.model_validate({**fields, **words})


async def unseal_packets(keys: CustomerKeys, packets: Sequence[HandoffPacket]) -> list[HandoffPacket]:
    found = await keys.lookup(p.key_id for p in packets if p.sealed and p.key_id)
    return [open_packet(found.get(p.key_id or ""), p) for p in packets]


async def seal_handoffs(keys: CustomerKeys, outgoing: Sequence[Outgoing]) -> list[Outgoing]:
    """Seal the packets of the hand-offs among these events, for every customer who has a key, and keep
    every packet within `PACKET_MAX_BYTES` as it travels (sealed or not).

    A customer has a key exactly when their tenant seals their text (the context store makes it before
    their first message reaches the log), so a service that hands over needs no list of tenants.
    """
    # By position, not by event: an Outgoing hashes its whole event, every field of it (frozen models).
    packets = [_packet(o) for o in outgoing]
    kids = {
        i: key_id(o.event.tenant, p.customer_id)
        for i, (o, p) in enumerate(zip(outgoing, packets, strict=True))
        if p is not None and not p.sealed and p.customer_id
    }
    found = await keys.lookup(kids.values())
    sealed = []
    for i, (o, packet) in enumerate(zip(outgoing, packets, strict=True)):
        if packet is None or packet.sealed:
            sealed.append(o)
            continue
        kid = kids.get(i)
        if kid is not None and kid in found:
            packet = seal_packet(found[kid], kid, fit_packet(packet, kid))
        else:
            packet = fit_packet(packet)
        data = o.event.data.model_copy(update={"packet": packet})
        sealed.append(Outgoing(o.topic, o.key, o.event.model_copy(update={"data": data})))
    return sealed


def _packet(o: Outgoing) -> HandoffPacket | None:
    # A payload's fields are in its __dict__: getattr on a payload without the field goes through
    # pydantic's __getattr__ and an AttributeError, which cost more than the rest of sealing a batch.
    packet = getattr(o.event.data, "__dict__", {}).get("packet")
    return packet if isinstance(packet, HandoffPacket) else None


# A supervisor's whisper is words about the customer's conversation too: sealed alike.
Written = ReplyPosted | NoteAdded | WhisperAdded


async def seal_replies(
    keys: CustomerKeys, outgoing: Sequence[Outgoing], customers: Mapping[tuple[str, str], str]
) -> list[Outgoing]:
    """Seal the text of the replies and notes among these events in the key of their conversation's
    customer ((tenant, conversation id) -> customer id), for every customer who has a key (exactly
    those whose tenant seals: see `seal_handoffs`). Other events, and a conversation whose customer is
    not known, leave as they are."""
    kids = {
        i: key_id(o.event.tenant, customer)
        for i, o in enumerate(outgoing)
        if isinstance(o.event, Written) and not o.event.data.sealed
        if (customer := customers.get((o.event.tenant, o.event.subject)))
    }
    found = await keys.lookup(kids.values())
    sealed = []
    for i, o in enumerate(outgoing):
        kid = kids.get(i)
        if kid is None or kid not in found or not isinstance(o.event, Written):
            sealed.append(o)
            continue
        sealed.append(Outgoing(o.topic, o.key, seal_written(found[kid], kid, o.event)))
    return sealed


def seal_written(key: Fernet, kid: str, event: Written) -> Written:
    """A reply or note with its text in one token of the customer's key, and no text in clear."""
    token = key.encrypt(_plain({"text": event.data.text})).decode()
    data = event.data.model_copy(update={"text": "", "text_sealed": token, "key_id": kid})
    return event.model_copy(update={"data": data})


def open_written(key: Fernet | None, event: Written) -> Written:
    """A reply or note in clear; after erasure (or with a token that is not ours) it reads as erased."""
    if event.data.text_sealed is None:
        return event
    text, _ = open_sealed(key, event.data.text_sealed)
    data = event.data.model_copy(update={"text": text, "text_sealed": None})
    return event.model_copy(update={"data": data})


async def unseal_replies(keys: CustomerKeys, events: Sequence[Written]) -> list[Written]:
    """The replies and notes with their text in clear (`ERASED_TEXT` once the key is destroyed);
    unsealed ones are returned as they are. In the shell of a reader, never written back to a topic."""
    found = await keys.lookup(e.data.key_id for e in events if e.data.sealed and e.data.key_id)
    return [open_written(found.get(e.data.key_id or ""), e) for e in events]

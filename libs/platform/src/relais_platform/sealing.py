"""Crypto-shredding of customer text: one encryption key per customer, destroyed on erasure.

The context store seals a customer's message text (Fernet: AES-128-CBC + HMAC-SHA256) with that
customer's key before it reaches the conversation log, for the tenants that enable sealing. Every
service that needs the text reads it back with `unseal_messages`; once the key is destroyed the text in
the log, in every replica and in every replay, is unreadable, and reads as `ERASED_TEXT`.

Keys live in Redis under `relais:keys:` (or a Redis of their own). Unlike the views they cannot be
rebuilt from the log: that is the point, so that Redis needs persistence (AOF) and backups whose
retention matches the erasure deadline.
"""

import json
from collections.abc import Iterable, Sequence

from cryptography.fernet import Fernet, InvalidToken
from redis.asyncio import Redis

from relais_contracts.conversation import CustomerMessage
from relais_platform.settings import ServiceSettings

ERASED_TEXT = "[erased]"


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


def seal(key: Fernet, text: str, name: str | None) -> str:
    """One token for the message text and the customer's name (the two personal fields of a message)."""
    return key.encrypt(json.dumps({"text": text, "name": name}).encode()).decode()


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
        text, name = open_sealed(found.get(m.data.key_id or ""), m.data.text_sealed)
        data = m.data.model_copy(update={"text": text, "customer_name": name, "text_sealed": None})
        out.append(m.model_copy(update={"data": data}))
    return out

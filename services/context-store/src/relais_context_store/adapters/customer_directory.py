"""The customer directory: who each identity belongs to, each customer's identities, conflicts, pending
claims and open conversation (the resolver's reads and writes), and the customer events applied.
Keys: adapters.view_keys."""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from relais_context_store.adapters.view_keys import ViewKeys, decoded, iso
from relais_context_store.domain.identity import claim_id, identity_key, mask_identity
from relais_context_store.domain.resolution import OpenConversation
from relais_contracts.customers import Identity, IdentityConfirmed, IdentityLinked, IdentityUnlinked

# Unlink an identity only from this customer: a link that already names someone else stays.
_UNLINK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# Per customer (ARGV: its key, then its tenant's conversation key prefix): the open fields, and the
# state of the conversation they name (false when none).
_OPEN = """
local out = {}
for i = 1, #ARGV, 2 do
  local row = redis.call('HMGET', ARGV[i], 'open_conversation', 'open_channel', 'open_address',
    'last_activity', 'open_since')
  row[6] = row[1] and redis.call('HGET', ARGV[i + 1] .. row[1], 'state') or false
  out[#out + 1] = row
end
return out
"""

# The resolver's decisions. ARGV: the number of links, then identity key / customer pairs (first owner
# wins: SET NX), then per pointer the customer's key, conversation, channel, address, last activity
# and the epoch it opened.
_RECORD = """
local links = tonumber(ARGV[1])
local i = 2
for _ = 1, links do
  redis.call('SET', ARGV[i], ARGV[i + 1], 'NX')
  i = i + 2
end
while i <= #ARGV do
  redis.call('HSET', ARGV[i], 'open_conversation', ARGV[i + 1], 'open_channel', ARGV[i + 2],
    'open_address', ARGV[i + 3], 'last_activity', ARGV[i + 4], 'open_since', ARGV[i + 5])
  i = i + 6
end
return 0
"""


@dataclass(frozen=True)
class CustomerRecords:
    """What erasing a customer deletes from the directory."""

    keys: list[str]  # the customer's own keys and the identity links that name them
    conversations: list[str]  # the conversations the directory knows of them


class CustomerDirectory:
    def __init__(self, redis: "Redis", keys: ViewKeys) -> None:
        self._redis = redis
        self._keys = keys
        self._unlink = redis.register_script(_UNLINK)
        self._open = redis.register_script(_OPEN)
        self._record = redis.register_script(_RECORD)

    async def owners(self, tenant: str, keys: Iterable[str]) -> dict[str, str]:
        """The customer of each identity key that has one."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        found = await self._redis.mget([self._keys.identity(tenant, k) for k in wanted])
        return {k: v for k, raw in zip(wanted, found, strict=True) if (v := decoded(raw))}

    async def open_conversations(
        self, customers: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], OpenConversation]:
        """The open conversation of each (tenant, customer) that has one (closed ones are not open).

        One script for the batch: the pointers and the state of the conversations they name, read in
        one command and one reply instead of two pipelines of a command per customer."""
        wanted = list(dict.fromkeys(customers))
        if not wanted:
            return {}
        args: list[str] = []
        for tenant, customer in wanted:
            args += [self._keys.customer(tenant, customer), self._keys.conversation(tenant, "")]
        rows = await self._open(args=args)
        return {
            c: OpenConversation(
                cid.decode(), ch.decode(), ad.decode(), datetime.fromisoformat(at.decode()),
                datetime.fromtimestamp(float(since), UTC),
            )
            for c, (cid, ch, ad, at, since, state) in zip(wanted, rows, strict=True)
            if cid and ch and ad and at and since and state != b"closed"
        }  # fmt: skip

    async def record_resolution(
        self,
        links: dict[tuple[str, str], str],
        pointers: dict[tuple[str, str], OpenConversation],
    ) -> None:
        """What the resolver decided, for the next messages: identity links and open conversations.

        The same values are materialized again from the log; writing them here too means the next
        batch sees them before the log is read back. One script: atomic, as a MULTI/EXEC was, with
        one reply for the batch instead of one per command.
        """
        if not links and not pointers:
            return
        args: list[str | float] = [len(links)]
        for (tenant, key), customer in links.items():
            args += [self._keys.identity(tenant, key), customer]
        for (tenant, customer), p in pointers.items():
            args += [
                self._keys.customer(tenant, customer),
                p.conversation_id,
                p.channel,
                p.address,
                iso(p.last_activity),
                repr(p.since.timestamp()),
            ]
        await self._record(args=args)

    async def customer_applied(self, events: Sequence[tuple[str, str, str]]) -> set[str]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for tenant, customer, event_id in events:
                pipe.sismember(f"{self._keys.customer(tenant, customer)}:applied", event_id)
            flags = await pipe.execute()
        return {e[2] for e, flag in zip(events, flags, strict=True) if flag}

    async def apply_identities(
        self, events: Sequence[IdentityLinked | IdentityUnlinked | IdentityConfirmed]
    ) -> None:
        """Customer identity events, in order and in one MULTI/EXEC (one round trip for a batch, where
        each new customer brings one): links (first owner wins), recorded conflicts and claims, unlinks,
        a confirmed claim no longer pending."""
        if not events:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            for event in events:
                await self._queue_identities(pipe, event)
            await pipe.execute()

    async def _queue_identities(
        self, pipe: Pipeline, event: IdentityLinked | IdentityUnlinked | IdentityConfirmed
    ) -> None:
        tenant, customer = event.tenant, event.subject
        key = self._keys.customer(tenant, customer)
        pipe.sadd(f"{key}:applied", event.uid)
        if isinstance(event, IdentityLinked):
            for identity in event.data.identities:
                owner = self._keys.identity(tenant, identity_key(identity))
                pipe.execute_command("SET", owner, customer, "NX")  # not `set`: see record_resolution
                pipe.sadd(f"{key}:identities", identity.model_dump_json(exclude_none=True))
            for conflict in event.data.conflicts:
                recorded = {
                    **conflict.model_dump(exclude_none=True),
                    "conversation_id": event.data.conversation_id,
                    "at": event.time.isoformat(),
                }
                pipe.rpush(f"{key}:conflicts", json.dumps(recorded, separators=(",", ":")))
            for claim in event.data.claims:
                recorded = {
                    **claim.model_dump(exclude_none=True),
                    "conversation_id": event.data.conversation_id,
                    "at": event.time.isoformat(),
                }
                pipe.hset(
                    f"{key}:claims", claim_id(claim.identity), json.dumps(recorded, separators=(",", ":"))
                )
        elif isinstance(event, IdentityConfirmed):
            if event.data.identity is not None:  # None only while sealed: opened before it gets here
                pipe.hdel(f"{key}:claims", claim_id(event.data.identity))
        else:
            for identity in event.data.identities:
                pipe.srem(f"{key}:identities", identity.model_dump_json(exclude_none=True))
                await self._unlink(
                    keys=[self._keys.identity(tenant, identity_key(identity))],
                    args=[customer],
                    client=pipe,
                )

    async def identities(self, tenant: str, customer_id: str) -> list[dict[str, Any]]:
        raw = await self._redis.smembers(f"{self._keys.customer(tenant, customer_id)}:identities")
        return [json.loads(i) for i in raw]

    async def customer(self, tenant: str, customer_id: str) -> dict[str, Any] | None:
        """A customer's record: identities, conflicts, claims, open and known conversations."""
        key = self._keys.customer(tenant, customer_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.smembers(f"{key}:identities")
            pipe.lrange(f"{key}:conflicts", 0, -1)
            pipe.hgetall(f"{key}:claims")
            pipe.zrange(f"{key}:conversations", 0, -1)
            state, identities, conflicts, claims, conversations = await pipe.execute()
        if not (state or identities or conversations or claims):
            return None
        fields = {k.decode(): v.decode() for k, v in state.items()}
        return {
            "id": customer_id,
            "tenant": tenant,
            "open_conversation": fields.get("open_conversation"),
            "identities": sorted((json.loads(i) for i in identities), key=lambda i: (i["kind"], i["value"])),
            "conflicts": [json.loads(c) for c in conflicts],
            "claims": [{"id": k.decode(), **json.loads(v)} for k, v in sorted(claims.items())],
            "conversations": [c.decode() for c in conversations],
        }

    async def masked_claims(self, tenant: str, customer_id: str | None) -> list[dict[str, Any]]:
        """The customer's pending claims as an agent sees them: masked, with the id to confirm one by."""
        if not customer_id:
            return []
        raw = await self._redis.hgetall(f"{self._keys.customer(tenant, customer_id)}:claims")
        claims = []
        for cid, value in sorted(raw.items()):
            claim = json.loads(value)
            identity = Identity.model_validate(claim["identity"])
            claims.append(
                {
                    "id": decoded(cid),
                    "kind": identity.kind,
                    "masked": mask_identity(identity),
                    "known_customer": "other_customer_id" in claim,
                    "at": claim["at"],
                }
            )
        return claims

    async def records(self, tenant: str, customer: str) -> CustomerRecords:
        """Every directory key of a customer, for erasure: an identity link stays when it names someone
        else (first owner wins)."""
        key = self._keys.customer(tenant, customer)
        known: list[bytes] = await self._redis.zrange(f"{key}:conversations", 0, -1)  # type: ignore[assignment]
        identities = [
            Identity.model_validate_json(i) for i in await self._redis.smembers(f"{key}:identities")
        ]
        owners = await self.owners(tenant, [identity_key(i) for i in identities])
        return CustomerRecords(
            keys=[
                key,
                f"{key}:identities",
                f"{key}:conflicts",
                f"{key}:claims",
                f"{key}:conversations",
                f"{key}:applied",
                *(self._keys.identity(tenant, k) for k, owner in owners.items() if owner == customer),
            ],
            conversations=[c.decode() for c in known],
        )

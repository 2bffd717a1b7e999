"""The customer directory: who each identity belongs to, each customer's identities, conflicts, pending
claims and open conversation (the resolver's reads and writes), and the customer events applied.
Keys: adapters.view_keys."""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from relais_context_store.adapters.view_keys import ViewKeys, decoded, iso
from relais_context_store.domain.identity import claim_id, identity_key, mask_identity
from relais_context_store.domain.resolution import OpenConversation
from relais_contracts.customers import Identity, IdentityConfirmed, IdentityLinked, IdentityUnlinked

# Commands in order, in one script. ARGV: per command the number of its words, then the words. The
# pseudo-command UNLINK-IF deletes an identity link only when it names this customer (a link that
# already names someone else stays): UNLINK-IF key customer.
_UNLINK = "UNLINK-IF"
_COMMANDS = """
local i = 1
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  if ARGV[i + 1] == 'UNLINK-IF' then
    if redis.call('GET', ARGV[i + 2]) == ARGV[i + 3] then redis.call('DEL', ARGV[i + 2]) end
  else
    redis.call(unpack(ARGV, i + 1, i + n))
  end
  i = i + 1 + n
end
return 0
"""

# Per set (ARGV: its key, the number of ids, the ids): the membership flag of each id.
_APPLIED = """
local out = {}
local i = 1
while i <= #ARGV do
  local n = tonumber(ARGV[i + 1])
  out[#out + 1] = redis.call('SMISMEMBER', ARGV[i], unpack(ARGV, i + 2, i + 1 + n))
  i = i + 2 + n
end
return out
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
        self._commands = redis.register_script(_COMMANDS)
        self._applied = redis.register_script(_APPLIED)
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
        """Which of these (tenant, customer, event id) are applied: one script for the batch."""
        by_customer: dict[tuple[str, str], list[str]] = {}
        for tenant, customer, event_id in events:
            by_customer.setdefault((tenant, customer), []).append(event_id)
        if not by_customer:
            return set()
        args: list[str | int] = []
        for (tenant, customer), ids in by_customer.items():
            args += [f"{self._keys.customer(tenant, customer)}:applied", len(ids), *ids]
        rows = await self._applied(args=args)
        return {
            event_id
            for ids, flags in zip(by_customer.values(), rows, strict=True)
            for event_id, flag in zip(ids, flags, strict=True)
            if flag
        }

    async def apply_identities(
        self, events: Sequence[IdentityLinked | IdentityUnlinked | IdentityConfirmed]
    ) -> None:
        """Customer identity events, in order and in one script (atomic, as a MULTI/EXEC was, with one
        reply for the batch, where each new customer brings one): links (first owner wins), recorded
        conflicts and claims, unlinks, a confirmed claim no longer pending."""
        commands: list[str | int] = []
        for event in events:
            self._queue_identities(commands, event)
        if commands:
            await self._commands(args=commands)

    def _queue_identities(
        self, commands: list[str | int], event: IdentityLinked | IdentityUnlinked | IdentityConfirmed
    ) -> None:
        def queue(*command: str) -> None:
            commands.extend((len(command), *command))

        tenant, customer = event.tenant, event.subject
        key = self._keys.customer(tenant, customer)
        queue("SADD", f"{key}:applied", event.uid)
        if isinstance(event, IdentityLinked):
            for identity in event.data.identities:
                queue("SET", self._keys.identity(tenant, identity_key(identity)), customer, "NX")
                queue("SADD", f"{key}:identities", identity.model_dump_json(exclude_none=True))
            for conflict in event.data.conflicts:
                recorded = {
                    **conflict.model_dump(exclude_none=True),
                    "conversation_id": event.data.conversation_id,
                    "at": event.time.isoformat(),
                }
                queue("RPUSH", f"{key}:conflicts", json.dumps(recorded, separators=(",", ":")))
            for claim in event.data.claims:
                recorded = {
                    **claim.model_dump(exclude_none=True),
                    "conversation_id": event.data.conversation_id,
                    "at": event.time.isoformat(),
                }
                queue(
                    "HSET",
                    f"{key}:claims",
                    claim_id(claim.identity),
                    json.dumps(recorded, separators=(",", ":")),
                )
        elif isinstance(event, IdentityConfirmed):
            if event.data.identity is not None:  # None only while sealed: opened before it gets here
                queue("HDEL", f"{key}:claims", claim_id(event.data.identity))
        else:
            for identity in event.data.identities:
                queue("SREM", f"{key}:identities", identity.model_dump_json(exclude_none=True))
                queue(_UNLINK, self._keys.identity(tenant, identity_key(identity)), customer)

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

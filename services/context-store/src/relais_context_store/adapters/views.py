"""The context store's Redis state: conversation and customer views, the identity index, offsets.

Every key is derived from the conversation log and rebuilt by replaying it (`wipe()` then the log).
An event is applied at most once: its id joins an applied set in the same MULTI/EXEC that writes its
changes, and that MULTI/EXEC also records each partition's last applied offset.

Keys, under `relais:cs:` (with the deployment namespace in front):
  {tenant}:conversation:{id}            hash: state, channels, customer, handoff…
  {tenant}:conversation:{id}:timeline   list of timeline entries (JSON), in log order
  {tenant}:conversation:{id}:applied    set of applied event ids
  {tenant}:conversation:{id}:delivery   hash "{message id}|{status}" -> time of the report
  {tenant}:message:{message id}         conversation of a bot or agent message (delivery reports)
  {tenant}:customer:{id}                hash: the open conversation, where and when the customer last wrote
  {tenant}:customer:{id}:identities     set of identities (JSON)
  {tenant}:customer:{id}:conflicts      list of conflicting verified hints (JSON)
  {tenant}:customer:{id}:claims         hash: claim id -> unproven identity claimed, pending (JSON)
  {tenant}:customer:{id}:conversations  sorted set of conversation ids by opening time
  {tenant}:customer:{id}:applied        set of applied customer event ids
  {tenant}:identity:{identity key}      the customer an identity belongs to
  {tenant}:erased:{conversation id}     tombstone: a late event of an erased conversation is dropped
  open                                  sorted set "{tenant} {conversation}" by last customer activity
  offset:{topic}:{partition}            last applied offset of the conversation log partition
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from redis.asyncio import Redis

from relais_context_store.domain.identity import claim_id, identity_key, mask_identity
from relais_context_store.domain.resolution import OpenConversation
from relais_context_store.domain.timeline import (
    ViewChange,
    delivery_summary,
    entry_json,
    participants,
    reply_channels,
)
from relais_contracts.customers import Identity, IdentityConfirmed, IdentityLinked, IdentityUnlinked
from relais_platform.settings import ServiceSettings

# A batch of events, each applied once (its id joins the conversation's applied set, or it is skipped),
# and the consumed offsets, in one script: atomic, and one command to send however long the batch.
# ARGV: 1 the events as a JSON array, 2 the open set, then offset key/value pairs.
# An event: c conversation key, id, e entry JSON or "", d delivery field or "", da delivery time,
# m message index key or "", cid conversation id, f field/value pairs, and its customer change:
# u customer key or "", w "opened" | "activity" | "closed", ch channel, ad address, at ISO time,
# ep epoch time (a string), om open-set member, x when the conversation's views expire (epoch ms, on
# its close: RELAIS_CLOSED_VIEW_RETENTION_S after it, in the past on a replay of an old log), "0" when
# it is open again, "" when its state does not change.
# The customer's pointer to their open conversation holds whatever order conversations are replayed
# in: a newer conversation wins, activity only counts for the open one, a close only clears its own.
_APPLY = """
local events = cjson.decode(ARGV[1])
local open = ARGV[2]
local applied = 0
for _, ev in ipairs(events) do
  local c = ev.c
  if redis.call('SADD', c .. ':applied', ev.id) == 1 then
    applied = applied + 1
    if ev.e ~= '' then redis.call('RPUSH', c .. ':timeline', ev.e) end
    if ev.d ~= '' then redis.call('HSET', c .. ':delivery', ev.d, ev.da) end
    if ev.m ~= '' then redis.call('SET', ev.m, ev.cid) end
    if #ev.f > 0 then redis.call('HSET', c, unpack(ev.f)) end
    if ev.x ~= '' then
      for _, k in ipairs({c, c .. ':timeline', c .. ':applied', c .. ':delivery'}) do
        if ev.x == '0' then redis.call('PERSIST', k) else redis.call('PEXPIREAT', k, ev.x) end
      end
      if ev.m ~= '' and ev.x ~= '0' then redis.call('PEXPIREAT', ev.m, ev.x) end
    end
    if ev.u ~= '' then
      local u = ev.u
      local current = redis.call('HGET', u, 'open_conversation')
      if ev.w == 'opened' then
        redis.call('ZADD', u .. ':conversations', ev.ep, ev.cid)
        redis.call('ZADD', open, 'NX', ev.ep, ev.om)
        local since = tonumber(redis.call('HGET', u, 'open_since') or '-1')
        if current ~= ev.cid and not (current and since > tonumber(ev.ep)) then
          redis.call('HSET', u, 'open_conversation', ev.cid, 'open_channel', ev.ch, 'open_address', ev.ad,
            'last_activity', ev.at, 'open_since', ev.ep)
        end
      elseif ev.w == 'activity' then
        redis.call('ZADD', open, 'XX', 'GT', ev.ep, ev.om)
        local last = redis.call('HGET', u, 'last_activity')
        if current == ev.cid and ((not last) or last < ev.at) then
          redis.call('HSET', u, 'open_channel', ev.ch, 'open_address', ev.ad, 'last_activity', ev.at)
        end
      else
        redis.call('ZREM', open, ev.om)
        if current == ev.cid then
          redis.call('HDEL', u, 'open_conversation', 'open_channel', 'open_address', 'last_activity',
            'open_since')
        end
      end
    end
  end
end
for i = 3, #ARGV, 2 do redis.call('SET', ARGV[i], ARGV[i + 1]) end
return applied
"""

# Unlink an identity only from this customer: a link that already names someone else stays.
_UNLINK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_OPEN_FIELDS = ("open_conversation", "open_channel", "open_address", "last_activity", "open_since")


@dataclass(frozen=True)
class Applied:
    tenant: str
    conversation_id: str
    event_id: str
    change: ViewChange
    customer_id: str | None  # the conversation's customer, for customer changes
    at: datetime


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _with_delivery(raw: bytes, by_message: dict[str, dict[str, str]]) -> bytes:
    entry = json.loads(raw)
    if entry.get("message_id") not in by_message:
        return raw
    entry["delivery"] = delivery_summary(by_message[entry["message_id"]])
    return entry_json(entry).encode()


def _iso(at: datetime) -> str:
    # One fixed format, so the Lua script can compare times as strings.
    return at.astimezone(UTC).isoformat(timespec="microseconds")


class ConversationViews:
    def __init__(self, redis: "Redis", settings: ServiceSettings, closed_retention_s: float = 0.0) -> None:
        self._redis = redis
        self._key = settings.key
        self._apply = redis.register_script(_APPLY)
        self._closed_retention_s = closed_retention_s  # 0: closed conversations' views are kept
        self._unlink = redis.register_script(_UNLINK)

    # -- keys

    def _conversation(self, tenant: str, conversation_id: str) -> str:
        return self._key("cs", tenant, "conversation", conversation_id)

    def _customer(self, tenant: str, customer_id: str) -> str:
        return self._key("cs", tenant, "customer", customer_id)

    def _identity(self, tenant: str, key: str) -> str:
        return self._key("cs", tenant, "identity", key)

    def _message(self, tenant: str, message_id: str) -> str:
        return self._key("cs", tenant, "message", message_id)

    def _tombstone(self, tenant: str, conversation_id: str) -> str:
        return self._key("cs", tenant, "erased", conversation_id)

    @property
    def _open(self) -> str:
        return self._key("cs", "open")

    def _offset(self, topic: str, partition: int) -> str:
        return self._key("cs", "offset", topic, str(partition))

    # -- the resolver's reads and writes (inbound side)

    async def owners(self, tenant: str, keys: Iterable[str]) -> dict[str, str]:
        """The customer of each identity key that has one."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        found = await self._redis.mget([self._identity(tenant, k) for k in wanted])
        return {k: v for k, raw in zip(wanted, found, strict=True) if (v := _text(raw))}

    async def open_conversations(
        self, customers: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], OpenConversation]:
        """The open conversation of each (tenant, customer) that has one (closed ones are not open)."""
        wanted = list(dict.fromkeys(customers))
        async with self._redis.pipeline(transaction=False) as pipe:
            for tenant, customer in wanted:
                pipe.hmget(self._customer(tenant, customer), *_OPEN_FIELDS)
            rows = await pipe.execute()
        pointers = {
            c: OpenConversation(
                cid.decode(), ch.decode(), ad.decode(), datetime.fromisoformat(at.decode()),
                datetime.fromtimestamp(float(since), UTC),
            )
            for c, (cid, ch, ad, at, since) in zip(wanted, rows, strict=True)
            if cid and ch and ad and at and since
        }  # fmt: skip
        states = await self._states([(c[0], p.conversation_id) for c, p in pointers.items()])
        return {c: p for c, p in pointers.items() if states.get((c[0], p.conversation_id)) != "closed"}

    async def _states(self, conversations: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for tenant, cid in conversations:
                pipe.hget(self._conversation(tenant, cid), "state")
            rows = await pipe.execute()
        return {c: s for c, raw in zip(conversations, rows, strict=True) if (s := _text(raw))}

    async def record_resolution(
        self,
        links: dict[tuple[str, str], str],
        pointers: dict[tuple[str, str], OpenConversation],
    ) -> None:
        """What the resolver decided, for the next messages: identity links and open conversations.

        The same values are materialized again from the log; writing them here too means the next
        batch sees them before the log is read back.
        """
        if not links and not pointers:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            for (tenant, key), customer in links.items():
                pipe.set(self._identity(tenant, key), customer, nx=True)
            for (tenant, customer), p in pointers.items():
                pipe.hset(
                    self._customer(tenant, customer),
                    mapping={
                        "open_conversation": p.conversation_id,
                        "open_channel": p.channel,
                        "open_address": p.address,
                        "last_activity": _iso(p.last_activity),
                        "open_since": p.since.timestamp(),
                    },
                )
            await pipe.execute()

    async def conversation_of_message(self, tenant: str, message_id: str) -> str | None:
        return _text(await self._redis.get(self._message(tenant, message_id)))

    # -- the materializer's reads and writes (conversation log side)

    async def already_applied(self, events: Sequence[tuple[str, str, str]]) -> set[str]:
        """Which of these (tenant, conversation, event id) are already applied, or belong to an erased
        conversation (whose late events must not bring it back). Two commands per conversation."""
        by_conversation: dict[tuple[str, str], list[str]] = {}
        for tenant, subject, event_id in events:
            by_conversation.setdefault((tenant, subject), []).append(event_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            for (tenant, subject), ids in by_conversation.items():
                pipe.smismember(f"{self._conversation(tenant, subject)}:applied", ids)
                pipe.exists(self._tombstone(tenant, subject))
            replies = await pipe.execute()
        found: set[str] = set()
        for ids, flags, erased in zip(by_conversation.values(), replies[::2], replies[1::2], strict=True):
            found.update(i for i, flag in zip(ids, flags, strict=True) if flag or erased)
        return found

    async def customer_applied(self, events: Sequence[tuple[str, str, str]]) -> set[str]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for tenant, customer, event_id in events:
                pipe.sismember(f"{self._customer(tenant, customer)}:applied", event_id)
            flags = await pipe.execute()
        return {e[2] for e, flag in zip(events, flags, strict=True) if flag}

    async def conversation_fields(
        self, conversations: Iterable[tuple[str, str]], *fields: str
    ) -> dict[tuple[str, str], dict[str, str]]:
        """The named fields of each (tenant, conversation id) the views know."""
        wanted = list(dict.fromkeys(conversations))
        async with self._redis.pipeline(transaction=False) as pipe:
            for tenant, cid in wanted:
                pipe.hmget(self._conversation(tenant, cid), *fields)
            rows = await pipe.execute()
        return {
            c: {f: v.decode() for f, v in zip(fields, row, strict=True) if v is not None}
            for c, row in zip(wanted, rows, strict=True)
            if any(v is not None for v in row)
        }

    async def apply(self, changes: Sequence[Applied], offsets: dict[tuple[str, int], int]) -> None:
        """Apply view changes and record the consumed offsets, atomically (one script)."""
        events = []
        for a in changes:
            change = a.change
            customer = change.customer
            customer_id = customer and (customer.customer_id or a.customer_id)
            events.append(
                {
                    "c": self._conversation(a.tenant, a.conversation_id),
                    "id": a.event_id,
                    "e": entry_json(change.entry) if change.entry else "",
                    "d": f"{change.delivery[0]}|{change.delivery[1]}" if change.delivery else "",
                    "da": change.delivery[2] if change.delivery else "",
                    "m": self._message(a.tenant, change.indexed_message) if change.indexed_message else "",
                    "cid": a.conversation_id,
                    "f": [x for kv in change.fields.items() for x in kv],
                    "u": self._customer(a.tenant, customer_id) if customer and customer_id else "",
                    "w": customer.what if customer else "",
                    "ch": (customer and customer.channel) or "",
                    "ad": (customer and customer.address) or "",
                    "at": _iso(a.at),
                    "ep": repr(a.at.timestamp()),
                    "om": f"{a.tenant} {a.conversation_id}",
                    "x": self._expiry(change.fields.get("state"), a.at),
                }
            )
        offset_args = [x for (topic, p), o in offsets.items() for x in (self._offset(topic, p), o)]
        await self._apply(args=[json.dumps(events, separators=(",", ":")), self._open, *offset_args])

    def _expiry(self, state: str | None, at: datetime) -> str:
        if state is None or not self._closed_retention_s:
            return ""
        if state != "closed":
            return "0"
        return str(int((at.timestamp() + self._closed_retention_s) * 1000))

    async def apply_identities(self, event: IdentityLinked | IdentityUnlinked | IdentityConfirmed) -> None:
        """A customer identity event: links (first owner wins), recorded conflicts and claims, unlinks,
        a confirmed claim no longer pending."""
        tenant, customer = event.tenant, event.subject
        key = self._customer(tenant, customer)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(f"{key}:applied", event.uid)
            if isinstance(event, IdentityLinked):
                for identity in event.data.identities:
                    pipe.set(self._identity(tenant, identity_key(identity)), customer, nx=True)
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
                pipe.hdel(f"{key}:claims", claim_id(event.data.identity))
            else:
                for identity in event.data.identities:
                    pipe.srem(f"{key}:identities", identity.model_dump_json(exclude_none=True))
                    await self._unlink(
                        keys=[self._identity(tenant, identity_key(identity))], args=[customer], client=pipe
                    )
            await pipe.execute()

    async def index_messages(self, messages: Iterable[tuple[str, str, str]]) -> None:
        """Index (tenant, message id, conversation id) of bot and agent messages before they are sent, so a
        channel's delivery report cannot arrive before its message is known."""
        pairs = {self._message(t, m): c for t, m, c in messages}
        if pairs:
            await self._redis.mset(pairs)

    async def erase_customer(self, tenant: str, customer: str, conversation_ids: Iterable[str]) -> list[str]:
        """Delete every view of a customer and of their conversations; leave tombstones; return the
        conversations erased."""
        key = self._customer(tenant, customer)
        known: list[str] = [_text(c) for c in await self._redis.zrange(f"{key}:conversations", 0, -1)]  # type: ignore[arg-type, misc]
        conversations = list(dict.fromkeys([*known, *conversation_ids]))
        identities = [
            Identity.model_validate_json(i) for i in await self._redis.smembers(f"{key}:identities")
        ]
        owners = await self.owners(tenant, [identity_key(i) for i in identities])
        messages: list[str] = []
        for cid in conversations:
            for raw in await self._redis.lrange(f"{self._conversation(tenant, cid)}:timeline", 0, -1):
                entry = json.loads(raw)
                if entry.get("author_kind") in ("bot", "agent"):
                    messages.append(entry["message_id"])
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(
                key,
                f"{key}:identities",
                f"{key}:conflicts",
                f"{key}:claims",
                f"{key}:conversations",
                f"{key}:applied",
            )
            for ikey, owner in owners.items():
                if owner == customer:
                    pipe.delete(self._identity(tenant, ikey))
            for cid in conversations:
                ckey = self._conversation(tenant, cid)
                pipe.delete(ckey, f"{ckey}:timeline", f"{ckey}:applied", f"{ckey}:delivery")
                pipe.set(self._tombstone(tenant, cid), customer)
                pipe.zrem(self._open, f"{tenant} {cid}")
            for mid in messages:
                pipe.delete(self._message(tenant, mid))
            await pipe.execute()
        return conversations

    async def offsets(self, topic: str) -> dict[int, int]:
        """Last applied offset of each partition of a topic, as recorded with the views."""
        found: dict[int, int] = {}
        prefix = self._offset(topic, 0)[:-1]
        async for raw in self._redis.scan_iter(match=f"{prefix}*", count=100):
            key = raw.decode()
            value = await self._redis.get(key)
            if value is not None:
                found[int(key.removeprefix(prefix))] = int(value)
        return found

    async def offsets_of(self, topic: str, partitions: Sequence[int]) -> dict[int, int | None]:
        """Last applied offset of some partitions (None: not recorded), in one read."""
        raw = await self._redis.mget([self._offset(topic, p) for p in partitions]) if partitions else []
        return {p: None if r is None else int(r) for p, r in zip(partitions, raw, strict=True)}

    async def set_offsets(self, topic: str, offsets: dict[int, int]) -> None:
        if offsets:
            await self._redis.mset({self._offset(topic, p): o for p, o in offsets.items()})

    async def wipe(self) -> int:
        """Delete every view (not the customers' keys, which are not views). Returns the keys deleted."""
        deleted = 0
        batch: list[bytes] = []
        async for key in self._redis.scan_iter(match=f"{self._key('cs')}:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += await self._redis.unlink(*batch)
                batch = []
        if batch:
            deleted += await self._redis.unlink(*batch)
        return deleted

    async def expired(
        self, before: datetime, limit: int = 500, after: datetime | None = None, start: int = 0
    ) -> list[tuple[str, str, datetime]]:
        """(tenant, conversation, last activity) of open conversations silent since before `before`
        (and active after `after`, when given), oldest first, `limit` of them from `start`."""
        low = f"({after.timestamp()}" if after is not None else "-inf"
        rows: list[tuple[bytes, float]] = await self._redis.zrangebyscore(  # type: ignore[assignment]
            self._open, low, before.timestamp(), start, limit, withscores=True
        )
        out = []
        for member, score in rows:
            tenant, cid = member.decode().split(" ", 1)
            out.append((tenant, cid, datetime.fromtimestamp(float(score), tz=before.tzinfo)))
        return out

    async def recent_timelines(
        self, conversations: Iterable[tuple[str, str]], entries: int
    ) -> dict[tuple[str, str], list[str]]:
        """The last `entries` timeline entries (JSON, oldest first) of each (tenant, conversation)."""
        wanted = list(dict.fromkeys(conversations))
        async with self._redis.pipeline(transaction=False) as pipe:
            for tenant, cid in wanted:
                pipe.lrange(f"{self._conversation(tenant, cid)}:timeline", -entries, -1)
            rows = await pipe.execute()
        return {c: [raw.decode() for raw in row] for c, row in zip(wanted, rows, strict=True)}

    async def open_per_tenant(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        async for member, _ in self._redis.zscan_iter(self._open, count=1000):
            tenant = (_text(member) or "").split(" ", 1)[0]
            counts[tenant] = counts.get(tenant, 0) + 1
        return counts

    # -- the API's reads

    async def _conversation_parts(
        self, tenant: str, conversation_id: str
    ) -> tuple[dict[str, Any], list[bytes], dict[str, dict[str, str]]] | None:
        """A conversation's public fields, its raw timeline entries, and delivery reports per message."""
        key = self._conversation(tenant, conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.lrange(f"{key}:timeline", 0, -1)
            pipe.hgetall(f"{key}:delivery")
            state, timeline, reports = await pipe.execute()
        if not state:
            return None
        fields = {k.decode(): v.decode() for k, v in state.items()}
        view: dict[str, Any] = {k: v for k, v in fields.items() if ":" not in k}
        if "handoff" in view:
            view["handoff"] = json.loads(view["handoff"])
        view["channels"] = sorted(k.removeprefix("address:") for k in fields if k.startswith("address:"))
        view["participants"] = participants(fields)
        view["claims"] = await self._masked_claims(tenant, fields.get("customer_id"))
        by_message: dict[str, dict[str, str]] = {}
        for f, at in reports.items():
            message_id, status = f.decode().rsplit("|", 1)
            by_message.setdefault(message_id, {})[status] = at.decode()
        return view, timeline, by_message

    async def reply_channels(self, tenant: str, conversation_id: str) -> dict[str, Any] | None:
        """Where a reply in the conversation can go: its last channel and every channel with an address."""
        fields = cast(
            dict[bytes, bytes], await self._redis.hgetall(self._conversation(tenant, conversation_id))
        )
        if not fields:
            return None
        addressing = {
            k.decode(): v.decode()
            for k, v in fields.items()
            if k in (b"last_channel", b"last_address", b"customer_id") or k.startswith(b"address:")
        }
        identities = await self.identities(tenant, addressing.get("customer_id", ""))
        return {
            "last_channel": addressing.get("last_channel"),
            "channels": reply_channels(addressing, identities),
        }

    async def conversation(self, tenant: str, conversation_id: str) -> dict[str, Any] | None:
        """A conversation's state, participants and whole timeline, or None if this tenant has none such."""
        parts = await self._conversation_parts(tenant, conversation_id)
        if parts is None:
            return None
        view, timeline, by_message = parts
        entries = [json.loads(e) for e in timeline]
        for entry in entries:
            if entry.get("message_id") in by_message:
                entry["delivery"] = delivery_summary(by_message[entry["message_id"]])
        view["timeline"] = entries
        return view

    async def conversation_json(self, tenant: str, conversation_id: str) -> bytes | None:
        """The same as `conversation()`, as JSON: stored entries are spliced in as they are, and only
        those with delivery reports are parsed (the read path of long conversations)."""
        parts = await self._conversation_parts(tenant, conversation_id)
        if parts is None:
            return None
        view, timeline, by_message = parts
        if by_message:
            timeline = [_with_delivery(e, by_message) if b'"message_id"' in e else e for e in timeline]
        head = json.dumps(view, separators=(",", ":"), ensure_ascii=False).encode()
        return b"".join((head[:-1], b',"timeline":[', b",".join(timeline), b"]}"))

    async def _masked_claims(self, tenant: str, customer_id: str | None) -> list[dict[str, Any]]:
        """The customer's pending claims as an agent sees them: masked, with the id to confirm one by."""
        if not customer_id:
            return []
        raw = await self._redis.hgetall(f"{self._customer(tenant, customer_id)}:claims")
        claims = []
        for cid, value in sorted(raw.items()):
            claim = json.loads(value)
            identity = Identity.model_validate(claim["identity"])
            claims.append(
                {
                    "id": _text(cid),
                    "kind": identity.kind,
                    "masked": mask_identity(identity),
                    "known_customer": "other_customer_id" in claim,
                    "at": claim["at"],
                }
            )
        return claims

    async def customer(self, tenant: str, customer_id: str) -> dict[str, Any] | None:
        key = self._customer(tenant, customer_id)
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

    async def identities(self, tenant: str, customer_id: str) -> list[dict[str, Any]]:
        raw = await self._redis.smembers(f"{self._customer(tenant, customer_id)}:identities")
        return [json.loads(i) for i in raw]

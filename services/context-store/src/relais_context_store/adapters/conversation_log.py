"""The conversation log's views: each event's changes applied once with the partition's offset (one Lua
script), closed conversations' expiry, erasure, and the reads the materializer, the sweep and the
watchdog make. Every view is rebuilt by replaying the log (`wipe()` then the log). Keys:
adapters.view_keys.

An event is applied at most once: its id joins an applied set in the same script that writes its
changes, and that script also records each partition's last applied offset.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic_core import to_json
from redis.asyncio import Redis

from relais_context_store.adapters.customer_directory import CustomerDirectory
from relais_context_store.adapters.view_keys import ViewKeys, decoded, iso
from relais_context_store.domain.timeline import ViewChange, entry_json

# A batch of events, each applied once (its id joins the conversation's applied set, or it is skipped),
# and the consumed offsets, in one script: atomic, and one command to send however long the batch.
# ARGV: 1 the events as a JSON array, 2 the open set, 3 the awaiting set, then offset key/value pairs.
# An event: c conversation key, id, e entry JSON or "", d delivery field or "", da delivery time,
# m message index key or "", cid conversation id, f field/value pairs, and its customer change:
# u customer key or "", w "opened" | "activity" | "closed", ch channel, ad address, at ISO time,
# ep epoch time (a string), om open-set member, x when the conversation's views expire (epoch ms, on
# its close: RELAIS_CLOSED_VIEW_RETENTION_S after it, in the past on a replay of an old log), "0" when
# it is open again, "" when its state does not change; aw the time (epoch) of the customer message the
# bot has still to answer after this event, or "" when the conversation awaits nothing of the bot.
# The customer's pointer to their open conversation holds whatever order conversations are replayed
# in: a newer conversation wins, activity only counts for the open one, a close only clears its own.
_APPLY = """
local events = cjson.decode(ARGV[1])
local open = ARGV[2]
local awaiting = ARGV[3]
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
    if ev.aw == '' then
      redis.call('ZREM', awaiting, ev.om)
    else
      redis.call('ZADD', awaiting, ev.aw, ev.om)
    end
  end
end
for i = 4, #ARGV, 2 do redis.call('SET', ARGV[i], ARGV[i + 1]) end
return applied
"""


# The materializer's reads for a batch. ARGV: the number of fields, the fields, then per conversation
# its key, its tombstone key, the number of event ids and the ids. Returns per conversation
# {erased 0/1, applied flag per id, the fields' values}.
_READ = """
local nf = tonumber(ARGV[1])
local fields = {}
for i = 1, nf do fields[i] = ARGV[1 + i] end
local out = {}
local i = nf + 2
while i <= #ARGV do
  local c, n = ARGV[i], tonumber(ARGV[i + 2])
  local ids = {}
  for k = 1, n do ids[k] = ARGV[i + 2 + k] end
  out[#out + 1] = {
    redis.call('EXISTS', ARGV[i + 1]),
    redis.call('SMISMEMBER', c .. ':applied', unpack(ids)),
    redis.call('HMGET', c, unpack(fields)),
  }
  i = i + 3 + n
end
return out
"""


@dataclass(frozen=True)
class Applied:
    tenant: str
    conversation_id: str
    event_id: str
    change: ViewChange
    customer_id: str | None  # the conversation's customer, for customer changes
    at: datetime
    # After this event, the time of the customer message the bot has still to answer (None: nothing):
    # the watchdog's index, so that it reads these conversations and not every open one.
    awaits_bot_since: datetime | None = None


class ConversationLog:
    def __init__(
        self, redis: "Redis", keys: ViewKeys, directory: CustomerDirectory, closed_retention_s: float = 0.0
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._directory = directory  # erasure deletes the customer's records with their conversations
        self._apply = redis.register_script(_APPLY)
        self._read = redis.register_script(_READ)
        self._closed_retention_s = closed_retention_s  # 0: closed conversations' views are kept

    async def batch_reads(
        self, events: Sequence[tuple[str, str, str]], *fields: str
    ) -> tuple[set[str], dict[tuple[str, str], dict[str, str]]]:
        """What the materializer reads before a batch, in one script (one command and one reply, not
        three per conversation): which of these (tenant, conversation, event id) are already applied
        or belong to an erased conversation (whose late events must not bring it back), and the named
        fields of each conversation the views know."""
        by_conversation: dict[tuple[str, str], list[str]] = {}
        for tenant, subject, event_id in events:
            by_conversation.setdefault((tenant, subject), []).append(event_id)
        if not by_conversation:
            return set(), {}
        args: list[str | int] = [len(fields), *fields]
        for (tenant, subject), ids in by_conversation.items():
            key, tombstone = self._keys.conversation(tenant, subject), self._keys.tombstone(tenant, subject)
            args += [key, tombstone, len(ids), *ids]
        rows = await self._read(args=args)
        found: set[str] = set()
        known: dict[tuple[str, str], dict[str, str]] = {}
        for (conversation, ids), (erased, flags, values) in zip(by_conversation.items(), rows, strict=True):
            found.update(i for i, flag in zip(ids, flags, strict=True) if flag or erased)
            if any(v is not None for v in values):
                known[conversation] = {
                    f: v.decode() for f, v in zip(fields, values, strict=True) if v is not None
                }
        return found, known

    async def conversation_fields(
        self, conversations: Iterable[tuple[str, str]], *fields: str
    ) -> dict[tuple[str, str], dict[str, str]]:
        """The named fields of each (tenant, conversation id) the views know."""
        wanted = list(dict.fromkeys(conversations))
        async with self._redis.pipeline(transaction=False) as pipe:
            for tenant, cid in wanted:
                pipe.hmget(self._keys.conversation(tenant, cid), *fields)
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
                    "c": self._keys.conversation(a.tenant, a.conversation_id),
                    "id": a.event_id,
                    "e": entry_json(change.entry) if change.entry else "",
                    "d": f"{change.delivery[0]}|{change.delivery[1]}" if change.delivery else "",
                    "da": change.delivery[2] if change.delivery else "",
                    "m": self._keys.message(a.tenant, change.indexed_message)
                    if change.indexed_message
                    else "",
                    "cid": a.conversation_id,
                    "f": [x for kv in change.fields.items() for x in kv],
                    "u": self._keys.customer(a.tenant, customer_id) if customer and customer_id else "",
                    "w": customer.what if customer else "",
                    "ch": (customer and customer.channel) or "",
                    "ad": (customer and customer.address) or "",
                    "at": iso(a.at),
                    "ep": repr(a.at.timestamp()),
                    "om": f"{a.tenant} {a.conversation_id}",
                    "x": self._expiry(change.fields.get("state"), a.at),
                    "aw": repr(a.awaits_bot_since.timestamp()) if a.awaits_bot_since else "",
                }
            )
        offset_args = [x for (topic, p), o in offsets.items() for x in (self._keys.offset(topic, p), o)]
        await self._apply(
            args=[
                # pydantic-core's serializer: json.dumps of the batch was 4 % of the CPU per message.
                to_json(events),
                self._keys.open,
                self._keys.awaiting,
                *offset_args,
            ]
        )

    def _expiry(self, state: str | None, at: datetime) -> str:
        if state is None or not self._closed_retention_s:
            return ""
        if state != "closed":
            return "0"
        return str(int((at.timestamp() + self._closed_retention_s) * 1000))

    async def index_messages(self, messages: Iterable[tuple[str, str, str]]) -> None:
        """Index (tenant, message id, conversation id) of bot and agent messages before they are sent, so a
        channel's delivery report cannot arrive before its message is known."""
        pairs = {self._keys.message(t, m): c for t, m, c in messages}
        if pairs:
            await self._redis.mset(pairs)

    async def conversation_of_message(self, tenant: str, message_id: str) -> str | None:
        return decoded(await self._redis.get(self._keys.message(tenant, message_id)))

    async def erase_customer(self, tenant: str, customer: str, conversation_ids: Iterable[str]) -> list[str]:
        """Delete every view of a customer and of their conversations; leave tombstones; return the
        conversations erased."""
        records = await self._directory.records(tenant, customer)
        conversations = list(dict.fromkeys([*records.conversations, *conversation_ids]))
        messages: list[str] = []
        for cid in conversations:
            for raw in await self._redis.lrange(f"{self._keys.conversation(tenant, cid)}:timeline", 0, -1):
                entry = json.loads(raw)
                # Replies are indexed by message id (delivery reports); an agent's note has none.
                if entry.get("author_kind") in ("bot", "agent") and "message_id" in entry:
                    messages.append(entry["message_id"])
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(*records.keys)
            for cid in conversations:
                ckey = self._keys.conversation(tenant, cid)
                pipe.delete(ckey, f"{ckey}:timeline", f"{ckey}:applied", f"{ckey}:delivery")
                pipe.set(self._keys.tombstone(tenant, cid), customer)
                pipe.zrem(self._keys.open, f"{tenant} {cid}")
                pipe.zrem(self._keys.awaiting, f"{tenant} {cid}")
            for mid in messages:
                pipe.delete(self._keys.message(tenant, mid))
            await pipe.execute()
        return conversations

    async def offsets(self, topic: str) -> dict[int, int]:
        """Last applied offset of each partition of a topic, as recorded with the views."""
        found: dict[int, int] = {}
        prefix = self._keys.offset(topic, 0)[:-1]
        async for raw in self._redis.scan_iter(match=f"{prefix}*", count=100):
            key = raw.decode()
            value = await self._redis.get(key)
            if value is not None:
                found[int(key.removeprefix(prefix))] = int(value)
        return found

    async def offsets_of(self, topic: str, partitions: Sequence[int]) -> dict[int, int | None]:
        """Last applied offset of some partitions (None: not recorded), in one read."""
        raw = await self._redis.mget(self.offset_keys(topic, partitions)) if partitions else []
        return recorded_offsets(partitions, raw)

    def offset_keys(self, topic: str, partitions: Sequence[int]) -> list[str]:
        """The keys of `offsets_of`, for a caller that reads them in a trip of its own."""
        return [self._keys.offset(topic, p) for p in partitions]

    async def set_offsets(self, topic: str, offsets: dict[int, int]) -> None:
        if offsets:
            await self._redis.mset({self._keys.offset(topic, p): o for p, o in offsets.items()})

    async def wipe(self) -> int:
        """Delete every view (not the customers' keys, which are not views). Returns the keys deleted."""
        deleted = 0
        batch: list[bytes] = []
        async for key in self._redis.scan_iter(match=f"{self._keys.root}:*", count=1000):
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
        return await self._by_time(self._keys.open, before, limit, after, start)

    async def awaiting_bot(
        self, before: datetime, limit: int = 500, after: datetime | None = None, start: int = 0
    ) -> list[tuple[str, str, datetime]]:
        """(tenant, conversation, the message's time) of conversations whose customer message, sent
        before `before` (and after `after`, when given), the bot has not answered; oldest first."""
        return await self._by_time(self._keys.awaiting, before, limit, after, start)

    async def _by_time(
        self, key: str, before: datetime, limit: int, after: datetime | None, start: int
    ) -> list[tuple[str, str, datetime]]:
        low = f"({after.timestamp()}" if after is not None else "-inf"
        rows: list[tuple[bytes, float]] = await self._redis.zrangebyscore(  # type: ignore[assignment]
            key, low, before.timestamp(), start, limit, withscores=True
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
                pipe.lrange(f"{self._keys.conversation(tenant, cid)}:timeline", -entries, -1)
            rows = await pipe.execute()
        return {c: [raw.decode() for raw in row] for c, row in zip(wanted, rows, strict=True)}

    async def open_per_tenant(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        async for member, _ in self._redis.zscan_iter(self._keys.open, count=1000):
            tenant = (decoded(member) or "").split(" ", 1)[0]
            counts[tenant] = counts.get(tenant, 0) + 1
        return counts


def recorded_offsets(partitions: Sequence[int], raw: Sequence[bytes | str | None]) -> dict[int, int | None]:
    """The values of `ConversationLog.offset_keys` as offsets (None: not recorded)."""
    return {p: None if r is None else int(r) for p, r in zip(partitions, raw, strict=True)}

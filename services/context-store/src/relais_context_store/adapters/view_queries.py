"""The reads the context store's API serves: a conversation and its timeline, a customer with their
conversations and timeline, who an identity is, where a reply can go. Keys: adapters.view_keys."""

import json
from typing import Any, cast

from redis.asyncio import Redis

from relais_context_store.adapters.conversation_log import ConversationLog
from relais_context_store.adapters.customer_directory import CustomerDirectory
from relais_context_store.adapters.view_keys import ViewKeys
from relais_context_store.domain.identity import identity_key
from relais_context_store.domain.timeline import delivery_summary, entry_json, participants, reply_channels
from relais_contracts.customers import Identity

# The fields of each conversation a customer's view lists.
_SUMMARY = ("state", "opened_at", "closed_at", "closed_reason", "last_channel", "agent_id")


def _with_delivery(raw: bytes, by_message: dict[str, dict[str, str]]) -> bytes:
    entry = json.loads(raw)
    if entry.get("message_id") not in by_message:
        return raw
    entry["delivery"] = delivery_summary(by_message[entry["message_id"]])
    return entry_json(entry).encode()


class ViewQueries:
    def __init__(
        self, redis: "Redis", keys: ViewKeys, directory: CustomerDirectory, log: ConversationLog
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._directory = directory
        self._log = log

    async def _conversation_parts(
        self, tenant: str, conversation_id: str
    ) -> tuple[dict[str, Any], list[bytes], dict[str, dict[str, str]]] | None:
        """A conversation's public fields, its raw timeline entries, and delivery reports per message."""
        key = self._keys.conversation(tenant, conversation_id)
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
        view["claims"] = await self._directory.masked_claims(tenant, fields.get("customer_id"))
        by_message: dict[str, dict[str, str]] = {}
        for f, at in reports.items():
            message_id, status = f.decode().rsplit("|", 1)
            by_message.setdefault(message_id, {})[status] = at.decode()
        return view, timeline, by_message

    async def reply_channels(self, tenant: str, conversation_id: str) -> dict[str, Any] | None:
        """Where a reply in the conversation can go: its last channel and every channel with an address."""
        fields = cast(
            dict[bytes, bytes], await self._redis.hgetall(self._keys.conversation(tenant, conversation_id))
        )
        if not fields:
            return None
        addressing = {
            k.decode(): v.decode()
            for k, v in fields.items()
            if k in (b"last_channel", b"last_address", b"customer_id") or k.startswith(b"address:")
        }
        identities = await self._directory.identities(tenant, addressing.get("customer_id", ""))
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

    async def customer(self, tenant: str, customer_id: str) -> dict[str, Any] | None:
        """A customer's record, each conversation with its summary."""
        view = await self._directory.customer(tenant, customer_id)
        if view is None:
            return None
        found = await self._log.conversation_fields(((tenant, c) for c in view["conversations"]), *_SUMMARY)
        view["conversations"] = [{"id": c, **found.get((tenant, c), {})} for c in view["conversations"]]
        return view

    async def customer_timeline(self, tenant: str, customer_id: str) -> list[dict[str, Any]] | None:
        """Everything the customer said and was told, across conversations, oldest first."""
        view = await self._directory.customer(tenant, customer_id)
        if view is None:
            return None
        entries: list[dict[str, Any]] = []
        for cid in view["conversations"]:
            conversation = await self.conversation(tenant, cid)
            if conversation is not None:
                entries += [{"conversation_id": cid, **e} for e in conversation["timeline"]]
        return entries

    async def lookup(self, tenant: str, identity: Identity) -> dict[str, Any] | None:
        """Who this identity is: the customer, and their open conversation if they have one."""
        key = identity_key(identity)
        owner = (await self._directory.owners(tenant, [key])).get(key)
        if owner is None:
            return None
        view = await self._directory.customer(tenant, owner)
        return {"customer_id": owner, "identity": identity.model_dump(exclude_none=True),
                "open_conversation": view["open_conversation"] if view else None}  # fmt: skip

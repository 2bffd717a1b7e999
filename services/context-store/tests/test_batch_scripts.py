"""The per-batch Lua scripts of the context store's adapters, on real Redis: each reads or writes what the
pipelines of a command per event did (applied ids, tombstones, fields, open pointers, identity links)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio import Redis

from relais_context_store.adapters.conversation_log import ConversationLog
from relais_context_store.adapters.customer_directory import CustomerDirectory
from relais_context_store.adapters.view_keys import ViewKeys
from relais_context_store.domain.identity import identity_key
from relais_context_store.domain.resolution import OpenConversation
from relais_contracts.customers import (
    Identity,
    IdentityLinked,
    IdentityLinkedData,
    IdentityUnlinked,
    IdentityUnlinkedData,
)
from relais_platform.settings import ServiceSettings
from relais_platform.testing import Infra

pytestmark = pytest.mark.integration

EMAIL = Identity(kind="email", value="nadia@example.com")
AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def redis(infra: Infra) -> AsyncIterator[Redis]:
    client = Redis.from_url(infra.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def keys(namespace: str) -> ViewKeys:
    return ViewKeys(ServiceSettings(namespace=namespace))


def _envelope(event_id: str, customer: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "source": "relais/context-store",
        "time": AT,
        "tenant": "acme",
        "subject": customer,
    }


async def test_identity_events_link_first_owner_and_unlink_only_their_own(
    redis: Redis, keys: ViewKeys
) -> None:
    directory = CustomerDirectory(redis, keys)
    linked = IdentityLinked(**_envelope("e-1", "c-1"), data=IdentityLinkedData(identities=(EMAIL,)))
    taken = IdentityLinked(**_envelope("e-2", "c-2"), data=IdentityLinkedData(identities=(EMAIL,)))
    await directory.apply_identities([linked, taken])
    assert await directory.owners("acme", [identity_key(EMAIL)]) == {identity_key(EMAIL): "c-1"}
    assert await directory.customer_applied([("acme", "c-1", linked.uid), ("acme", "c-2", taken.uid)]) == {
        linked.uid,
        taken.uid,
    }
    assert await directory.customer_applied([("acme", "c-1", "not-applied")]) == set()

    # c-2 unlinking an identity c-1 owns leaves c-1's link.
    other = IdentityUnlinked(**_envelope("e-3", "c-2"), data=IdentityUnlinkedData(identities=(EMAIL,)))
    await directory.apply_identities([other])
    assert await directory.owners("acme", [identity_key(EMAIL)]) == {identity_key(EMAIL): "c-1"}
    assert await directory.identities("acme", "c-2") == []

    own = IdentityUnlinked(**_envelope("e-4", "c-1"), data=IdentityUnlinkedData(identities=(EMAIL,)))
    await directory.apply_identities([own])
    assert await directory.owners("acme", [identity_key(EMAIL)]) == {}
    assert await directory.identities("acme", "c-1") == []


async def test_open_pointers_are_recorded_and_closed_conversations_are_not_open(
    redis: Redis, keys: ViewKeys
) -> None:
    directory = CustomerDirectory(redis, keys)
    pointer = OpenConversation("conv-1", "webchat", "visitor-9", AT, AT)
    await directory.record_resolution({("acme", "email:x"): "c-1"}, {("acme", "c-1"): pointer})
    assert await directory.owners("acme", ["email:x"]) == {"email:x": "c-1"}
    found = await directory.open_conversations([("acme", "c-1"), ("acme", "c-unknown")])
    assert found == {("acme", "c-1"): pointer}

    await redis.hset(keys.conversation("acme", "conv-1"), "state", "closed")
    assert await directory.open_conversations([("acme", "c-1")]) == {}


async def test_batch_reads_report_applied_erased_and_fields(redis: Redis, keys: ViewKeys) -> None:
    log = ConversationLog(redis, keys, CustomerDirectory(redis, keys))
    await redis.sadd(f"{keys.conversation('acme', 'conv-1')}:applied", "ev-1")
    await redis.hset(keys.conversation("acme", "conv-1"), mapping={"state": "bot", "last_channel": "sms"})
    await redis.set(keys.tombstone("acme", "conv-2"), "c-9")
    applied, known = await log.batch_reads(
        [
            ("acme", "conv-1", "ev-1"),
            ("acme", "conv-1", "ev-2"),
            ("acme", "conv-2", "ev-3"),
            ("acme", "conv-3", "ev-4"),
        ],
        "state",
        "last_channel",
        "customer_id",
    )
    assert applied == {"ev-1", "ev-3"}  # ev-3: its conversation was erased
    assert known == {("acme", "conv-1"): {"state": "bot", "last_channel": "sms"}}
    assert await log.batch_reads([], "state") == (set(), {})

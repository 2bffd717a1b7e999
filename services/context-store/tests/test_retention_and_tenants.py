"""No unbounded state: a closed conversation's views expire after RELAIS_CLOSED_VIEW_RETENTION_S, and
events of a tenant outside RELAIS_TENANTS are dead-lettered (`unknown-tenant`) without a trace in Redis
or in the metrics."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from redis.asyncio import Redis

from relais_contracts import topics
from relais_contracts.conversation import Closed, Opened
from relais_platform.testing import Infra, RawPublisher, TopicReader, poll, redis_dump

from .conftest import Launch, channel_message, get

pytestmark = pytest.mark.integration


async def test_closed_conversations_views_expire_after_the_retention(
    infra: Infra, namespace: str, launch: Launch
) -> None:
    store = await launch(
        RELAIS_CLOSED_VIEW_RETENTION_S="3600", RELAIS_INACTIVITY_TIMEOUT_S="1", RELAIS_SWEEP_INTERVAL_S="0.3"
    )
    redis = Redis.from_url(infra.redis_url)
    async with (
        RawPublisher(infra, namespace) as channel,
        TopicReader(infra, namespace, [topics.CONVERSATIONS]) as log,
    ):
        old = channel_message(
            "hello from long ago", "sms", "+33600000001", at=datetime.now(UTC) - timedelta(hours=2)
        )
        recent = channel_message("hello just now", "sms", "+33600000002")
        await channel.event(topics.INBOUND, "acme:sms:+33600000001", old)
        await channel.event(topics.INBOUND, "acme:sms:+33600000002", recent)

        def conversation_of(event_id: str) -> str | None:
            opened = log.events(
                topics.CONVERSATIONS, lambda e: isinstance(e, Opened) and e.causationid == event_id
            )
            return opened[0].subject if opened else None

        cid_old = await poll(lambda: conversation_of(old["id"]), what="the old conversation")
        cid_new = await poll(lambda: conversation_of(recent["id"]), what="the recent conversation")
        for cid in (cid_old, cid_new):
            await log.wait_event(
                topics.CONVERSATIONS, lambda e, c=cid: isinstance(e, Closed) and e.subject == c
            )

        async def deleted(cid: str) -> bool:
            return (await get(store, f"/v1/conversations/{cid}")).status_code == 404

        # Closed two hours ago, kept one hour: gone. Closed now: there, for about an hour more.
        await poll(lambda: deleted(cid_old), what="the old conversation's views deleted")
        await poll(lambda: _closed(store, cid_new), what="the recent conversation closed in its views")
        base = f"{namespace}relais:cs:acme:conversation:{cid_new}"
        for key in (base, f"{base}:timeline", f"{base}:applied"):
            ttl = await redis.pttl(key)
            assert 3_000_000 < ttl <= 3_600_000, (key, ttl)

        async def no_open_series() -> bool:
            async with httpx.AsyncClient() as client:
                text = (await client.get(f"{store.url}/metrics")).text
            return not [
                line for line in text.splitlines() if line.startswith("relais_context_conversations_open{")
            ]

        # Nothing open any more: the tenant's gauge goes away instead of staying at 0 for ever.
        await poll(no_open_series, what="the open-conversations series of acme removed")
    await redis.aclose()


async def _closed(store: object, cid: str) -> bool:
    response = await get(store, f"/v1/conversations/{cid}")  # type: ignore[arg-type]
    return response.status_code == 200 and response.json().get("state") == "closed"


async def test_events_of_an_unknown_tenant_are_dead_lettered_and_leave_no_state(
    infra: Infra, namespace: str, launch: Launch
) -> None:
    store = await launch(RELAIS_TENANTS="acme,globex")
    wanted = [topics.CONVERSATIONS, topics.DEADLETTER]
    async with RawPublisher(infra, namespace) as channel, TopicReader(infra, namespace, wanted) as log:
        stranger = channel_message("let me in", "webchat", "intruder", tenant="evilcorp")
        await channel.event(topics.INBOUND, "evilcorp:webchat:intruder", stranger)
        served = channel_message("bonjour", "webchat", "visitor", tenant="globex")
        await channel.event(topics.INBOUND, "globex:webchat:visitor", served)

        await log.wait_event(topics.CONVERSATIONS, lambda e: e.tenant == "globex", what="globex served")

        def dead_letters() -> list[dict[str, bytes]]:
            return [
                dict(r.headers)
                for r in log.records
                if r.topic == f"{namespace}{topics.DEADLETTER}" and stranger["id"].encode() in r.value
            ]

        letters = await poll(dead_letters, what="the stranger's event dead-lettered")
        assert letters[0]["relais.dlq.reason"] == b"unknown-tenant"
        assert letters[0]["relais.dlq.topic"] == topics.INBOUND.encode()
        assert not log.events(topics.CONVERSATIONS, lambda e: e.tenant == "evilcorp")
        assert not [k for k in await redis_dump(infra, namespace) if "evilcorp" in k]
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"{store.url}/metrics")).text
        assert "evilcorp" not in metrics
        assert 'reason="unknown-tenant"' in metrics

"""SIGTERM while both consumers are busy and admin work waits for or holds the store's lock: the
process exits cleanly and soon, and after a restart every message is in the views, once.

The live handlers share the store's lock and an admin rebuild, an identity change or an erasure takes it
alone (service_layer.store_lock); a stop must not wait for either side forever.
"""

import asyncio
import time
import uuid

import httpx
import pytest
from redis.asyncio import Redis

from relais_contracts import topics
from relais_contracts.conversation import CustomerMessage, Opened
from relais_platform.testing import Infra, RawPublisher, ServiceProcess, TopicReader, api_headers, poll

from .conftest import ADMIN_TOKEN, Launch, channel_message, get, log_event

pytestmark = pytest.mark.integration

CUSTOMERS = 150
OPENED = 50
# A stop is clean within this: well under the shutdown timeouts (15 s for HTTP, 15 s for consumers),
# which are what a hang on the lock would run into.
EXIT_WITHIN_S = 10.0


def _id(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, parts))))


async def _messages(channel: RawPublisher, first: int, last: int) -> None:
    for c in range(first, last):
        address = f"+1555{c:05d}"
        await channel.event(
            topics.INBOUND,
            f"acme:sms:{address}",
            channel_message(f"hello {c}", "sms", address, event_id=_id("m", c)),
        )


async def _replies(channel: RawPublisher, conversations: list[str]) -> None:
    for n, cid in enumerate(conversations):
        await channel.event(
            topics.CONVERSATIONS,
            cid,
            log_event(
                "relais.conversation.reply.posted",
                cid,
                event_id=_id("reply", cid, n),
                data={
                    "message_id": f"bot-{n}",
                    "author": {"kind": "bot", "name": "Relais"},
                    "text": f"re {cid}",
                },
            ),
        )


async def _admin_work(store: ServiceProcess, customer_id: str, stop: asyncio.Event) -> list[int]:
    """Rebuilds and identity links one after another (each takes the lock alone) until `stop`."""
    codes: list[int] = []
    async with httpx.AsyncClient(base_url=store.url, timeout=30) as client:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                if n % 2:
                    response = await client.post(
                        "/v1/admin/rebuild", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
                    )
                else:
                    response = await client.post(
                        f"/v1/customers/{customer_id}/identities",
                        headers=api_headers("acme"),
                        json={"kind": "email", "value": f"c{n}@example.com"},
                    )
                codes.append(response.status_code)
            except httpx.HTTPError:
                return codes  # the server went away mid-request: the stop under test
    return codes


async def test_sigterm_with_busy_consumers_and_admin_work_exits_cleanly_and_loses_nothing(
    infra: Infra, namespace: str, launch: Launch
) -> None:
    store = await launch()
    async with (
        RawPublisher(infra, namespace) as channel,
        TopicReader(infra, namespace, [topics.CONVERSATIONS]) as log,
    ):

        def resolved() -> dict[str, str]:  # text -> conversation
            messages = log.events(topics.CONVERSATIONS, lambda e: isinstance(e, CustomerMessage))
            return {e.data.text: e.subject for e in messages if isinstance(e, CustomerMessage) and e.subject}

        # Conversations to reply to while new customers keep coming: both consumers get batches.
        await _messages(channel, 0, OPENED)
        await poll(lambda: len(resolved()) >= OPENED, timeout=60, what="the first conversations opened")
        first = resolved()
        opened = log.events(topics.CONVERSATIONS, lambda e: isinstance(e, Opened))
        customer_id = next(e.data.customer_id for e in opened if isinstance(e, Opened) and e.data.customer_id)
        stop = asyncio.Event()
        admin = asyncio.create_task(_admin_work(store, customer_id, stop))
        feeding = asyncio.gather(
            _messages(channel, OPENED, CUSTOMERS),
            _replies(channel, [first[f"hello {c}"] for c in range(OPENED)]),
        )
        await asyncio.sleep(1.0)  # rebuilds and links interleaved with the live batches
        started = time.monotonic()
        code = await asyncio.to_thread(store.terminate, 60.0)
        took = time.monotonic() - started
        stop.set()
        await feeding
        codes = await admin
        stopped_log = store.log_tail(5000)
        assert code in (0, -15), stopped_log
        assert took < EXIT_WITHIN_S, f"stopped after {took:.1f} s\n{stopped_log}"
        assert "service stopped" in stopped_log
        assert "Traceback" not in stopped_log
        assert codes
        assert set(codes) <= {200, 201, 409}, codes

        # Restarted: every message resolved once, each conversation's timeline whole.
        again = await launch()
        await poll(lambda: len(resolved()) >= CUSTOMERS, timeout=90, what="every message resolved")
        conversations = resolved()

        async def timelines() -> dict[int, list[str]] | None:
            out = {}
            for c in range(CUSTOMERS):
                response = await get(again, f"/v1/conversations/{conversations[f'hello {c}']}/timeline")
                out[c] = [e["text"] for e in response.json() if e["kind"] == "message"]
                if response.status_code != 200 or len(out[c]) < (2 if c < OPENED else 1):
                    return None
            return out

        entries = await poll(timelines, timeout=90, what="every message and reply in the views")
        messages = log.events(topics.CONVERSATIONS, lambda e: isinstance(e, CustomerMessage))
    assert len(messages) == CUSTOMERS, "each message resolved once"
    for c, texts in entries.items():
        reply = [f"re {conversations[f'hello {c}']}"] if c < OPENED else []
        assert sorted(texts) == sorted([f"hello {c}", *reply]), (c, texts)


async def test_sigterm_while_inbound_waits_for_the_log_after_a_self_heal_exits_cleanly_and_loses_nothing(
    infra: Infra, namespace: str, launch: Launch
) -> None:
    # Small log batches: after the rebuild, the log consumer takes a while to materialize its backlog,
    # and the inbound consumer waits for it (recovery.ViewsRecovery) when the stop comes.
    store = await launch(RELAIS_CONSUMER_BATCH_MAX="5")
    async with (
        RawPublisher(infra, namespace) as channel,
        TopicReader(infra, namespace, [topics.CONVERSATIONS]) as log,
    ):

        def resolved() -> dict[str, str]:
            messages = log.events(topics.CONVERSATIONS, lambda e: isinstance(e, CustomerMessage))
            return {e.data.text: e.subject for e in messages if isinstance(e, CustomerMessage) and e.subject}

        await _messages(channel, 0, OPENED)
        await poll(lambda: len(resolved()) >= OPENED, timeout=60, what="the first conversations opened")
        first = [resolved()[f"hello {c}"] for c in range(OPENED)]
        redis = Redis.from_url(infra.redis_url)
        try:
            # The views lost (their marker gone) with a backlog on the log: the next log batch rebuilds,
            # and the inbound consumer then waits until the log consumer has materialized the backlog.
            await _replies(channel, first * 20)
            assert await redis.delete(f"{namespace}relais:views:context-store:generation") == 1
        finally:
            await redis.aclose()
        await poll(
            lambda: store.log_tail(5000).count("views rebuilt; taking new records again") == 2,
            timeout=60,
            what="the views rebuilt",
        )
        await _messages(channel, OPENED, OPENED + 5)
        await asyncio.sleep(0.5)  # the inbound batch in hand, held until the log catches up
        started = time.monotonic()
        code = await asyncio.to_thread(store.terminate, 60.0)
        took = time.monotonic() - started
        stopped_log = store.log_tail(20000)
        assert code in (0, -15), stopped_log
        assert took < EXIT_WITHIN_S, f"stopped after {took:.1f} s\n{stopped_log}"
        assert "service stopped" in stopped_log
        assert "Traceback" not in stopped_log

        again = await launch()
        await poll(lambda: len(resolved()) >= OPENED + 5, timeout=90, what="every message resolved")
        conversations = resolved()

        async def timelines() -> dict[int, list[str]] | None:
            out = {}
            for c in range(OPENED + 5):
                response = await get(again, f"/v1/conversations/{conversations[f'hello {c}']}/timeline")
                out[c] = [e["text"] for e in response.json() if e["kind"] == "message"]
                if response.status_code != 200 or len(out[c]) < (21 if c < OPENED else 1):
                    return None
            return out

        entries = await poll(timelines, timeout=90, what="every message and reply in the views")
        messages = log.events(topics.CONVERSATIONS, lambda e: isinstance(e, CustomerMessage))
    assert len(messages) == OPENED + 5, "each message resolved once"
    for c, texts in entries.items():
        replies = [f"re {conversations[f'hello {c}']}"] * 20 if c < OPENED else []
        assert sorted(texts) == sorted([f"hello {c}", *replies]), (c, texts)

"""Redis loses the views under a running context store (FLUSHALL, a restart without persistence, or a
restart that lost the last writes) between two messages of a customer: the store notices, rebuilds from
the log before resolving the next message, and the customer stays the same customer with the whole
timeline. On a Redis of the test's own."""

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from relais_contracts import topics
from relais_contracts.conversation import CustomerMessage, Opened
from relais_platform.testing import Infra, LocalRedis, RawPublisher, TopicReader, poll

from .conftest import Launch, channel_message, get

pytestmark = pytest.mark.integration


@pytest.fixture
def own_redis(request: pytest.FixtureRequest) -> Iterator[LocalRedis]:
    # With its append-only file, for the loss of only the last writes; the other losses wipe it all.
    with LocalRedis(request.config.rootpath, appendonly=True) as redis:
        yield redis


@pytest.mark.parametrize("loss", ["flushall", "restart", "last-writes"])
async def test_a_returning_customer_stays_the_same_customer_after_redis_lost_the_views(
    infra: Infra, namespace: str, launch: Launch, own_redis: LocalRedis, loss: str
) -> None:
    store = await launch(RELAIS_REDIS_URL=own_redis.url)
    wanted = [topics.CONVERSATIONS]
    async with RawPublisher(infra, namespace) as channel, TopicReader(infra, namespace, wanted) as log:

        async def texts(cid: str) -> list[Any]:
            response = await get(store, f"/v1/conversations/{cid}/timeline")
            entries = response.json() if response.status_code == 200 else []
            return [e["text"] for e in entries if e["kind"] == "message"]

        async def marker() -> bool:
            client = Redis.from_url(own_redis.url)
            try:
                return bool(await client.exists(f"{namespace}relais:views:context-store:generation"))
            finally:
                await client.aclose()

        await poll(marker, what="the views' marker")
        await asyncio.sleep(1.5)  # fsynced: the append-only file holds the marker
        before = Path(tempfile.mkdtemp()) / "aof"
        shutil.copytree(own_redis.data_dir / "appendonlydir", before)

        async def send(text: str) -> None:
            message = channel_message(text, "webchat", "visitor-7", identity={"email": "lea@example.com"})
            await channel.event(topics.INBOUND, "acme:webchat:visitor-7", message)

        await send("Bonjour, ma livraison est en retard")
        opened = await log.wait_event(topics.CONVERSATIONS, lambda e: isinstance(e, Opened), what="opened")
        assert isinstance(opened, Opened)
        cid, customer = opened.subject or "", opened.data.customer_id
        await poll(lambda: texts(cid), what="the first message in the timeline")

        if loss == "flushall":
            await own_redis.flushall()
        elif loss == "restart":
            await own_redis.flushall()  # a restart without persistence
            own_redis.restart()
        else:
            # A restart that lost the writes since the copy: the views and the marker come back as they
            # were before the first message, the resolver's link of the customer is gone.
            own_redis.stop()
            shutil.rmtree(own_redis.data_dir / "appendonlydir")
            shutil.copytree(before, own_redis.data_dir / "appendonlydir")
            own_redis.start()

        await send("Vous avez des nouvelles ?")

        async def both() -> list[Any] | None:
            found = await texts(cid)
            return found if len(found) >= 2 else None

        assert await poll(both, timeout=60, what="both messages in one timeline") == [
            "Bonjour, ma livraison est en retard",
            "Vous avez des nouvelles ?",
        ]
        messages = log.events(topics.CONVERSATIONS, lambda e: isinstance(e, CustomerMessage))
        assert [m.subject for m in messages] == [cid, cid]
        assert len(log.events(topics.CONVERSATIONS, lambda e: isinstance(e, Opened))) == 1
        response = await get(store, f"/v1/customers/{customer}")
        assert response.status_code == 200
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"{store.url}/metrics")).text
            assert (await client.get(f"{store.url}/healthz")).status_code == 200
        rebuilds = [line for line in metrics.splitlines() if line.startswith("relais_views_rebuilds_total{")]
        reason = "behind" if loss == "last-writes" else "missing"
        assert any(f'reason="{reason}"' in line and not line.endswith(" 0.0") for line in rebuilds), rebuilds

"""Redis loses the views under a running context store (FLUSHALL, or a restart without persistence)
between two messages of a customer: the store notices, rebuilds from the log before resolving the next
message, and the customer stays the same customer with the whole timeline. On a Redis of the test's own."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from relais_contracts import topics
from relais_contracts.conversation import CustomerMessage, Opened
from relais_platform.testing import Infra, LocalRedis, RawPublisher, TopicReader, poll

from .conftest import Launch, channel_message, get

pytestmark = pytest.mark.integration


@pytest.fixture
def own_redis(request: pytest.FixtureRequest) -> Iterator[LocalRedis]:
    with LocalRedis(request.config.rootpath) as redis:
        yield redis


@pytest.mark.parametrize("loss", ["flushall", "restart"])
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
        else:
            own_redis.restart()

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
        assert any('reason="missing"' in line and not line.endswith(" 0.0") for line in rebuilds), rebuilds

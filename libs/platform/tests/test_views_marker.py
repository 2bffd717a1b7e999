"""The views' self-healing against real Kafka and Redis: a replica that waits for another replica's
rebuild lets its service stop at once, instead of holding the stop until the shutdown timeout."""

import asyncio
import contextlib
from collections.abc import Iterable, Sequence

import pytest
from redis.asyncio import Redis

from relais_contracts import Outgoing, topics
from relais_platform.consumer import Delivery
from relais_platform.runtime import Runtime
from relais_platform.settings import ServiceSettings
from relais_platform.testing import Infra, RawPublisher, poll
from relais_platform.views_marker import SelfHealing, StoppedWaiting, ViewsLost, ViewsMarker

from .test_runtime import message

pytestmark = pytest.mark.integration


async def test_a_consumer_waiting_for_another_replicas_rebuild_stops_waiting_when_the_service_stops(
    infra: Infra, namespace: str
) -> None:
    values = {
        "namespace": namespace,
        "kafka_bootstrap_servers": infra.bootstrap,
        "redis_url": infra.redis_url,
    }
    s = ServiceSettings.model_validate(values | {"shutdown_timeout_s": 15.0})
    runtime = Runtime(s, "test")
    rebuilds: list[str] = []

    async def rebuild() -> None:
        rebuilds.append("here")  # never: the other replica holds the lock

    healing = SelfHealing(
        ViewsMarker(runtime.redis, s, "test"), rebuild, service="test", stopping=runtime.stopping
    )
    handled: list[str] = []
    stopped_waiting = asyncio.Event()

    async def handler(batch: Sequence[Delivery]) -> None:
        handled.extend(d.event.id for d in batch)

    guarded = healing.guard(handler)

    async def observed(batch: Sequence[Delivery]) -> None:
        try:
            await guarded(batch)
        except StoppedWaiting:
            stopped_waiting.set()
            raise

    runtime.consume("inbound", [topics.INBOUND], observed)
    other = Redis.from_url(infra.redis_url)
    # Another replica took the rebuild lock (withdrawing the marker) and rebuilds for a long time.
    assert await ViewsMarker(other, s, "test").begin_rebuild("another-replica", lease_s=600)
    try:
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(runtime.running())
            async with RawPublisher(infra, namespace) as publisher:
                await publisher.send(topics.INBOUND, message(1), key="acme:sms:+331")
            await poll(lambda: healing.healing, timeout=60, what="the consumer waiting for the other rebuild")
            # Leaving the runtime stops it. A bound well below the 15 s shutdown timeout only guards
            # against a hang; what proves the stop is the wait ending on its own, below.
            await asyncio.wait_for(stack.aclose(), timeout=5)
        assert stopped_waiting.is_set(), "the wait ended because the service stopped"
        assert not healing.healing
        assert handled == [], "the batch is left uncommitted for the next owner"
        assert rebuilds == [], "nothing rebuilt here: the other replica holds the lock"
        assert await other.get(s.key("views", "test", "rebuilding")) == b"another-replica"
    finally:
        await other.delete(s.key("views", "test", "rebuilding"))
        await other.aclose()


class _Recorder:
    def __init__(self) -> None:
        self.published: list[list[object]] = []

    async def publish(self, outgoing: Iterable[Outgoing]) -> None:
        self.published.append(list(outgoing))


async def test_the_check_after_a_batchs_reads_vouches_for_the_next_batch_once(
    infra: Infra, namespace: str
) -> None:
    """The bot and the context store's inbound consumer skip the check before a batch when their checked
    publisher found the views whole after the previous batch's reads (one Redis trip a batch less). A
    check that found them gone vouches for nothing, a vouch serves one batch, and a wipe after a vouch is
    still caught before anything is published."""
    s = ServiceSettings.model_validate({"namespace": namespace, "redis_url": infra.redis_url})
    redis = Redis.from_url(infra.redis_url)
    rebuilds: list[str] = []
    try:
        marker = ViewsMarker(redis, s, "test")

        async def rebuild() -> None:
            rebuilds.append("rebuilt")

        healing = SelfHealing(marker, rebuild, service="test")
        inner = _Recorder()
        checked = healing.publisher(inner)
        await healing.before_batch(vouched_by=checked)  # start-up: the views are stamped
        assert rebuilds == ["rebuilt"]
        assert not checked.vouch(), "nothing checked after any reads yet"
        await checked.publish([])
        assert checked.vouch(), "the check after the reads found the views whole"
        assert not checked.vouch(), "a vouch serves one batch"
        await checked.publish([])
        await redis.delete(marker.key)  # a wipe between two batches
        await healing.before_batch(vouched_by=checked)  # vouched: no check, no rebuild yet
        assert rebuilds == ["rebuilt"]
        with pytest.raises(ViewsLost):
            await checked.publish([])
        assert len(inner.published) == 2, "nothing decided on wiped views is published"
        assert not checked.vouch(), "a failed check vouches for nothing"
        await healing.before_batch(vouched_by=checked)  # the retry checks first, and heals
        assert rebuilds == ["rebuilt", "rebuilt"]
        await checked.publish([])
        assert len(inner.published) == 3
    finally:
        await redis.delete(s.key("views", "test", "generation"))
        await redis.aclose()

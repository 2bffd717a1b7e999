"""The shared runtime against real Kafka and Redis: the consumer loop's commit and dead-letter rules,
topic bootstrap, and readiness."""

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
import structlog
from aiokafka.admin import AIOKafkaAdminClient

from relais_contracts import topics
from relais_contracts.channel import MessageReceived
from relais_platform.consumer import Delivery, EventConsumer
from relais_platform.kafka import Publisher, ensure_topics
from relais_platform.runtime import Runtime
from relais_platform.settings import ServiceSettings
from relais_platform.testing import Infra, RawPublisher, TopicReader, poll

pytestmark = pytest.mark.integration


def settings(infra: Infra, namespace: str, **overrides: object) -> ServiceSettings:
    values: dict[str, object] = {
        "namespace": namespace,
        "kafka_bootstrap_servers": infra.bootstrap,
        "redis_url": infra.redis_url,
        "kafka_default_partitions": 2,
        "kafka_topic_partitions": {topics.ROUTING: 4},
    }
    return ServiceSettings.model_validate(values | overrides)


def message(n: int) -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": f"evt-{n}",
            "source": "test",
            "type": "relais.channel.message.received",
            "time": datetime.now(UTC).isoformat(),
            "tenant": "acme",
            "data": {"channel": "sms", "from": {"address": "+331"}, "text": f"m{n}", "external_id": f"x{n}"},
        }
    ).encode()


async def test_topic_bootstrap_creates_missing_topics_once_with_their_partitions(
    infra: Infra, namespace: str
) -> None:
    s = settings(infra, namespace)
    await ensure_topics(s)
    await ensure_topics(s)  # idempotent
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
    await admin.start()
    try:
        described = {
            d["topic"]: len(d["partitions"])
            for d in await admin.describe_topics([s.topic(t) for t in topics.ALL])
        }
    finally:
        await admin.close()
    assert described[s.topic(topics.ROUTING)] == 4
    assert described[s.topic(topics.INBOUND)] == 2
    assert set(described) == {s.topic(t) for t in topics.ALL}


async def test_a_record_the_handler_keeps_failing_on_is_dead_lettered_and_the_rest_committed(
    infra: Infra, namespace: str
) -> None:
    s = settings(infra, namespace, consumer_attempts=2)
    handled: list[str] = []

    async def handler(batch: Sequence[Delivery]) -> None:
        for d in batch:
            assert isinstance(d.event, MessageReceived)
            if d.event.data.text == "m3":
                raise ValueError("cannot handle m3")
        handled.extend(d.event.id for d in batch)

    runtime = Runtime(s, "test")
    runtime.consume("inbound", [topics.INBOUND], handler)
    async with (
        runtime.running(),
        RawPublisher(infra, namespace) as publisher,
        TopicReader(infra, namespace, [topics.DEADLETTER]) as reader,
    ):
        sent = [message(n) for n in range(6)]
        for raw in sent:
            await publisher.send(topics.INBOUND, raw, key="acme:sms:+331")
        await poll(lambda: len(set(handled)) == 5, timeout=90, what="the five good records handled")
        letter = (await poll(lambda: reader.records, what="a dead letter"))[0]
        headers = dict(letter.headers)
        assert letter.value == sent[3], "the original bytes, untouched"
        assert headers["relais.dlq.reason"] == b"handler"
        assert b"cannot handle m3" in headers["relais.dlq.error"]
        assert set(handled) == {f"evt-{n}" for n in (0, 1, 2, 4, 5)}

        # Every offset is committed once the effects are written, the dead-lettered one included.
        admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
        await admin.start()
        try:

            async def all_committed() -> bool:
                offsets = await admin.list_consumer_group_offsets(s.group("test-inbound"))
                return sum(m.offset for tp, m in offsets.items() if tp.topic == s.topic(topics.INBOUND)) == 6

            await poll(all_committed, what="every offset committed")
        finally:
            await admin.close()
        readiness = await runtime.readiness()
        assert readiness == {"redis": "ok", "kafka": "ok", "consumers": "ok"}


async def test_the_last_batch_handled_is_committed_before_the_consumer_stops(
    infra: Infra, namespace: str
) -> None:
    # Commits go out in the background (the next batch does not wait for one): a consumer asked to stop
    # in the middle of its last batch still commits that batch before it leaves the group, or its next
    # owner would handle the batch again.
    s = settings(infra, namespace)
    await ensure_topics(s)
    handled: list[str] = []
    publisher = Publisher(s, "test")
    await publisher.start()

    async def handler(batch: Sequence[Delivery]) -> None:
        handled.extend(d.event.id for d in batch)
        if len(handled) >= 6:
            consumer.stop()

    consumer = EventConsumer(
        s, service="test", name="stop", topics=[topics.INBOUND], handler=handler, publisher=publisher
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
    await admin.start()
    try:
        async with RawPublisher(infra, namespace) as raw:
            for n in range(6):
                await raw.send(topics.INBOUND, message(n), key=f"acme:sms:+33{n}")
        await asyncio.wait_for(consumer.run(), timeout=90)
        offsets = await admin.list_consumer_group_offsets(s.group("test-stop"))
        assert sorted(handled) == [f"evt-{n}" for n in range(6)]
        assert sum(m.offset for tp, m in offsets.items() if tp.topic == s.topic(topics.INBOUND)) == 6
    finally:
        await admin.close()
        await publisher.stop()


async def test_a_member_giving_partitions_up_commits_what_it_handled_before_they_move(
    infra: Infra, namespace: str
) -> None:
    # Offsets wait for the commit interval (here longer than the test), so only the commit made when the
    # partitions are revoked keeps the second member from handling the first one's records again.
    s = settings(infra, namespace, consumer_commit_interval_s=60)
    await ensure_topics(s)
    handled: list[tuple[str, str]] = []
    publisher = Publisher(s, "test")
    await publisher.start()

    def member(name: str) -> EventConsumer:
        async def handler(batch: Sequence[Delivery]) -> None:
            handled.extend((name, d.event.id) for d in batch)

        return EventConsumer(
            s, service="test", name="revoke", topics=[topics.INBOUND], handler=handler, publisher=publisher
        )

    first, second = member("first"), member("second")
    runs = [asyncio.create_task(first.run())]
    try:
        async with RawPublisher(infra, namespace) as raw:
            for wave in range(3):
                for n in range(wave * 4, wave * 4 + 4):
                    await raw.send(topics.INBOUND, message(n), key=f"acme:sms:+33{n}")
                await poll(lambda w=wave: len(handled) >= w * 4 + 4, timeout=90, what=f"wave {wave} handled")
                if wave == 1:  # the first member's last batches are handled, their commit still waits
                    runs.append(asyncio.create_task(second.run()))
                    await poll(
                        lambda: second.running and second._consumer.assignment(),
                        timeout=90,
                        what="the partitions shared",
                    )
        ids = [event_id for _, event_id in handled]
        assert sorted(set(ids)) == sorted(f"evt-{n}" for n in range(12))
        assert len(ids) == 12, f"handled again after the rebalance: {handled}"
    finally:
        first.stop()
        second.stop()
        await asyncio.wait_for(asyncio.gather(*runs), timeout=60)
        await publisher.stop()


async def test_readiness_fails_while_redis_does_not_answer(infra: Infra, namespace: str) -> None:
    runtime = Runtime(settings(infra, namespace, redis_url="redis://127.0.0.1:1/0"), "test")
    async with runtime.running():
        checks = await runtime.readiness()
    assert checks["kafka"] == "ok"
    assert checks["redis"].startswith("failed")


async def test_a_consumer_resumes_where_its_assigned_hook_says(infra: Infra, namespace: str) -> None:
    s = settings(infra, namespace)
    handled: list[str] = []
    ticks: list[int] = []

    async def handler(batch: Sequence[Delivery]) -> None:
        handled.extend(d.event.id for d in batch)

    async def resume_at_four(committed: dict[tuple[str, int], int | None]) -> dict[tuple[str, int], int]:
        # As a service that records its applied offsets with its state would: all before 4 are done.
        return {tp: 4 for tp in committed}

    async def tick() -> None:
        ticks.append(len(ticks))

    await ensure_topics(s)
    async with RawPublisher(infra, namespace) as publisher:
        for n in range(6):
            await publisher.send(topics.INBOUND, message(n), key="acme:sms:+331")
    runtime = Runtime(s, "test")
    runtime.consume("inbound", [topics.INBOUND], handler, on_assigned=resume_at_four)
    runtime.every("tick", 0.05, tick)
    async with runtime.running():
        await poll(
            lambda: len(handled) == 2 and len(ticks) >= 2, what="the records after offset 4, and ticks"
        )
    assert handled == ["evt-4", "evt-5"]


async def test_a_background_job_that_swallows_its_cancellation_cannot_hang_the_stop(
    infra: Infra, namespace: str
) -> None:
    """A job that loses a cancellation (a timeout expiring at the same moment, in a client library)
    once held a service's SIGTERM until the orchestrator killed it. The stop waits for the jobs within
    RELAIS_SHUTDOWN_TIMEOUT_S, says which job was stuck, cancels it once more, and goes on."""
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                swallowed += 1
                if swallowed > 1:
                    raise

    runtime = Runtime(settings(infra, namespace, shutdown_timeout_s=1.0), "test")
    runtime.background("stubborn", stubborn)

    async def run_and_stop() -> None:
        async with runtime.running():
            await asyncio.sleep(0.1)

    with structlog.testing.capture_logs() as logs:
        await asyncio.wait_for(run_and_stop(), timeout=30)  # a stop that hangs fails here
    assert swallowed == 2  # cancelled again after the wait, and ended then
    stuck = [e for e in logs if e["event"] == "background job ignored its cancellation"]
    assert [e["task"] for e in stuck] == ["stubborn"]
    assert any("stubborn" in frame for frame in stuck[0]["stack"])

"""Every record is handled or dead-lettered, and the loop never stops: the consumer against real Kafka,
fed arbitrary bytes, JSON, keys and headers, tombstones, oversized records and infrastructure faults."""

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import NotLeaderForPartitionError, OutOfOrderSequenceNumber
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from redis.exceptions import BusyLoadingError, ReadOnlyError, ResponseError

from relais_contracts import topics
from relais_contracts.channel import MessageReceived
from relais_platform.consumer import Delivery
from relais_platform.kafka import Publisher, ensure_topics
from relais_platform.runtime import Runtime
from relais_platform.settings import ServiceSettings
from relais_platform.testing import Infra, TopicReader, new_namespace, poll

pytestmark = pytest.mark.integration

MAX_BYTES = 32_768


def event(n: int, *, text: str | None = None, **overrides: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"evt-{n}",
        "source": "test",
        "type": "relais.channel.message.received",
        "time": datetime.now(UTC).isoformat(),
        "tenant": "acme",
        "data": {
            "channel": "sms",
            "from": {"address": "+331"},
            "text": text or f"m{n}",
            "external_id": f"x{n}",
        },
        **overrides,
    }


class Fatal(BaseException):
    """Not an Exception: what no handler should raise, standing for a bug in the loop itself."""


@dataclass
class Flow:
    """One running consumer of the inbound topic and what became of each offset of partition 0."""

    settings: ServiceSettings
    runtime: Runtime
    producer: AIOKafkaProducer
    dead: TopicReader
    handled: dict[int, str] = field(default_factory=dict)  # offset -> event id
    faults: list[BaseException] = field(default_factory=list)  # raised once each, in order
    died: list[bool] = field(default_factory=list)

    async def send(self, value: bytes | None, key: bytes | None = None, headers: Sequence[Any] = ()) -> int:
        if value is None and key is None:
            key = b"k"  # aiokafka sends no record without both; a tombstone of a compacted topic has a key
        meta = await self.producer.send_and_wait(
            self.settings.topic(topics.INBOUND), value=value, key=key, headers=list(headers), partition=0
        )
        return int(meta.offset)

    def dead_offsets(self) -> dict[int, dict[str, bytes]]:
        return {
            int(dict(r.headers)["relais.dlq.offset"]): dict(r.headers)
            for r in self.dead.records
            if dict(r.headers).get("relais.dlq.topic") == topics.INBOUND.encode()
        }

    async def committed(self) -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap_servers)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(self.settings.group("test-inbound"))
        finally:
            await admin.close()
        return next((m.offset for tp, m in offsets.items() if tp.partition == 0), -1)

    async def settled(self, offsets: Sequence[int]) -> None:
        """Wait until each offset is handled or dead-lettered and committed."""

        async def done() -> bool:
            accounted = set(self.handled) | set(self.dead_offsets())
            return set(offsets) <= accounted and await self.committed() > max(offsets)

        await poll(done, timeout=60, what=f"offsets {min(offsets)}..{max(offsets)} handled or dead-lettered")


@pytest.fixture(scope="module")
async def flow(infra: Infra) -> AsyncIterator[Flow]:
    namespace = new_namespace()
    s = ServiceSettings.model_validate(
        {
            "namespace": namespace,
            "kafka_bootstrap_servers": infra.bootstrap,
            "redis_url": infra.redis_url,
            "kafka_default_partitions": 1,
            "consumer_attempts": 2,
            "kafka_max_message_bytes": MAX_BYTES,
        }
    )
    flow: Flow

    async def handler(batch: Sequence[Delivery]) -> None:
        if flow.faults:
            raise flow.faults.pop(0)
        for d in batch:
            assert isinstance(d.event, MessageReceived)
            if d.event.data.text == "fail":
                raise ValueError("this record cannot be handled")
            if d.event.data.text == "fatal":
                raise Fatal
        flow.handled.update({d.offset: d.event.id for d in batch})

    runtime = Runtime(s, "test", on_consumer_died=lambda: flow.died.append(True))
    runtime.consume("inbound", [topics.INBOUND], handler)
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap, acks="all")
    await producer.start()
    try:
        async with runtime.running(), TopicReader(infra, namespace, [topics.DEADLETTER]) as dead:
            flow = Flow(s, runtime, producer, dead)
            await poll(lambda: all(c.running for c in runtime._consumers), what="the consumer running")
            yield flow
    finally:
        await producer.stop()


def _json() -> st.SearchStrategy[Any]:
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=20,
    )


_ATTRIBUTES = ("specversion", "id", "source", "type", "time", "tenant", "data")
_VALUES = st.one_of(
    st.none(),  # a tombstone
    st.binary(max_size=200),
    _json().map(lambda v: json.dumps(v).encode()),
    # A good event with one attribute replaced by any JSON (`"type": []`, `"data": "x"`...).
    st.tuples(st.integers(0, 10**6), st.sampled_from(_ATTRIBUTES), _json()).map(
        lambda t: json.dumps({**event(t[0]), t[1]: t[2]}).encode()
    ),
    st.integers(0, 10**6).map(lambda n: json.dumps(event(n)).encode()),
    st.integers(0, 10**6).map(lambda n: json.dumps(event(n, text="fail")).encode()),
    st.just(b"[" * 5000 + b"]" * 5000),
    st.just(b'{"specversion": "1.0", "id": "\\ud800", "source": "s", "type": "t", "tenant": "acme"}'),
    st.just(json.dumps(event(7)).encode().replace(b"m7", b"\xff\xfe")),
    st.just(json.dumps(event(8, text="x" * (MAX_BYTES + 5000))).encode()),  # too big to dead-letter whole
)
_RECORDS = st.lists(
    st.tuples(
        _VALUES,
        st.none() | st.binary(max_size=40),
        st.lists(st.tuples(st.text(max_size=10), st.none() | st.binary(max_size=30)), max_size=3),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(records=_RECORDS)
async def test_any_record_is_handled_or_dead_lettered_and_the_loop_goes_on(
    flow: Flow, records: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]]]]
) -> None:
    offsets = [await flow.send(value, key, headers) for value, key, headers in records]
    await flow.settled(offsets)
    dead = flow.dead_offsets()
    assert not set(offsets) & set(flow.handled) & set(dead), "an offset both handled and dead-lettered"
    assert not flow.died
    assert flow.runtime.alive()
    for offset in set(offsets) & set(dead):
        assert dead[offset]["relais.dlq.reason"], "a dead letter says why"


async def test_a_tombstone_is_dead_lettered_and_the_next_record_handled(flow: Flow) -> None:
    # The record of the report: a crash of the inbound consumer, then a crash loop on restart.
    offsets = [
        await flow.send(None),
        await flow.send(json.dumps(event(1, type=[])).encode()),
        await flow.send(json.dumps(event(2)).encode()),
    ]
    await flow.settled(offsets)
    dead = flow.dead_offsets()
    assert dead[offsets[0]]["relais.dlq.reason"] == b"null-value"
    assert dead[offsets[1]]["relais.dlq.reason"] == b"not-cloudevent"
    assert flow.handled[offsets[2]] == "evt-2"
    assert flow.runtime.alive()


async def test_a_dead_letter_too_big_for_the_broker_once_headed_is_cut_not_refused(flow: Flow) -> None:
    # Fits the broker as sent; with the relais.dlq.* headers it would not fit the publisher's limit.
    value = json.dumps(event(3, text="fail")).encode()
    big = value + b" " * (MAX_BYTES - len(value) - 200)  # JSON allows trailing spaces
    offset = await flow.send(big, b"k", [("trace", b"t" * 100)])
    await flow.settled([offset])
    letter = next(
        r for r in flow.dead.records if dict(r.headers).get("relais.dlq.offset") == str(offset).encode()
    )
    headers = dict(letter.headers)
    assert headers["relais.dlq.reason"] == b"handler"
    assert headers["relais.dlq.truncated"] == str(len(big)).encode()
    assert big.startswith(letter.value)
    assert 0 < len(letter.value) < len(big)
    assert headers["trace"] == b"t" * 100, "the original headers are kept while they fit"


def _retries(error: str) -> float:
    value = REGISTRY.get_sample_value(
        "relais_infrastructure_retries_total", {"service": "test", "consumer": "inbound", "error": error}
    )
    return value or 0.0


@pytest.mark.parametrize(
    ("fault", "label"),
    [
        (ReadOnlyError("You can't write against a read only replica."), "redis-readonly"),
        (BusyLoadingError("Redis is loading the dataset in memory"), "redis-loading"),
        (
            ResponseError("Command # 1 (SET k v) of pipeline caused error: OOM command not allowed"),
            "redis-oom",
        ),
        (ResponseError("MASTERDOWN Link with MASTER is down"), "redis-masterdown"),
        (NotLeaderForPartitionError(), "kafka-NotLeaderForPartitionError"),
        (OutOfOrderSequenceNumber(), "kafka-producer-reset"),
    ],
)
async def test_an_infrastructure_fault_is_retried_as_long_as_it_lasts_never_dead_lettered(
    flow: Flow, fault: Exception, label: str
) -> None:
    # More failures than consumer_attempts (2): a record-caused error this often would dead-letter it.
    before = _retries(label)
    flow.faults.extend([fault] * 5)
    offset = await flow.send(json.dumps(event(4)).encode())
    await flow.settled([offset])
    assert flow.handled[offset] == "evt-4"
    assert offset not in flow.dead_offsets()
    assert _retries(label) - before == 5


async def test_a_consumer_that_dies_of_anything_else_ends_the_process(infra: Infra) -> None:
    namespace = new_namespace()
    s = ServiceSettings(
        namespace=namespace, kafka_bootstrap_servers=infra.bootstrap, redis_url=infra.redis_url
    )
    died: list[bool] = []

    async def handler(batch: Sequence[Delivery]) -> None:
        raise Fatal

    runtime = Runtime(s, "test", on_consumer_died=lambda: died.append(True))
    runtime.consume("inbound", [topics.INBOUND], handler)
    async with runtime.running():
        producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(s.topic(topics.INBOUND), json.dumps(event(5)).encode())
        finally:
            await producer.stop()
        await poll(lambda: died, timeout=60, what="the process told to end")
        assert isinstance(runtime.consumer_died, Fatal)
        assert not runtime.alive()


async def test_a_fenced_producer_is_recreated(infra: Infra) -> None:
    s = ServiceSettings(
        namespace=new_namespace(), kafka_bootstrap_servers=infra.bootstrap, redis_url=infra.redis_url
    )
    await ensure_topics(s)
    publisher = Publisher(s, "test")
    await publisher.start()
    try:
        fenced = publisher._producer

        async def refuse(*args: object, **kwargs: object) -> None:
            raise OutOfOrderSequenceNumber()

        fenced.send = refuse  # type: ignore[method-assign]
        with pytest.raises(OutOfOrderSequenceNumber):
            await publisher.send_raw(topics.DEADLETTER, b"x", None, [])
        assert publisher._producer is not fenced
        await publisher.send_raw(topics.DEADLETTER, b"x", None, [])  # the new one works
    finally:
        await publisher.stop()

"""The publisher against real Kafka: the record batches it builds itself land where aiokafka's own
`send` would have put each record, in order, whole, and a record too big is refused before sending."""

from datetime import UTC, datetime

import pytest
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.partitioner import DefaultPartitioner

from relais_contracts import Outgoing, topics
from relais_contracts.conversation import Offered, OfferedData
from relais_platform.kafka import Publisher, ensure_topics
from relais_platform.settings import ServiceSettings
from relais_platform.testing import Infra, TopicReader, poll

pytestmark = pytest.mark.integration

PARTITIONS = 6
MAX_BYTES = 65_536


def offered(n: int, conversation: str, offer_id: str | None = None) -> Outgoing:
    event = Offered(
        id=f"evt-{n}",
        source="test",
        time=datetime.now(UTC),
        tenant="acme",
        subject=conversation,
        data=OfferedData(offer_id=offer_id or f"offer-{n}", agent_id="a1"),
    )
    return Outgoing(topics.CONVERSATIONS, conversation, event)


async def test_records_go_to_their_keys_partitions_in_order_across_many_batches(
    infra: Infra, namespace: str
) -> None:
    settings = ServiceSettings(
        namespace=namespace,
        kafka_bootstrap_servers=infra.bootstrap,
        kafka_default_partitions=PARTITIONS,
        kafka_max_message_bytes=MAX_BYTES,
    )
    await ensure_topics(settings)
    publisher = Publisher(settings, "test")
    await publisher.start()
    # ~4,000 records of ~300 bytes over 250 keys: far more than one 16 kB batch per partition, so
    # full batches are handed over while the next ones of their partitions fill.
    sent = [offered(n, f"c{n % 250}") for n in range(4_000)]
    try:
        async with TopicReader(infra, namespace, [topics.CONVERSATIONS]) as reader:
            await publisher.publish(sent[:1_000])
            await publisher.publish(sent[1_000:])
            await poll(lambda: len(reader.records) >= len(sent), what="every record read back")
            records = reader.records
            events = reader.events(topics.CONVERSATIONS)  # the reader's contract check: all decode
    finally:
        await publisher.stop()

    assert len(records) == len(sent)
    for record in records:
        key = record.key
        assert key is not None
        assert record.partition == DefaultPartitioner()(key, list(range(PARTITIONS)), [])
        assert dict(record.headers)["content-type"] == b"application/cloudevents+json"
    assert len({r.partition for r in records}) == PARTITIONS
    by_key: dict[str, list[str]] = {}
    for event in events:
        by_key.setdefault(event.subject or "", []).append(event.id)
    expected: dict[str, list[str]] = {}
    for out in sent:
        expected.setdefault(out.key, []).append(out.event.id)
    assert by_key == expected  # each key's records in the order they were published


async def test_a_record_above_the_maximum_size_is_refused_and_nothing_else_is_lost(
    infra: Infra, namespace: str
) -> None:
    settings = ServiceSettings(
        namespace=namespace,
        kafka_bootstrap_servers=infra.bootstrap,
        kafka_default_partitions=1,
        kafka_max_message_bytes=MAX_BYTES,
    )
    await ensure_topics(settings)
    publisher = Publisher(settings, "test")
    await publisher.start()
    try:
        async with TopicReader(infra, namespace, [topics.CONVERSATIONS]) as reader:
            with pytest.raises(MessageSizeTooLargeError):
                await publisher.publish([offered(1, "c1"), offered(2, "c1", offer_id="x" * MAX_BYTES)])
            await publisher.publish([offered(3, "c1")])  # the caller's retry, without the big one
            await poll(lambda: reader.events(topics.CONVERSATIONS), what="the record after the refusal")
            ids = [e.id for e in reader.events(topics.CONVERSATIONS)]
    finally:
        await publisher.stop()
    assert ids == ["evt-3"]  # the refusal came before anything of that call was sent

"""Kafka on aiokafka: client settings, topic bootstrap and the idempotent event publisher."""

import asyncio
import contextlib
import functools
import ssl
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, TopicAlreadyExistsError
from aiokafka.partitioner import murmur2
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from relais_contracts import CONTENT_TYPE, Outgoing
from relais_contracts import topics as contract_topics
from relais_platform.faults import PRODUCER_RESET_ERRORS
from relais_platform.metrics import EVENTS_PUBLISHED
from relais_platform.settings import ServiceSettings

log = structlog.get_logger(__name__)

CONTENT_TYPE_HEADER = ("content-type", CONTENT_TYPE.encode())
_HEADERS = [CONTENT_TYPE_HEADER]


# Cached: a key (an agent, a conversation) is published to many times in a row, and aiokafka's
# murmur2 is pure Python.
@functools.lru_cache(maxsize=65_536)
def _key_hash(key: bytes) -> int:
    """The partitioner's hash of a key, as Kafka's default partitioner computes it (all clients agree
    on it, so a key's records share a partition whoever produces them)."""
    return int(murmur2(key)) & 0x7FFFFFFF


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """Connection options shared by producers, consumers and admin clients (incl. SASL/TLS)."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "client_id": f"relais-{settings.instance_id}",
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
    if settings.kafka_sasl_mechanism:
        assert settings.kafka_sasl_password is not None  # checked by the settings validator
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": settings.kafka_sasl_password.get_secret_value(),
        }
    return options


async def ensure_topics(settings: ServiceSettings, deadline_s: float = 60.0) -> None:
    """Create the contract topics that are missing, with the configured partition counts.

    Idempotent: existing topics are left as they are. Retries while the cluster is still starting.
    Nothing to do when `kafka_create_topics` is off.
    """
    if not settings.kafka_create_topics:
        return
    wanted = {settings.topic(name): name for name in contract_topics.ALL}
    give_up = time.monotonic() + deadline_s
    while True:
        admin = AIOKafkaAdminClient(**client_options(settings))
        try:
            await admin.start()
            missing = set(wanted) - set(await admin.list_topics())
            if missing:
                new = [
                    NewTopic(
                        physical,
                        settings.kafka_topic_partitions.get(
                            wanted[physical], settings.kafka_default_partitions
                        ),
                        settings.kafka_replication_factor,
                        # The broker stamps each record with its own clock: the consumers' reference
                        # time, which no producer can move (see consumer.log_time).
                        topic_configs={"message.timestamp.type": "LogAppendTime"},
                    )
                    for physical in sorted(missing)
                ]
                response = await admin.create_topics(new)
                for topic, code, *_ in getattr(response, "topic_errors", ()):
                    if code not in (0, TopicAlreadyExistsError.errno):
                        raise KafkaError(f"cannot create topic {topic}: error code {code}")
                log.info("topics created", topics=sorted(missing))
            # A consumer that joins its group before a new topic has leaders gets no partitions and
            # only notices at its next metadata refresh (minutes): return once every topic is led.
            while not await _all_led(admin, sorted(wanted)):
                if time.monotonic() > give_up:
                    raise KafkaError(f"topics without partition leaders after {deadline_s}s")
                await asyncio.sleep(0.1)
            return
        except (KafkaError, OSError) as exc:
            if time.monotonic() > give_up:
                raise
            log.warning("kafka not ready for topic bootstrap, retrying", error=str(exc))
            await asyncio.sleep(0.5)
        finally:
            await admin.close()


async def _all_led(admin: AIOKafkaAdminClient, topics: list[str]) -> bool:
    described = await admin.describe_topics(topics)
    return len(described) == len(topics) and all(
        d.get("error_code", 0) == 0 and d["partitions"] and all(p["leader"] >= 0 for p in d["partitions"])
        for d in described
    )


class Publishes(Protocol):
    """What a handler needs of a publisher; tests of handlers can pass a recorder instead."""

    async def publish(self, outgoing: Iterable[Outgoing]) -> None: ...


class Publisher:
    """Idempotent producer (`acks=all`); `publish` returns once every record is acknowledged."""

    def __init__(self, settings: ServiceSettings, service: str) -> None:
        self._settings = settings
        self._service = service
        self._started: AIOKafkaProducer | None = None

    @property
    def _producer(self) -> AIOKafkaProducer:
        if self._started is None:
            raise RuntimeError("the publisher is not started")
        return self._started

    async def start(self) -> None:
        # aiokafka clients bind to the running loop, so they are made here and not in __init__.
        producer = AIOKafkaProducer(
            **client_options(self._settings),
            enable_idempotence=True,
            acks="all",
            linger_ms=self._settings.kafka_linger_ms,
            max_request_size=self._settings.kafka_max_message_bytes,
        )
        await producer.start()
        self._started = producer

    async def stop(self) -> None:
        if self._started is not None:
            await self._started.stop()
            self._started = None

    async def _recreate(self) -> None:
        """A new producer (a new producer id), for one a broker restart left fenced or out of sequence."""
        log.warning("recreating the Kafka producer")
        old, self._started = self._started, None
        if old is not None:
            with contextlib.suppress(Exception):
                await old.stop()
        await self.start()

    async def publish(self, outgoing: Iterable[Outgoing]) -> None:
        """Send and wait for every acknowledgement; a fenced producer is recreated and the error raised,
        for the caller (the consumer loop) to retry the whole call."""
        try:
            await self._publish(outgoing)
        except PRODUCER_RESET_ERRORS:
            await self._recreate()
            raise

    async def _publish(self, outgoing: Iterable[Outgoing]) -> None:
        """One record batch per partition, built here and handed to the producer whole (aiokafka's
        batch API): no coroutine, future and metadata object per record, which cost more than the
        events' JSON at the router's rates. Records go to the partition the default partitioner
        would pick (Kafka's murmur2 of the key), in order; a full batch is handed over before the
        next one of its partition is started."""
        producer = self._producer
        batches: dict[tuple[str, int], BatchBuilder] = {}
        partitions: dict[str, list[int]] = {}
        pending: list[asyncio.Future[Any]] = []
        published: Counter[tuple[str, str]] = Counter()
        for out in outgoing:
            if out.topic not in type(out.event).topics:
                raise ValueError(f"{out.event.type} does not belong on {out.topic}")
            topic = self._settings.topic(out.topic)
            if (known := partitions.get(topic)) is None:
                known = partitions[topic] = sorted(await producer.partitions_for(topic))
            key = out.key.encode()
            value = out.event.to_json()
            size = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, _HEADERS)
            if size > self._settings.kafka_max_message_bytes:
                raise MessageSizeTooLargeError(
                    f"{out.event.type} is {size} bytes as a record, above kafka_max_message_bytes"
                )
            where = (topic, known[_key_hash(key) % len(known)])
            batch = batches.get(where)
            if batch is None:
                batch = batches[where] = producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None, headers=_HEADERS) is None:
                # Full: hand it over and start the next (a batch always takes its first record).
                pending.append(await producer.send_batch(batch, where[0], partition=where[1]))
                batch = batches[where] = producer.create_batch()
                batch.append(key=key, value=value, timestamp=None, headers=_HEADERS)
            published[(out.topic, out.event.type)] += 1
        for (topic, partition), batch in batches.items():
            pending.append(await producer.send_batch(batch, topic, partition=partition))
        if pending:
            await asyncio.gather(*pending)
        # Counted once acknowledged, with one labels() lookup per kind (it validates and locks).
        for (topic, kind), n in published.items():
            EVENTS_PUBLISHED.labels(self._service, topic, kind).inc(n)

    async def send_raw(
        self, topic: str, value: bytes, key: bytes | None, headers: Sequence[tuple[str, bytes | None]]
    ) -> None:
        """Publish bytes as they are (dead letters keep the original record untouched)."""
        try:
            await (
                await self._producer.send(self._settings.topic(topic), value=value, key=key, headers=headers)
            )
        except PRODUCER_RESET_ERRORS:
            await self._recreate()
            raise

    async def ping(self) -> None:
        """Raise unless the cluster answers a metadata request."""
        await self._producer.client.fetch_all_metadata()

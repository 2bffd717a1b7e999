"""Rebuild the views: wipe them, then replay the conversation log from the beginning.

The replay stops at the offsets the views had applied before the wipe (or, when Redis lost them, at the
offsets the live consumer group committed, whichever is further), so the rebuilt views are exactly the
live ones and the live consumer carries on from there. It goes through the live materializer with
publishing turned off: nothing is delivered to a customer twice, nothing is sent to the router again.
Records that fail are set aside as the live consumer set them aside (dead-lettered there already).
"""

import time
from dataclasses import dataclass, field

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from relais_context_store.adapters.conversation_log import ConversationLog
from relais_context_store.consumers import ConversationLogHandler
from relais_context_store.settings import ContextStoreSettings
from relais_contracts import DecodeError, decode, topics
from relais_platform.consumer import Delivery
from relais_platform.faults import infrastructure_fault
from relais_platform.kafka import client_options

log = structlog.get_logger(__name__)

LOG_CONSUMER = "log"  # the name the app gives the conversation log consumer (its group derives from it)


@dataclass(frozen=True)
class RebuildReport:
    keys_deleted: int
    events_replayed: int
    skipped: int
    partitions: dict[int, int] = field(default_factory=dict)  # partition -> last offset replayed
    seconds: float = 0.0


async def _log_partitions(
    settings: ContextStoreSettings, topic: str, service: str
) -> tuple[list[int], dict[int, int]]:
    """The partitions of the log, and the last offset the live consumer group handled in each
    (its committed offset - 1)."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
        offsets = await admin.list_consumer_group_offsets(settings.group(f"{service}-{LOG_CONSUMER}"))
    finally:
        await admin.close()
    partitions = sorted(p["partition"] for d in described for p in d.get("partitions", ()))
    committed = {
        tp.partition: m.offset - 1 for tp, m in offsets.items() if tp.topic == topic and m.offset > 0
    }
    return partitions, committed


async def rebuild(
    settings: ContextStoreSettings,
    views: ConversationLog,
    handler: ConversationLogHandler,
    service: str = "context-store",
) -> RebuildReport:
    started = time.perf_counter()
    topic = settings.topic(topics.CONVERSATIONS)
    partitions, committed = await _log_partitions(settings, topic, service)
    # Per partition, the furthest of what the views recorded and what the group committed: after a wipe
    # the views recorded nothing (or only a batch written after it), after a restart that lost the last
    # writes they recorded less than was committed.
    recorded = await views.offsets(topics.CONVERSATIONS)
    bounds = {p: max(recorded.get(p, -1), committed.get(p, -1)) for p in {*recorded, *committed}}
    consumer = AIOKafkaConsumer(
        **client_options(settings), enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    replayed = skipped = 0
    try:
        wanted = [TopicPartition(topic, p) for p in partitions if bounds.get(p, -1) >= 0]
        deleted = await views.wipe()
        log.info("rebuild: views wiped, replaying the conversation log", keys_deleted=deleted, bounds=bounds)
        if wanted:
            consumer.assign(wanted)
            await consumer.seek_to_beginning(*wanted)
        remaining = set(wanted)
        while remaining:
            fetched = await consumer.getmany(
                *remaining, timeout_ms=500, max_records=settings.consumer_batch_max
            )
            batch: list[Delivery] = []
            for tp, records in fetched.items():
                for record in records:
                    if record.offset > bounds[tp.partition]:
                        continue
                    try:
                        event = decode(record.value)
                    except DecodeError:
                        skipped += 1  # dead-lettered when it was consumed live
                        continue
                    batch.append(Delivery(event, topics.CONVERSATIONS, tp.partition, record.offset, record))
            if batch:
                skipped += await _replay(handler, batch)
                replayed += len(batch)
            for tp in list(remaining):
                if await consumer.position(tp) > bounds[tp.partition]:
                    remaining.discard(tp)
        await views.set_offsets(topics.CONVERSATIONS, {tp.partition: bounds[tp.partition] for tp in wanted})
    finally:
        await consumer.stop()
    report = RebuildReport(
        keys_deleted=deleted,
        events_replayed=replayed,
        skipped=skipped,
        partitions={tp.partition: bounds[tp.partition] for tp in wanted},
        seconds=round(time.perf_counter() - started, 3),
    )
    log.info("rebuild done", **{k: v for k, v in report.__dict__.items() if k != "partitions"})
    return report


async def _replay(handler: ConversationLogHandler, batch: list[Delivery]) -> int:
    """Materialize a batch as the live consumer did: a failing record alone is set aside. Returns how many."""
    try:
        await handler.materialize(batch, publish=False)
        return 0
    except Exception as exc:
        if infrastructure_fault(exc):
            raise
        if len(batch) == 1:
            log.warning(
                "rebuild: skipping an event the live consumer dead-lettered", event_id=batch[0].event.id
            )
            return 1
        return sum([await _replay(handler, [d]) for d in batch])

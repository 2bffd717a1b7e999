"""Rebuild the views: wipe them, then replay the conversation log from the beginning.

The replay stops at the offsets the views had applied before the wipe (or, when Redis lost them, at the
offsets the live consumer group committed, whichever is further), so the rebuilt views are exactly the
live ones and the live consumer carries on from there. It goes through the live materializer with
publishing turned off: nothing is delivered to a customer twice, nothing is sent to the router again.
Records that fail are set aside as the live consumer set them aside (dead-lettered there already).
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog

from relais_context_store.adapters.conversation_log import ConversationLog
from relais_context_store.consumers import ConversationLogHandler
from relais_context_store.settings import ContextStoreSettings
from relais_contracts import topics
from relais_platform.consumer import Delivery
from relais_platform.faults import infrastructure_fault
from relais_platform.views_marker import handled_offsets, replay

log = structlog.get_logger(__name__)

LOG_CONSUMER = "log"  # the name the app gives the conversation log consumer (its group derives from it)


@dataclass(frozen=True)
class RebuildReport:
    keys_deleted: int
    events_replayed: int
    skipped: int
    partitions: dict[int, int] = field(default_factory=dict)  # partition -> last offset replayed
    seconds: float = 0.0


async def rebuild(
    settings: ContextStoreSettings,
    views: ConversationLog,
    handler: ConversationLogHandler,
    service: str = "context-store",
) -> RebuildReport:
    started = time.perf_counter()
    group = settings.group(f"{service}-{LOG_CONSUMER}")
    partitions, committed = await handled_offsets(settings, topics.CONVERSATIONS, group)
    # Per partition, the furthest of what the views recorded and what the group committed: after a wipe
    # the views recorded nothing (or only a batch written after it), after a restart that lost the last
    # writes they recorded less than was committed.
    recorded = await views.offsets(topics.CONVERSATIONS)
    bounds = {p: max(recorded.get(p, -1), committed.get(p, -1)) for p in partitions}
    wanted = {p: last for p, last in bounds.items() if last >= 0}
    deleted = await views.wipe()
    log.info("rebuild: views wiped, replaying the conversation log", keys_deleted=deleted, bounds=bounds)
    set_aside = 0

    async def materialize(batch: Sequence[Delivery]) -> None:
        nonlocal set_aside
        set_aside += await _replay(handler, list(batch))

    replayed, undecodable = await replay(settings, topics.CONVERSATIONS, wanted, materialize)
    await views.set_offsets(topics.CONVERSATIONS, wanted)
    report = RebuildReport(
        keys_deleted=deleted,
        events_replayed=replayed,
        skipped=set_aside + undecodable,
        partitions=wanted,
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

"""The bot watchdog: a customer's message the bot leaves unanswered past a deadline goes to a person.

The rule (what counts as silence, the handoff it makes) is domain.watchdog; this use case finds the
conversations to judge in the views and publishes the handoffs.
"""

from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from relais_context_store.adapters.conversation_log import ConversationLog
from relais_context_store.domain.watchdog import TRANSCRIPT_MESSAGES, Silence, awaits_bot, bot_silent
from relais_context_store.metrics import BOT_SILENT_HANDOFFS
from relais_context_store.service_layer.store_lock import StoreLock
from relais_context_store.settings import ContextStoreSettings
from relais_platform.kafka import Publishes
from relais_platform.sealing import CustomerKeys, seal_handoffs

log = structlog.get_logger(__name__)


class CatchingUp(Protocol):
    """The conversation log's materializer: whether it is caught up with the log."""

    caught_up: bool


_WATCH_PAGE = 500


class BotWatchdog:
    """Hands a conversation to a person when the bot leaves a customer's message unanswered too long."""

    def __init__(
        self,
        views: ConversationLog,
        keys: CustomerKeys,
        publisher: Publishes,
        settings: ContextStoreSettings,
        lock: StoreLock,
        log: CatchingUp,
    ) -> None:
        self._views = views
        self._keys = keys  # a sealed tenant's handoff leaves sealed, as the bot's do
        self._log = log
        self._publisher = publisher
        self._deadline_s = settings.bot_silence_timeout_s
        self._horizon = timedelta(seconds=settings.bot_watchdog_horizon_s)
        self._lock = lock  # never judge half-rebuilt views
        # (tenant, conversation) -> (the unanswered message's time, when this process first saw it so)
        self._watched: dict[tuple[str, str], tuple[str, datetime]] = {}

    async def __call__(self) -> None:
        if not self._log.caught_up:
            return  # a reply the log holds may not be in the views yet: judging now could be wrong
        async with self._lock.shared():
            await self.check(datetime.now(UTC))

    async def check(self, now: datetime) -> int:
        """Hand over the conversations whose customer waits for the bot past the deadline.

        Two clocks must agree: the customer's message is older than the deadline (event time), and
        this process has seen it unanswered for half the deadline (wall clock), so a message that
        arrives late (a delayed SMS, a backlog after an outage) still gives the bot its chance.
        """
        unanswered: dict[tuple[str, str], dict[str, str]] = {}
        start = 0
        # Every conversation awaiting the bot in the window, however many, oldest first, page by page:
        # an index of those alone, not every open conversation (which cost each look O(open ones)).
        while True:
            page = await self._views.awaiting_bot(
                now - timedelta(seconds=self._deadline_s / 2),
                _WATCH_PAGE,
                after=now - self._horizon,
                start=start,
            )
            fields = await self._views.conversation_fields(
                [(t, c) for t, c, _ in page],
                "state",
                "last_customer_at",
                "last_bot_at",
                "last_channel",
                "customer_id",
            )
            unanswered |= {c: f for c, f in fields.items() if awaits_bot(f)}
            if len(page) < _WATCH_PAGE:
                break
            start += _WATCH_PAGE
        self._watched = {
            c: seen
            if (seen := self._watched.get(c)) and seen[0] == f["last_customer_at"]
            else (f["last_customer_at"], now)
            for c, f in unanswered.items()
        }
        ready = {
            c: f
            for c, f in unanswered.items()
            if (now - self._watched[c][1]).total_seconds() >= self._deadline_s / 2
        }
        timelines = await self._views.recent_timelines(ready, TRANSCRIPT_MESSAGES * 2)
        outputs = []
        for (tenant, cid), f in ready.items():
            silence = Silence(
                tenant=tenant,
                conversation_id=cid,
                state=f["state"],
                last_customer_at=datetime.fromisoformat(f["last_customer_at"]),
                last_bot_at=datetime.fromisoformat(f["last_bot_at"]) if f.get("last_bot_at") else None,
                channel=f.get("last_channel") or "webchat",
                customer_id=f.get("customer_id") or None,
                timeline=timelines.get((tenant, cid), []),
            )
            handoff = bot_silent(silence, now, self._deadline_s)
            if handoff:
                log.warning(
                    "the bot left a customer unanswered: handing over", tenant=tenant, conversation_id=cid
                )
                BOT_SILENT_HANDOFFS.labels(tenant).inc()
            outputs += handoff
        await self._publisher.publish(await seal_handoffs(self._keys, outputs))
        return len(outputs) // 2

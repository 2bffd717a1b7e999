"""Webhooks out, the shell: the outbound consumer fills the outbox; the dispatcher POSTs each queue's
head to its integrator's callback, signed like the ingress, and retries or gives up (domain.webhooks).

The consumer only writes to Redis, so it never waits on a callback: a down integrator holds back
neither the outbound topic nor any other integrator, whose queues are scheduled apart.
"""

import asyncio
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
import structlog

from relais_channels.adapters.outbox import Outbox, Queued
from relais_channels.domain import signing
from relais_channels.domain.integrators import Integrator
from relais_channels.domain.webhooks import (
    GiveUp,
    RetryPolicy,
    after_failure,
    failed_report,
    queue_of,
    recipients,
    transport_of,
)
from relais_channels.metrics import WEBHOOK_ATTEMPTS, WEBHOOK_SECONDS
from relais_channels.settings import ChannelsSettings
from relais_channels.smtp import MailOut
from relais_contracts import CONTENT_TYPE, decode, topics
from relais_contracts.channel import MessageSend
from relais_platform.consumer import Delivery
from relais_platform.kafka import Publisher

log = structlog.get_logger(__name__)


class OutboundHandler:
    """Batch handler of relais.outbound.v1: queue each message for the webhooks that deliver it."""

    def __init__(self, integrators: dict[str, Integrator], outbox: Outbox, mail_out: bool = False) -> None:
        self._integrators = integrators
        self._outbox = outbox
        self._mail_out = mail_out

    async def __call__(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            event = delivery.event
            if not isinstance(event, MessageSend):
                continue
            for integrator in recipients(self._integrators.values(), event, self._mail_out):
                await self._outbox.enqueue(
                    integrator.id,
                    queue_of(integrator, event),
                    event.data.message_id,
                    delivery.record.value,
                    delivery.partition,
                    delivery.offset,
                )


class Dispatcher:
    """Delivers the outbox: per integrator, up to `webhook_concurrency` addresses at a time."""

    def __init__(
        self,
        integrators: dict[str, Integrator],
        outbox: Outbox,
        publisher: Publisher,
        settings: ChannelsSettings,
        consumer_group: str,
        mail: MailOut | None = None,
    ) -> None:
        self._mail = mail
        self._integrators = {
            i.id: i for i in integrators.values() if i.callback_url or (mail and i.email_addresses)
        }
        self._outbox = outbox
        self._publisher = publisher
        self._settings = settings
        self._group = consumer_group
        self._policy = RetryPolicy(
            settings.webhook_backoff_base_s, settings.webhook_backoff_max_s, settings.webhook_give_up_after_s
        )
        self._rng = random.Random()
        self._in_flight: dict[str, set[str]] = {i: set() for i in self._integrators}
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        if not self._integrators:
            return
        async with httpx.AsyncClient(
            timeout=self._settings.webhook_timeout_s, follow_redirects=False
        ) as http:
            try:
                while True:
                    for integrator in self._integrators.values():
                        await self._start_due(http, integrator)
                    await asyncio.sleep(self._settings.webhook_poll_s)
            finally:
                for task in self._tasks:
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _start_due(self, http: httpx.AsyncClient, integrator: Integrator) -> None:
        busy = self._in_flight[integrator.id]
        room = self._settings.webhook_concurrency - len(busy)
        if room <= 0:
            return
        try:
            due = await self._outbox.due(integrator.id, time.time(), room + len(busy))
            for queue in due:
                if len(busy) >= self._settings.webhook_concurrency:
                    break
                if queue in busy or not await self._outbox.claim(queue):
                    continue
                busy.add(queue)
                task = asyncio.create_task(self._deliver(http, integrator, queue))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        except Exception:
            # Redis away: the queues stay as they are and are looked at again on the next round.
            log.exception("webhook scheduling failed", integrator=integrator.id)

    async def _deliver(self, http: httpx.AsyncClient, integrator: Integrator, queue: str) -> None:
        try:
            head = await self._outbox.head(queue)
            if head is None:
                await self._outbox.done(integrator.id, queue, None)
                return
            error = await self._send(http, integrator, head)
            if error is None:
                WEBHOOK_ATTEMPTS.labels(integrator.id, "sent").inc()
                await self._outbox.done(integrator.id, queue, head)
                return
            now = time.time()
            first_at = head.first_at if head.first_at is not None else now
            decision = after_failure(head.attempts + 1, first_at, now, self._policy, error, self._rng)
            if isinstance(decision, GiveUp):
                await self._give_up(integrator, queue, head, decision.reason)
                return
            WEBHOOK_ATTEMPTS.labels(integrator.id, "retry").inc()
            log.info(
                "webhook failed, will retry", integrator=integrator.id, error=error, attempt=head.attempts + 1
            )
            await self._outbox.retry(integrator.id, queue, head.attempts + 1, first_at, decision.at)
        except Exception:
            # Redis or Kafka away: the lease runs out and the head is tried again, by this replica or another.
            log.exception("webhook delivery failed", integrator=integrator.id)
        finally:
            self._in_flight[integrator.id].discard(queue)

    async def _send(self, http: httpx.AsyncClient, integrator: Integrator, head: Queued) -> str | None:
        """Deliver the head by the integrator's transport; None once it is taken, else the reason."""
        event = decode(head.event_json)
        assert isinstance(event, MessageSend)  # only messages are queued
        if self._mail is not None and transport_of(integrator, event, mail_out=True) == "smtp":
            return await self._mail.send(integrator, event)
        return await self._post(http, integrator, head)

    async def _post(self, http: httpx.AsyncClient, integrator: Integrator, head: Queued) -> str | None:
        """None once the callback answered 2xx; else what went wrong."""
        assert integrator.callback_url is not None
        headers = {
            "Content-Type": CONTENT_TYPE,
            signing.INTEGRATOR_HEADER: integrator.id,
            signing.SIGNATURE_HEADER: signing.sign(
                integrator.signing_secret, int(time.time()), head.event_json
            ),
        }
        started = time.perf_counter()
        try:
            response = await http.post(integrator.callback_url, content=head.event_json, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:300]
        finally:
            WEBHOOK_SECONDS.observe(time.perf_counter() - started)
        return None if response.is_success else f"HTTP {response.status_code}"

    async def _give_up(self, integrator: Integrator, queue: str, head: Queued, reason: str) -> None:
        event = decode(head.event_json)
        assert isinstance(event, MessageSend)  # only messages are queued
        log.warning(
            "webhook given up", integrator=integrator.id, message_id=event.data.message_id, reason=reason
        )
        await self._publisher.publish([failed_report(integrator, event, reason)])
        headers = [
            ("content-type", CONTENT_TYPE.encode()),
            ("relais.dlq.reason", b"webhook"),
            ("relais.dlq.error", reason[:4000].encode()),
            ("relais.dlq.consumer", self._group.encode()),
            ("relais.dlq.topic", topics.OUTBOUND.encode()),
            ("relais.dlq.partition", str(head.partition).encode()),
            ("relais.dlq.offset", str(head.offset).encode()),
            ("relais.dlq.time", datetime.now(UTC).isoformat().encode()),
            ("relais.dlq.integrator", integrator.id.encode()),
        ]
        await self._publisher.send_raw(topics.DEADLETTER, head.event_json, queue.encode(), headers)
        WEBHOOK_ATTEMPTS.labels(integrator.id, "gave-up").inc()
        await self._outbox.done(integrator.id, queue, head)

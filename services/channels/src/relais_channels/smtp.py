"""Email over SMTP. In: an aiosmtpd listener for the integrators' mailboxes; each mail becomes the
customer's message (domain.email) and goes through `Ingress.publish`, like any edge's; the SMTP answer
waits for Kafka's acknowledgement, so a mail is either stored or the sender's server tries again.
Out: replies on the email channel through the configured relay (MailOut), delivered by the dispatcher
like webhooks (in order per address, retried, given up)."""

import asyncio
import smtplib
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session

from relais_channels.adapters.threads import EmailThreads
from relais_channels.domain.email import MalformedMail, parse_mail, reply_mail, thread_of, to_event
from relais_channels.domain.integrators import Integrator
from relais_channels.ingress import Ingress
from relais_channels.metrics import EMAILS
from relais_channels.settings import ChannelsSettings
from relais_contracts import now_time
from relais_contracts import topics as contract_topics
from relais_contracts.channel import MessageSend
from relais_platform.consumer import fit_dead_letter
from relais_platform.faults import infrastructure_fault
from relais_platform.kafka import Publisher

log = structlog.get_logger(__name__)


class MailOut:
    """Replies on the email channel, sent through the configured relay, in the customer's thread."""

    def __init__(self, threads: EmailThreads, settings: ChannelsSettings) -> None:
        self._threads = threads
        self._settings = settings

    async def send(self, integrator: Integrator, event: MessageSend) -> str | None:
        """None once the relay took the mail; else why not (the dispatcher retries, then gives up)."""
        thread = await self._threads.recall(event.tenant, event.data.to.address)
        message = reply_mail(event, sorted(integrator.email_addresses)[0], thread)
        try:
            await asyncio.to_thread(self._send, message)
        except (smtplib.SMTPException, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"[:300]
        return None

    def _send(self, message: EmailMessage) -> None:
        # The standard library's client, in a thread: one short exchange per message.
        with smtplib.SMTP(
            self._settings.smtp_relay_host,
            self._settings.smtp_relay_port,
            timeout=self._settings.smtp_relay_timeout_s,
        ) as relay:
            relay.send_message(message)


class MailHandler:
    """aiosmtpd's handler: RCPT only for known mailboxes, DATA published or dead-lettered."""

    def __init__(self, integrators: dict[str, Integrator], ingress: Ingress, publisher: Publisher,
                 threads: EmailThreads, settings: ChannelsSettings) -> None:  # fmt: skip
        self._mailboxes = {a: i for i in integrators.values() for a in i.email_addresses}
        self._threads = threads
        self._ingress = ingress
        self._publisher = publisher
        self._settings = settings

    @property
    def mailboxes(self) -> dict[str, Integrator]:
        return self._mailboxes

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() not in self._mailboxes:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        by_integrator: dict[str, Integrator] = {}
        for rcpt in envelope.rcpt_tos:
            integrator = self._mailboxes[rcpt.lower()]
            by_integrator[integrator.id] = integrator
        try:
            mail = parse_mail(raw)
        except MalformedMail as exc:
            # Kept, never dropped: the dead letter holds the message as received, with the reason.
            for integrator in by_integrator.values():
                await self._dead_letter(raw, integrator, str(exc))
            EMAILS.labels("malformed").inc()
            return "250 OK: kept for review"
        try:
            for integrator in by_integrator.values():
                event = to_event(mail, integrator.tenant, f"{integrator.id}/email", now_time())
                # Remembered first: the reply to this mail may be out before this call returns.
                await self._threads.remember(integrator.tenant, mail.sender, thread_of(mail))
                await self._ingress.publish(integrator, [event])
        except Exception as exc:
            if not infrastructure_fault(exc):
                raise
            log.warning("mail not stored, the sender will retry", error=repr(exc))
            EMAILS.labels("deferred").inc()
            return "451 4.3.0 Try again later"
        EMAILS.labels("received").inc()
        return "250 OK"

    async def _dead_letter(self, raw: bytes, integrator: Integrator, reason: str) -> None:
        log.warning("malformed mail dead-lettered", integrator=integrator.id, reason=reason)
        ours = [
            ("relais.dlq.reason", b"email"),
            ("relais.dlq.error", reason[:4000].encode()),
            ("relais.dlq.consumer", b"smtp"),
            ("relais.dlq.topic", b"smtp"),
            ("relais.dlq.partition", b"-1"),
            ("relais.dlq.offset", b"-1"),
            ("relais.dlq.time", datetime.now(UTC).isoformat().encode()),
            ("relais.dlq.integrator", integrator.id.encode()),
        ]
        value, key, headers = fit_dead_letter(
            raw, integrator.id.encode(), [], ours, self._settings.kafka_max_message_bytes
        )
        await self._publisher.send_raw(contract_topics.DEADLETTER, value, key, headers)


def smtp_server(handler: MailHandler, settings: ChannelsSettings) -> Callable[[], Coroutine[Any, Any, None]]:
    """The listener's coroutine for the runtime: serves until cancelled."""

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(
                handler,
                data_size_limit=settings.smtp_max_message_bytes,
                enable_SMTPUTF8=True,
                ident="Relais channels",
            ),
            host=settings.smtp_host,
            port=settings.smtp_port,
            # With RELAIS_WORKERS above 1 every worker process listens on the one port, as uvicorn's
            # workers share the HTTP port: the kernel spreads the connections over them.
            reuse_port=True,
        )
        log.info("smtp listening", port=settings.smtp_port, mailboxes=sorted(handler.mailboxes))
        try:
            await asyncio.Future()
        finally:
            server.close()
            await server.wait_closed()

    return serve

"""Email in through real SMTP: a mail to a tenant's mailbox becomes the customer's message on
relais.inbound.v1 (reply stripped, thread kept); a malformed mail is dead-lettered with its reason; a
mailbox nobody has is refused at RCPT."""

import asyncio
import json
import smtplib
import socket
from email.message import EmailMessage
from pathlib import Path

import pytest

from relais_contracts import topics
from relais_contracts.channel import MessageReceived
from relais_platform.testing import Infra, ServiceProcess, TopicReader, create_topics, poll, service_env

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def send(port: int, message: bytes | EmailMessage, to: str = "support@demo.example") -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        if isinstance(message, EmailMessage):
            smtp.send_message(message, to_addrs=[to])
        else:
            smtp.sendmail("x@example.com", [to], message)


async def test_mail_in_through_smtp(infra: Infra, namespace: str, tmp_path: Path) -> None:
    await create_topics(infra, namespace)
    port = free_port()
    integrators = [
        {"id": "demo-mail", "tenant": "demo", "channels": ["email"], "secret": "s" * 32,
         "email_addresses": ["Support@demo.example"]},
    ]  # fmt: skip
    env = service_env(
        infra, namespace, RELAIS_INTEGRATORS=json.dumps(integrators), RELAIS_SMTP_PORT=str(port)
    )
    proc = ServiceProcess("relais_channels", env, tmp_path).start()
    try:
        await proc.wait_ready()
        async with TopicReader(infra, namespace, [topics.INBOUND, topics.DEADLETTER]) as reader:
            message = EmailMessage()
            message["From"] = "Camille Martin <camille@example.com>"
            message["To"] = "support@demo.example"
            message["Subject"] = "Re: Commande 4471"
            message["Message-ID"] = "<c2@example.com>"
            message["In-Reply-To"] = "<reply-1@relais>"
            message.set_content(
                "Toujours rien reçu.\n\nLe 2 mars, Relais a écrit :\n> Votre colis est parti."
            )
            await asyncio.to_thread(send, port, message)

            event = await reader.wait_event(topics.INBOUND, lambda e: isinstance(e, MessageReceived))
            assert isinstance(event, MessageReceived)
            assert (event.tenant, event.data.channel, event.data.from_.address) == (
                "demo",
                "email",
                "camille@example.com",
            )
            assert event.data.text == "Toujours rien reçu."
            assert event.data.external_id == "<c2@example.com>"

            # Malformed: accepted by SMTP, kept as a dead letter with its reason, nothing published.
            await asyncio.to_thread(send, port, b"Subject: no sender\r\n\r\nwho am I?")
            dead = await poll(lambda: [r for r in reader.records if r.topic.endswith(topics.DEADLETTER)])
            headers = dict(dead[0].headers)
            assert headers["relais.dlq.reason"] == b"email"
            assert b"no single sender" in headers["relais.dlq.error"]
            assert b"who am I?" in dead[0].value

            # Nobody's mailbox: refused before the data.
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                await asyncio.to_thread(send, port, message, "nobody@demo.example")
            assert len(reader.events(topics.INBOUND)) == 1
    finally:
        proc.terminate()

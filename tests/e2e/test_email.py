"""Email end to end through real SMTP: a customer's mail to the tenant's mailbox reaches the bot, whose
reply goes out through the SMTP relay (the `make up` sink, writing .eml files) in the customer's thread."""

import asyncio
import json
import smtplib
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from relais_platform.testing import Infra, ServiceProcess, poll, service_env
from tests.e2e.system import System, start_system

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def bot_system(infra: Infra, tmp_path: Path) -> AsyncIterator[System]:
    system = await start_system(infra, tmp_path, ["context-store", "bot"])
    try:
        yield system
    finally:
        system.stop()


def send(port: int, message: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.send_message(message)


@pytest.fixture
def mail_sink(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """The `make up` mail sink, as a process: the SMTP relay replies go to; (its directory, its port)."""
    mail_dir, port = tmp_path / "mail", free_port()
    sink = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "deploy" / "local" / "mailsink.py"),
            "--port",
            str(port),
            "--dir",
            str(mail_dir),
        ]
    )
    try:
        yield mail_dir, port
    finally:
        sink.terminate()
        sink.wait(timeout=10)


async def test_a_mail_in_gets_the_bots_reply_out_in_its_thread(
    bot_system: System, mail_sink: tuple[Path, int], tmp_path: Path
) -> None:
    mail_dir, sink_port = mail_sink
    smtp_port = free_port()
    integrators = [
        {"id": "acme-mail", "tenant": "acme", "channels": ["email"], "secret": "s" * 32,
         "email_addresses": ["support@acme.example"]},
    ]  # fmt: skip
    env = service_env(
        bot_system.infra,
        bot_system.namespace,
        RELAIS_ENV="dev",
        RELAIS_INTEGRATORS=json.dumps(integrators),
        RELAIS_SMTP_PORT=str(smtp_port),
        RELAIS_SMTP_RELAY_PORT=str(sink_port),
    )
    channels = ServiceProcess("relais_channels", env, tmp_path, "channels").start()
    try:
        await channels.wait_ready()
        message = EmailMessage()
        message["From"] = "Camille Martin <camille@example.com>"
        message["To"] = "support@acme.example"
        message["Subject"] = "Commande 4471"
        message["Message-ID"] = "<first-4471@example.com>"
        message.set_content("Bonjour, où est ma commande ?\n\n-- \nCamille Martin\nAcme SA")
        await asyncio.to_thread(send, smtp_port, message)

        replies: list[Path] = await poll(lambda: sorted(mail_dir.glob("*.eml")), timeout=60, what="the reply")
        reply = message_from_bytes(replies[0].read_bytes(), policy=policy.default)
        assert reply["To"] == "camille@example.com"
        assert reply["From"].addresses[0].addr_spec == "support@acme.example"
        assert reply["In-Reply-To"] == "<first-4471@example.com>"
        assert "<first-4471@example.com>" in reply["References"]
        assert reply["Subject"] == "Re: Commande 4471"
        assert reply["Message-ID"].endswith("@acme.example>")
        assert "commande" in reply.get_content().lower()
    finally:
        channels.terminate()

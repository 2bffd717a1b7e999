"""The bot as a process against real Kafka and Redis, driven through the conversation log."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from relais_contracts import Event, topics
from relais_contracts.conversation import (
    CustomerMessage,
    CustomerMessageData,
    Dequeued,
    DequeuedData,
    HandoffRequested,
    Opened,
    OpenedData,
    ReplyPosted,
    WaitUpdated,
    WaitUpdatedData,
)
from relais_contracts.routing import WorkSubmitted
from relais_platform.testing import (
    Infra,
    RawPublisher,
    ServiceProcess,
    TopicReader,
    create_topics,
    poll,
    service_env,
)

pytestmark = pytest.mark.integration

TENANT = "acme"


class Log:
    """Writes conversation events for one conversation as the context store and the router would."""

    def __init__(self, publisher: RawPublisher) -> None:
        self.publisher = publisher
        self.conversation = f"conv-{uuid.uuid4().hex[:8]}"

    def envelope(self, source: str = "relais/context-store") -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()), "source": source, "time": datetime.now(UTC), "tenant": TENANT,
            "subject": self.conversation,
        }  # fmt: skip

    async def send(self, event: Any) -> Any:
        await self.publisher.event(topics.CONVERSATIONS, self.conversation, event)
        return event

    async def open(self, customer_id: str) -> None:
        data = OpenedData(channel="webchat", address="visitor", customer_id=customer_id)
        await self.send(Opened(**self.envelope(), data=data))

    async def say(self, text: str) -> CustomerMessage:
        envelope = self.envelope()
        data = CustomerMessageData(
            message_id=envelope["id"],
            channel="webchat",
            address="visitor",
            text=text,
            external_id=envelope["id"],
        )
        event: CustomerMessage = await self.send(CustomerMessage(**envelope, data=data))
        return event


def bot_replies(reader: TopicReader, where: Callable[[ReplyPosted], bool] = lambda r: True) -> list[Event]:
    return reader.events(topics.CONVERSATIONS, lambda e: isinstance(e, ReplyPosted) and where(e))


async def test_state_survives_a_restart_and_a_replayed_message_is_not_answered_twice(
    infra: Infra, namespace: str, tmp_path: Path
) -> None:
    await create_topics(infra, namespace)
    env = service_env(infra, namespace)
    bot = ServiceProcess("relais_bot", env, tmp_path).start()
    try:
        await bot.wait_ready()
        async with (
            TopicReader(infra, namespace, [topics.CONVERSATIONS, topics.ROUTING]) as reader,
            RawPublisher(infra, namespace) as publisher,
        ):
            log = Log(publisher)
            await log.open("cust-1")
            hello = await log.say("Bonjour")
            greeting = await reader.wait_event(
                topics.CONVERSATIONS,
                lambda e: isinstance(e, ReplyPosted) and e.data.in_reply_to == hello.id,
                what="the greeting",
            )
            assert greeting.data.text.startswith("Bonjour")  # type: ignore[attr-defined]

            ask = await log.say("je veux parler à un conseiller, commande 4417221")
            work = await reader.wait_event(
                topics.ROUTING, lambda e: isinstance(e, WorkSubmitted), what="work"
            )
            assert isinstance(work, WorkSubmitted)
            packet = work.data.packet
            assert (packet.reason, packet.language, packet.customer_id) == (
                "customer-request",
                "fr",
                "cust-1",
            )
            assert ("order_number", "4417221") in {(e.kind, e.value) for e in packet.entities}
            requested = reader.events(topics.CONVERSATIONS, lambda e: isinstance(e, HandoffRequested))
            assert [e.causationid for e in requested] == [ask.id]

            async with httpx.AsyncClient() as http:
                metrics = (await http.get(f"{bot.url}/metrics")).text
            assert 'relais_bot_handoffs_total{reason="customer-request",tenant="acme"} 1.0' in metrics
            assert 'relais_bot_messages_total{language="fr",outcome="answered",tenant="acme"} 1.0' in metrics

            # SIGKILL, then a new process: what the bot knew (waiting, in French) comes back from Redis.
            bot.kill()
            bot = ServiceProcess("relais_bot", env, tmp_path).start()
            await bot.wait_ready()
            wait = WaitUpdatedData(queue="general", position=2, expected_wait_s=120)
            await log.send(WaitUpdated(**log.envelope("relais/router"), data=wait))
            notice = await reader.wait_event(
                topics.CONVERSATIONS, lambda e: isinstance(e, ReplyPosted) and "position 2" in e.data.text,
                what="the wait notice",
            )  # fmt: skip
            assert notice.data.text.startswith("Vous êtes en position 2")  # type: ignore[attr-defined]

            # The greeting's message delivered again (a producer retry, a replay): not answered again.
            await log.send(hello)
            closed = DequeuedData(queue="general", reason="closed")
            await log.send(Dequeued(**log.envelope("relais/router"), data=closed))
            await poll(
                lambda: bot_replies(reader, lambda r: r.data.text.startswith("Nos conseillers")),
                what="the closed notice, after the replayed message",
            )
            assert len(bot_replies(reader, lambda r: r.data.in_reply_to == hello.id)) == 1
            assert len(reader.events(topics.ROUTING, lambda e: isinstance(e, WorkSubmitted))) == 1
    finally:
        bot.terminate()


async def test_a_message_the_bot_cannot_handle_in_time_goes_to_a_person(
    infra: Infra, namespace: str, tmp_path: Path
) -> None:
    await create_topics(infra, namespace)
    # A timeout no decision can meet: every message takes the failure path.
    env = service_env(infra, namespace, RELAIS_BOT_MESSAGE_TIMEOUT_S="0.000001")
    bot = ServiceProcess("relais_bot", env, tmp_path).start()
    try:
        await bot.wait_ready()
        async with (
            TopicReader(infra, namespace, [topics.CONVERSATIONS, topics.ROUTING]) as reader,
            RawPublisher(infra, namespace) as publisher,
        ):
            log = Log(publisher)
            await log.open("cust-2")
            await log.say("where is my order?")
            work = await reader.wait_event(
                topics.ROUTING, lambda e: isinstance(e, WorkSubmitted), what="work"
            )
            assert isinstance(work, WorkSubmitted)
            assert work.data.packet.reason == "bot-failure"
            notice = await reader.wait_event(
                topics.CONVERSATIONS, lambda e: isinstance(e, ReplyPosted), what="the notice"
            )
            assert "agent" in notice.data.text  # type: ignore[attr-defined]
    finally:
        bot.terminate()

"""The bot watchdog in the running context store, against real Kafka and Redis: it finds a fresh silence
among hundreds of answered conversations, and gives a message that arrives late its chance."""

from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from relais_contracts import topics
from relais_contracts.conversation import HandoffRequested, Opened
from relais_contracts.routing import WorkSubmitted
from relais_platform.testing import Infra, RawPublisher, TopicReader, poll

from .conftest import Launch, channel_message, log_event

pytestmark = pytest.mark.integration

ANSWERED = 520  # more than one page of the watchdog's scan


async def test_a_fresh_silence_is_found_among_many_answered_conversations_and_late_messages_wait(
    infra: Infra, namespace: str, launch: Launch
) -> None:
    # Long enough that the 520 conversations are opened and answered before a late message's half
    # deadline (10 s from its arrival) could run out, even on a loaded machine.
    await launch(RELAIS_BOT_SILENCE_TIMEOUT_S="20", RELAIS_BOT_WATCHDOG_INTERVAL_S="0.5")
    a_minute_ago = datetime.now(UTC) - timedelta(minutes=1)
    wanted = [topics.CONVERSATIONS, topics.ROUTING]
    async with RawPublisher(infra, namespace) as channel, TopicReader(infra, namespace, wanted) as log:
        for n in range(ANSWERED):
            message = channel_message(f"question {n}", "webchat", f"v-{n}", at=a_minute_ago)
            await channel.event(topics.INBOUND, f"acme:webchat:v-{n}", message)

        def opened() -> list[Opened]:
            return [e for e in log.events(topics.CONVERSATIONS) if isinstance(e, Opened)]

        await poll(lambda: len(opened()) == ANSWERED, timeout=60, what="every conversation opened")
        for conversation in opened():  # the bot answered each of them
            reply = {
                "message_id": f"r-{conversation.subject}",
                "author": {"kind": "bot", "name": "Relais"},
                "text": "Here is the answer.",
            }
            await channel.event(
                topics.CONVERSATIONS,
                conversation.subject,
                log_event("relais.conversation.reply.posted", conversation.subject, reply, at=a_minute_ago),
            )

        # One customer the bot never answers, and one whose message arrives now but was sent long ago.
        await channel.event(
            topics.INBOUND, "acme:sms:+33600000001", channel_message("hello?", "sms", "+33600000001")
        )
        late_sent = datetime.now(UTC) - timedelta(minutes=5)
        await channel.event(
            topics.INBOUND,
            "acme:sms:+33600000002",
            channel_message("sent from a tunnel", "sms", "+33600000002", at=late_sent),
        )

        def handed_over() -> set[str]:
            return {
                e.subject or "" for e in log.events(topics.CONVERSATIONS) if isinstance(e, HandoffRequested)
            }

        silent = await log.wait_event(
            topics.CONVERSATIONS,
            lambda e: isinstance(e, Opened) and e.data.address == "+33600000001",
            what="the silent customer's conversation",
        )
        late = await log.wait_event(
            topics.CONVERSATIONS,
            lambda e: isinstance(e, Opened) and e.data.address == "+33600000002",
            what="the late message's conversation",
        )
        arrived = datetime.now(UTC)
        # The watchdog reads an index of the conversations awaiting the bot, not every open one: the
        # two unanswered ones are in it, none of the 520 answered.
        redis = Redis.from_url(infra.redis_url)
        try:

            async def awaiting() -> set[str]:
                members = await redis.zrange(f"{namespace}relais:cs:awaiting", 0, -1)
                return {m.decode().split(" ", 1)[1] for m in members}

            async def only_unanswered() -> bool:
                return await awaiting() == {silent.subject, late.subject}

            await poll(only_unanswered, timeout=30, what="only the two unanswered in the awaiting index")
        finally:
            await redis.aclose()
        await poll(lambda: late.subject in handed_over(), timeout=60, what="the late message handed over")
        # Its event time was 5 minutes old, yet the bot had half the deadline (10 s) from its arrival.
        assert (datetime.now(UTC) - arrived).total_seconds() >= 7
        await poll(
            lambda: silent.subject in handed_over(), timeout=60, what="the silent customer handed over"
        )
        assert handed_over() == {silent.subject, late.subject}  # none of the answered ones
        work = log.events(topics.ROUTING, lambda e: isinstance(e, WorkSubmitted))
        assert {w.data.conversation_id for w in work} == {silent.subject, late.subject}

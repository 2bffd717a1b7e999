"""Redis loses the bot's states under it (FLUSHALL on a Redis of the test's own) in the middle of a
conversation: the bot rebuilds them from the log before its next decision, so the waiting customer is
not greeted as a new one nor handed over twice, and still hears from the bot in their language."""

from pathlib import Path

import pytest

from relais_contracts import topics
from relais_contracts.conversation import ReplyPosted, WaitUpdated, WaitUpdatedData
from relais_contracts.routing import WorkSubmitted
from relais_platform.testing import (
    Infra,
    LocalRedis,
    RawPublisher,
    ServiceProcess,
    TopicReader,
    create_topics,
    service_env,
)

from .test_service import Log, bot_replies

pytestmark = pytest.mark.integration


async def test_after_a_redis_wipe_a_waiting_customer_is_not_greeted_again(
    infra: Infra, namespace: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    await create_topics(infra, namespace)
    with LocalRedis(request.config.rootpath) as own:
        bot = ServiceProcess("relais_bot", service_env(infra, namespace, RELAIS_REDIS_URL=own.url), tmp_path)
        bot.start()
        try:
            await bot.wait_ready()
            async with (
                TopicReader(infra, namespace, [topics.CONVERSATIONS, topics.ROUTING]) as reader,
                RawPublisher(infra, namespace) as publisher,
            ):
                log = Log(publisher)
                await log.open("cust-9")
                hello = await log.say("Bonjour")
                await reader.wait_event(
                    topics.CONVERSATIONS,
                    lambda e: isinstance(e, ReplyPosted) and e.data.in_reply_to == hello.id,
                    what="the greeting",
                )
                await log.say("je veux parler à un conseiller")
                await reader.wait_event(topics.ROUTING, lambda e: isinstance(e, WorkSubmitted), what="work")

                await own.flushall()

                again = await log.say("Bonjour")
                wait = WaitUpdatedData(queue="general", position=2, expected_wait_s=120)
                await log.send(WaitUpdated(**log.envelope("relais/router"), data=wait))
                notice = await reader.wait_event(
                    topics.CONVERSATIONS,
                    lambda e: isinstance(e, ReplyPosted) and "position 2" in e.data.text,
                    what="the wait notice, in French: the bot still knows the conversation",
                )
                assert notice.data.text.startswith("Vous êtes en position 2")  # type: ignore[attr-defined]
                # The second hello came before the notice on the same partition: it was decided already.
                assert not bot_replies(reader, lambda r: r.data.in_reply_to == again.id)
                assert len(reader.events(topics.ROUTING, lambda e: isinstance(e, WorkSubmitted))) == 1
        finally:
            bot.terminate()

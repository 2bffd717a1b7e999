"""The bot with two worker processes (RELAIS_WORKERS=2) against real Kafka and Redis: both join the
consumer group, each conversation is answered once and in order, and /metrics counts both workers."""

from pathlib import Path

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CoordinatorLoadInProgressError, GroupCoordinatorNotAvailableError
from prometheus_client.parser import text_string_to_metric_families

from relais_contracts import topics
from relais_contracts.conversation import ReplyPosted
from relais_platform.testing import (
    Infra,
    RawPublisher,
    ServiceProcess,
    TopicReader,
    create_topics,
    poll,
    service_env,
)

from .test_service import Log

pytestmark = pytest.mark.integration

CONVERSATIONS = 12


async def test_two_workers_share_the_partitions_and_answer_every_message_once_in_order(
    infra: Infra, namespace: str, tmp_path: Path
) -> None:
    await create_topics(infra, namespace)
    env = service_env(
        infra, namespace, RELAIS_WORKERS="2", PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics")
    )
    (tmp_path / "metrics").mkdir()
    bot = ServiceProcess("relais_bot", env, tmp_path).start()
    try:
        await bot.wait_ready(timeout=120)
        group = f"{namespace}relais-bot-conversations"
        admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
        await admin.start()
        try:

            async def members() -> int:
                try:
                    described = await admin.describe_consumer_groups([group])
                except (GroupCoordinatorNotAvailableError, CoordinatorLoadInProgressError):
                    return 0  # a fresh broker elects the group's coordinator a moment later
                # Each group: (error, id, state, protocol type, protocol, members).
                return sum(len(g[5]) for response in described for g in response.groups)

            async def both() -> bool:
                return await members() == 2

            await poll(both, timeout=60, what="both workers in the group")
        finally:
            await admin.close()

        async with (
            TopicReader(infra, namespace, [topics.CONVERSATIONS]) as reader,
            RawPublisher(infra, namespace) as publisher,
        ):
            logs = [Log(publisher) for _ in range(CONVERSATIONS)]
            said: dict[str, list[str]] = {}
            for n, log in enumerate(logs):
                await log.open(f"cust-{n}")
                first = await log.say("Hello, where is my order?")
                second = await log.say("How do I return an item?")
                said[log.conversation] = [first.id, second.id]

            def replies() -> list[ReplyPosted]:
                # A partition handed from one worker to the other (the group may still be settling)
                # can be read again: the replay derives the same reply ids, which readers drop.
                unique = {e.id: e for e in reader.events(topics.CONVERSATIONS) if isinstance(e, ReplyPosted)}
                return list(unique.values())

            await poll(lambda: len(replies()) >= 2 * CONVERSATIONS, timeout=120, what="every reply")
            for conversation, ids in said.items():
                answered = [r.data.in_reply_to for r in replies() if r.subject == conversation]
                assert answered == ids  # once each, and in the order asked

        async def consumed() -> float:
            async with httpx.AsyncClient() as http:
                text = (await http.get(f"{bot.url}/metrics")).text
            return sum(
                s.value
                for family in text_string_to_metric_families(text)
                for s in family.samples
                if s.name == "relais_events_consumed_total"
            )

        # Every event of the log (an opening, two messages, two replies per conversation), both workers'
        # shares, not the share of the worker that answered the scrape. The workers read their own last
        # replies back a moment after the reader above saw them: wait for that, then count.
        async def all_consumed() -> bool:
            return await consumed() >= 5 * CONVERSATIONS

        await poll(all_consumed, timeout=30, what="every event of the log consumed")
        assert await consumed() >= 5 * CONVERSATIONS
    finally:
        bot.terminate()

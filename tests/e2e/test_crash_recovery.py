"""Effectively once: a service killed with SIGKILL after handling a batch but before committing it,
then restarted, loses no message and duplicates none; SIGTERM drains and commits."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from relais_contracts import topics
from relais_contracts.channel import MessageSend
from relais_contracts.conversation import CustomerMessage, ReplyPosted
from relais_platform.testing import Infra, RawPublisher, TopicReader, api_headers, poll
from tests.e2e.system import TENANT, inbound, start_system

pytestmark = pytest.mark.e2e

MESSAGES = 30


@pytest.mark.parametrize("victim", ["context-store", "bot"])
async def test_kill_before_commit_loses_nothing_and_duplicates_nothing(
    infra: Infra, tmp_path: Path, victim: str
) -> None:
    survivor = "bot" if victim == "context-store" else "context-store"
    # The bot is down on purpose here: the context store's watchdog, which would hand the waiting
    # customers to a person (tests/e2e/test_human_reachable.py), stays out of this test of the bot.
    system = await start_system(
        infra, tmp_path, [survivor], **{"context-store": {"RELAIS_BOT_SILENCE_TIMEOUT_S": "0"}}
    )
    address = "crash-test"
    key = topics.inbound_key(TENANT, "whatsapp", address)
    try:
        async with (
            TopicReader(infra, system.namespace, [topics.OUTBOUND, topics.CONVERSATIONS]) as reader,
            RawPublisher(infra, system.namespace) as channel,
            httpx.AsyncClient() as http,
        ):
            for i in range(MESSAGES):
                await channel.event(
                    topics.INBOUND, key, inbound(f"hello {i}", address=address, channel="whatsapp")
                )
            if victim == "bot":
                await poll(
                    lambda: (
                        len(reader.events(topics.CONVERSATIONS, lambda e: isinstance(e, CustomerMessage)))
                        >= MESSAGES
                    ),
                    what="every message on the log before the bot starts",
                )

            # Everything is waiting for the victim, so its second batch is full of work. It kills itself
            # (SIGKILL) after that batch's effects are written and before its offsets are committed.
            killed = await system.launch(
                victim, wait=False, RELAIS_FAULT_KILL_BEFORE_COMMIT="2", RELAIS_CONSUMER_BATCH_MAX="4"
            )
            await poll(
                lambda: killed.proc is not None and killed.proc.poll() is not None,
                timeout=120,  # its start-up included: a loaded machine takes a while to import the bot
                what=f"{victim} killed",
            )
            assert killed.proc is not None
            assert killed.proc.returncode == -9
            assert "fault injection" in killed.log_tail(200)
            await system.launch(victim)

            def replies() -> list[Any]:
                return reader.events(
                    topics.OUTBOUND, lambda e: isinstance(e, MessageSend) and e.data.to.address == address
                )

            await poll(lambda: len({e.id for e in replies()}) >= MESSAGES, timeout=60, what="a reply to each")
            conversation_id = replies()[0].subject

            async def timeline() -> list[dict[str, Any]] | None:
                response = await http.get(
                    f"{system.url('context-store')}/v1/conversations/{conversation_id}/timeline",
                    headers=api_headers(TENANT),
                )
                entries = (
                    [e for e in response.json() if e["kind"] == "message"] if response.is_success else []
                )
                return entries if len(entries) >= 2 * MESSAGES else None

            entries = await poll(timeline, timeout=60, what="every message and reply in the timeline")
            customer = [e["text"] for e in entries if e["author_kind"] == "customer"]
            assert customer == [f"hello {i}" for i in range(MESSAGES)], "each once, in order"
            assert len(entries) == 2 * MESSAGES, "one bot reply per message, no duplicate"
            assert len({e["message_id"] for e in entries}) == 2 * MESSAGES
            answered = [e["in_reply_to"] for e in entries if e["author_kind"] == "bot"]
            assert len(set(answered)) == MESSAGES
            # The restarted victim re-reads the uncommitted batch and recognises it as applied: the
            # replies and deliveries it caused are not published again.
            posted = [e.id for e in reader.events(topics.CONVERSATIONS, lambda e: isinstance(e, ReplyPosted))]
            assert len(posted) == MESSAGES
            assert len(replies()) == MESSAGES
    finally:
        system.stop()


async def test_sigterm_drains_commits_and_stops_cleanly(infra: Infra, tmp_path: Path) -> None:
    system = await start_system(infra, tmp_path, ["context-store"])
    proc = system.services["context-store"]
    async with RawPublisher(infra, system.namespace) as channel:
        for i in range(5):
            await channel.event(
                topics.INBOUND, topics.inbound_key(TENANT, "sms", "+1555"), inbound(f"m{i}", "+1555", "sms")
            )
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
    await admin.start()
    try:

        async def inbound_committed() -> bool:
            group = f"{system.namespace}relais-context-store-inbound"
            offsets = await admin.list_consumer_group_offsets(group)
            return sum(m.offset for tp, m in offsets.items() if tp.topic.endswith(topics.INBOUND)) == 5

        await poll(inbound_committed, what="the inbound batch committed")
        code = proc.terminate()
        # uvicorn re-raises SIGTERM once its graceful shutdown is over, so a clean stop exits by that signal.
        assert code in (0, -15), proc.log_tail()
        log = proc.log_tail(400)
        assert "consumer stopped" in log
        assert "service stopped" in log
        assert "Traceback" not in log
        assert await inbound_committed()
    finally:
        await admin.close()

"""Effectively once: a service killed with SIGKILL after handling a batch but before committing it,
then restarted, loses no message and duplicates none in the timeline."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from relais_contracts import topics
from relais_contracts.channel import MessageSend
from relais_platform.testing import Infra, RawPublisher, ServiceProcess, TopicReader, poll
from tests.e2e.system import TENANT, inbound, start_system

pytestmark = pytest.mark.e2e

MESSAGES = 30


@pytest.mark.parametrize("victim", ["context-store", "bot"])
async def test_kill_before_commit_loses_nothing_and_duplicates_nothing(
    infra: Infra, tmp_path: Path, victim: str
) -> None:
    # The victim kills itself (SIGKILL) after its second batch: effects written, offsets not committed.
    faulty = {victim: {"RELAIS_FAULT_KILL_BEFORE_COMMIT": "2", "RELAIS_CONSUMER_BATCH_MAX": "4"}}
    system = await start_system(infra, tmp_path, ["context-store", "bot"], **faulty)
    address = "crash-test"
    key = topics.inbound_key(TENANT, "whatsapp", address)
    try:
        async with (
            TopicReader(infra, system.namespace, [topics.OUTBOUND]) as reader,
            RawPublisher(infra, system.namespace) as channel,
            httpx.AsyncClient() as http,
        ):
            for i in range(MESSAGES):
                await channel.event(
                    topics.INBOUND, key, inbound(f"hello {i}", address=address, channel="whatsapp")
                )

            killed: ServiceProcess = system.services[victim]
            await poll(
                lambda: killed.proc is not None and killed.proc.poll() is not None, what=f"{victim} killed"
            )
            assert killed.proc is not None
            assert killed.proc.returncode == -9
            assert "fault injection" in killed.log_tail(200)

            restarted = ServiceProcess(
                killed.module, {**killed.env, "RELAIS_FAULT_KILL_BEFORE_COMMIT": "0"}, tmp_path
            )
            system.services[victim] = restarted.start()
            await restarted.wait_ready()

            replies = lambda: reader.events(  # noqa: E731
                topics.OUTBOUND, lambda e: isinstance(e, MessageSend) and e.data.to.address == address
            )
            await poll(
                lambda: len({e.id for e in replies()}) >= MESSAGES,
                timeout=60,
                what="a reply to every message",
            )
            conversation_id = replies()[0].subject

            async def timeline() -> list[dict[str, Any]] | None:
                response = await http.get(
                    f"{system.url('context-store')}/v1/conversations/{conversation_id}/timeline",
                    headers={"X-Relais-Tenant": TENANT},
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
            # Every reply answers a distinct customer message.
            answered = [e["in_reply_to"] for e in entries if e["author_kind"] == "bot"]
            assert len(set(answered)) == MESSAGES
    finally:
        for proc in system.services.values():
            proc.terminate()


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
            offsets = await admin.list_consumer_group_offsets(
                f"{system.namespace}relais-context-store-inbound"
            )
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

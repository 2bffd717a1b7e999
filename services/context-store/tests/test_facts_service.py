"""Conversation facts through the real context store on real Kafka and Redis: one fact a conversation,
effectively once through duplicates and a rebuild, the same facts (same ids) recomputed from the log,
and `relais-facts export` reading them back as CSV and Parquet."""

import csv
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from relais_context_store.fact_export import Window, export, read_facts, recompute_facts
from relais_contracts import topics
from relais_contracts.conversation import Closed, CustomerMessage, Opened
from relais_contracts.facts import ConversationFact
from relais_platform.settings import ServiceSettings
from relais_platform.testing import Infra, RawPublisher, TopicReader, all_consumed, poll, service_env

from .conftest import ADMIN_TOKEN, Launch, channel_message, log_event

pytestmark = pytest.mark.integration

TIMEOUT_S = 15  # the inactivity timeout: long enough for a test to play a conversation, short to wait


def bot_reply(conversation: str, at: datetime, n: int) -> dict[str, Any]:
    author = {"kind": "bot", "name": "Relais"}
    data = {"message_id": f"bot-{conversation}-{n}", "author": author, "text": "Hello!"}
    return log_event("relais.conversation.reply.posted", conversation, data, source="relais/bot", at=at)


def handover(conversation: str, t0: datetime) -> list[dict[str, Any]]:
    """What the bot, the router and an agent's gateway write after the customer asks for a person."""

    def router(kind: str, seconds: float, **data: Any) -> dict[str, Any]:
        at = t0 + timedelta(seconds=seconds)
        return log_event(f"relais.conversation.{kind}", conversation, data, source="relais/router", at=at)

    packet = {"reason": "customer-request", "summary": "wants a person", "queue": "billing", "language": "de"}
    agent = {"kind": "agent", "name": "Alice", "id": "alice"}
    reply = {"message_id": f"agent-{conversation}", "author": agent, "text": "Alice here, how can I help?"}
    return [
        bot_reply(conversation, t0 + timedelta(seconds=0.5), 1),
        log_event(
            "relais.conversation.handoff.requested", conversation, {"packet": packet},
            source="relais/bot", at=t0 + timedelta(seconds=1),
        ),
        router("queued", 1, queue="billing", position=1, enqueued_at=(t0 + timedelta(seconds=1)).isoformat()),
        router("offered", 3, offer_id="o-1", agent_id="alice"),
        router("assigned", 4, offer_id="o-1", agent_id="alice"),
        log_event("relais.conversation.reply.posted", conversation, reply, at=t0 + timedelta(seconds=6)),
        router("released", 10, agent_id="alice", reason="completed", disposition="solved"),
    ]  # fmt: skip


async def test_one_fact_a_conversation_effectively_once_and_the_same_facts_from_the_log(
    launch: Launch, infra: Infra, namespace: str, tmp_path: Path
) -> None:
    store = await launch(RELAIS_INACTIVITY_TIMEOUT_S=str(TIMEOUT_S), RELAIS_SWEEP_INTERVAL_S="0.5")
    t0 = datetime.now(UTC).replace(microsecond=0)
    async with (
        RawPublisher(infra, namespace) as pub,
        TopicReader(infra, namespace, [topics.CONVERSATIONS, topics.FACTS]) as reader,
    ):
        german = channel_message("ich will einen Menschen", "sms", "+4915112345678", at=t0)
        german["data"]["language"] = "de"
        for message in (channel_message("opening hours?", "webchat", "v-1", at=t0), german):
            address = message["data"]["from"]["address"]
            await pub.event(
                topics.INBOUND, topics.inbound_key("acme", message["data"]["channel"], address), message
            )
        opened = await poll(
            lambda: (
                (found := reader.events(topics.CONVERSATIONS, lambda e: isinstance(e, Opened)))[1:] and found
            ),
            what="both conversations opened",
        )
        by_channel = {e.data.channel: e.subject for e in opened if isinstance(e, Opened)}
        bot_only, handed = by_channel["webchat"], by_channel["sms"]
        messages = reader.events(topics.CONVERSATIONS, lambda e: isinstance(e, CustomerMessage))
        assert len(messages) == 2  # the views know both conversations before the others write to them

        await pub.event(topics.CONVERSATIONS, bot_only, bot_reply(bot_only, t0 + timedelta(seconds=1), 1))
        events = handover(handed, t0)
        for event in events[:3]:
            await pub.event(topics.CONVERSATIONS, handed, event)
        # Redis loses the views mid-conversation: the rebuild refolds the log (publishing nothing) and
        # the rest of the conversation carries on from the rebuilt fold.
        await all_consumed(infra, namespace)
        async with httpx.AsyncClient(base_url=store.url, timeout=60) as client:
            response = await client.post(
                "/v1/admin/rebuild", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
            )
            assert response.status_code == 200, response.text
        for event in events[3:]:
            await pub.event(topics.CONVERSATIONS, handed, event)
        await pub.event(topics.CONVERSATIONS, handed, events[-1])  # a duplicate of the wrap-up

        # Both close for inactivity (the sweep); the handed-over one was wrapped up before.
        await poll(
            lambda: len(reader.events(topics.CONVERSATIONS, lambda e: isinstance(e, Closed))) == 2,
            timeout=TIMEOUT_S + 30, what="both conversations closed",
        )  # fmt: skip
        await all_consumed(infra, namespace)
        facts = [f for f in reader.events(topics.FACTS) if isinstance(f, ConversationFact)]

    assert sorted(f.subject for f in facts) == sorted([bot_only, handed])
    by_conversation = {f.subject: f for f in facts}
    solo = by_conversation[bot_only].data
    assert (solo.ended_by, solo.handed_over, solo.bot_outcome, solo.channels) == (
        "close", False, "contained", ("webchat",),
    )  # fmt: skip
    assert (solo.opened_at, solo.closed_at, solo.first_response_s) == (
        t0,
        t0 + timedelta(seconds=TIMEOUT_S),
        1.0,
    )
    assert solo.queue is solo.wait_to_accept_s is solo.handle_s is None
    human = by_conversation[handed]
    d = human.data
    assert (human.tenant, d.ended_by, d.closed_at, d.revision) == (
        "acme",
        "wrap-up",
        t0 + timedelta(seconds=10),
        1,
    )
    assert (d.handed_over, d.bot_outcome, d.handoff_reason, d.queue) == (
        True,
        "handed-over",
        "customer-request",
        "billing",
    )
    assert (d.wait_to_offer_s, d.wait_to_accept_s, d.agent_first_response_s, d.handle_s) == (
        2.0,
        3.0,
        2.0,
        6.0,
    )
    assert (d.agents, d.disposition, d.channels, d.languages) == (("alice",), "solved", ("sms",), ("de",))
    assert (d.customer_messages, d.bot_replies, d.agent_replies, d.first_response_s) == (1, 1, 1, 0.5)

    settings = ServiceSettings(namespace=namespace, kafka_bootstrap_servers=infra.bootstrap)
    recomputed = await recompute_facts(settings)
    assert sorted(f.model_dump_json() for f in recomputed) == sorted(f.model_dump_json() for f in facts)
    read = await read_facts(settings, t0)
    assert sorted(f.id for f in read) == sorted(f.id for f in facts)
    assert await read_facts(settings, datetime.now(UTC) + timedelta(hours=2)) == []

    # The console script, as ops run it: both formats read back, the same rows from the topic and the log.
    for fmt in ("csv", "parquet"):
        for source in ([], ["--from-log"]):
            out = tmp_path / f"facts-{len(source)}.{fmt}"
            _relais_facts(
                infra,
                namespace,
                "--since",
                t0.date().isoformat(),
                "--format",
                fmt,
                "--out",
                str(out),
                *source,
            )
            rows = _read(out, fmt)
            assert {r["conversation_id"]: r["fact_id"] for r in rows} == {f.subject: f.id for f in facts}
            row = next(r for r in rows if r["conversation_id"] == handed)
            assert (row["queue"], row["handoff_reason"], float(row["wait_to_accept_s"])) == (
                "billing", "customer-request", 3.0,
            )  # fmt: skip
            assert str(row["handed_over"]).lower() == "true"
    window = Window(t0 + timedelta(seconds=5), t0 + timedelta(seconds=TIMEOUT_S))  # the wrap-up only
    assert await export(settings, window, "csv", tmp_path / "w.csv") == 1
    assert [r["conversation_id"] for r in _read(tmp_path / "w.csv", "csv")] == [handed]


def _kafka_env(infra: Infra, namespace: str) -> dict[str, str]:
    env = service_env(infra, namespace)
    return {k: env[k] for k in ("RELAIS_NAMESPACE", "RELAIS_KAFKA_BOOTSTRAP_SERVERS")}


def _relais_facts(infra: Infra, namespace: str, *args: str) -> None:
    script = Path(sys.executable).with_name("relais-facts")
    result = subprocess.run(
        [str(script), "export", *args],
        env={**os.environ, **_kafka_env(infra, namespace)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "wrote 2 facts" in result.stdout


def _read(path: Path, fmt: str) -> list[dict[str, Any]]:
    if fmt == "csv":
        with path.open(newline="") as f:
            return list(csv.DictReader(f))
    return pq.read_table(path).to_pylist()  # type: ignore[no-any-return]

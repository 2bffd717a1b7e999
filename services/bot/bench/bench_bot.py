"""`make bench-bot`: messages per second through the bot's core, and through Kafka and Redis.

Run by pytest (for the real Kafka and Redis of the `infra` fixture) but not part of the test suite:
the file name is not `test_*`, and nothing here asserts a speed. Prints a table and writes
.local/bench/bot.json.
"""

import json
import os
import platform
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from relais_bot.adapters.content_files import build_bot
from relais_bot.domain.policy import BotState
from relais_contracts import topics
from relais_contracts.conversation import CustomerMessage, CustomerMessageData
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

OUT = Path(".local/bench/bot.json")
# A routine conversation: small talk and three different questions, so nothing hands over and every
# message gets exactly one reply.
TURNS = (
    "bonjour",
    "quels sont vos horaires d'ouverture ?",
    "what is your phone number",
    "wie kann ich etwas zurücksenden",
    "merci beaucoup",
)
# What an attacker sends: the longest message the detectors read (2,500 characters) made of what
# regular expressions backtrack on: runs of punctuation, whitespace, emoji, one-letter words, and a
# long letter. Each is the first message of a new conversation.
HOSTILE = (
    "." * 2500,
    "a" + " " * 2498 + "b",
    "0" + "!" * 2499,
    "🙃" * 2500,
    "a." * 1250,
    "press 0 " * 312,
    ("Dear team, I wrote to you before. M. Dupont said he would call me back. " * 40)[:2500],
)
HOSTILE_ROUNDS = 50
CORE_CONVERSATIONS = 1000
KAFKA_CONVERSATIONS = 1000
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def message(conversation: str, n: int, text: str) -> CustomerMessage:
    mid = f"{conversation}-{n}"
    return CustomerMessage(
        id=mid, source="bench", time=T0 + timedelta(seconds=n), tenant="acme", subject=conversation,
        data=CustomerMessageData(
            message_id=mid, channel="webchat", address=conversation, text=text, external_id=mid
        ),
    )  # fmt: skip


def core() -> dict[str, Any]:
    bot = build_bot()
    latencies: list[float] = []
    started = time.perf_counter()
    for c in range(CORE_CONVERSATIONS):
        state = BotState()
        for n, text in enumerate(TURNS):
            t = time.perf_counter()
            state = bot.decide(state, message(f"c{c}", n, text)).state
            latencies.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    return _stats("core (Bot.decide, one thread)", len(latencies), elapsed, latencies)


def hostile() -> dict[str, Any]:
    bot = build_bot()
    latencies: list[float] = []
    started = time.perf_counter()
    for r in range(HOSTILE_ROUNDS):
        for n, text in enumerate(HOSTILE):
            t = time.perf_counter()
            bot.decide(BotState(), message(f"h{r}-{n}", 0, text))
            latencies.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    return _stats("hostile messages (Bot.decide, 2,500 chars)", len(latencies), elapsed, latencies)


async def through_kafka(infra: Infra, tmp_path: Path) -> dict[str, Any]:
    namespace = f"b{uuid.uuid4().hex[:8]}."
    await create_topics(infra, namespace)
    messages = [message(f"k{c}", n, text) for c in range(KAFKA_CONVERSATIONS) for n, text in enumerate(TURNS)]
    async with RawPublisher(infra, namespace) as publisher:
        for event in messages:  # written before the bot starts: it meets a full backlog
            await publisher.event(topics.CONVERSATIONS, event.subject, event)
    async with TopicReader(infra, namespace, [topics.CONVERSATIONS]) as reader:
        bot = ServiceProcess("relais_bot", service_env(infra, namespace), tmp_path).start()
        try:
            await bot.wait_ready()

            def replies() -> list[Any]:
                return [
                    r for r in reader.records
                    if b"relais.conversation.reply.posted" in (r.value or b"")
                ]  # fmt: skip

            await poll(lambda: len(replies()) >= len(messages), timeout=600, what="a reply to every message")
            assert bot.proc is not None
            memory = _memory_mb(bot.proc.pid)
        finally:
            bot.terminate()
        stamps = sorted(r.timestamp for r in replies())  # broker-side append times of the bot's replies
    elapsed = (stamps[-1] - stamps[0]) / 1000
    return _stats("Kafka -> bot -> Redis + Kafka (one process)", len(messages), elapsed, None) | memory


def _memory_mb(pid: int) -> dict[str, float]:
    """The bot process's resident memory now and at its peak (Linux /proc), after the whole backlog."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {
        "rss_mb": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
        "peak_rss_mb": round(int(fields["VmHWM"].split()[0]) / 1024, 1),
    }


def _stats(name: str, count: int, elapsed: float, latencies: list[float] | None) -> dict[str, Any]:
    result: dict[str, Any] = {"path": name, "messages": count, "seconds": round(elapsed, 3)}
    result["messages_per_s"] = round(count / elapsed, 1) if elapsed else None
    if latencies:
        ordered = sorted(latencies)
        result["p50_ms"] = round(1000 * statistics.median(ordered), 3)
        result["p99_ms"] = round(1000 * ordered[int(0.99 * (len(ordered) - 1))], 3)
    return result


async def test_bench_bot(infra: Infra, tmp_path: Path) -> None:
    results = [core(), hostile(), await through_kafka(infra, tmp_path)]
    print(f"\n{'path':<46}{'messages':>9}{'seconds':>9}{'msg/s':>9}{'p50 ms':>8}{'p99 ms':>8}")
    for r in results:
        print(
            f"{r['path']:<46}{r['messages']:>9}{r['seconds']:>9}{r['messages_per_s']:>9}"
            f"{r.get('p50_ms', '-'):>8}{r.get('p99_ms', '-'):>8}"
        )
    kafka = results[-1]
    print(f"bot process memory: {kafka['rss_mb']} MB resident, {kafka['peak_rss_mb']} MB at its peak")
    _write(results)


def _write(results: list[dict[str, Any]]) -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    machine = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    OUT.write_text(json.dumps({"machine": machine, "results": results}, indent=2) + "\n")
    print(f"written to {OUT}")

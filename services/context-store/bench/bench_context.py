"""`make bench-context`: how fast the context store materializes the conversation log into Redis, and how
fast it serves a 200-message conversation. Real Kafka and Redis (started like the tests' when
KAFKA_BOOTSTRAP_SERVERS / REDIS_URL are not set). Prints a table and writes .local/bench/context-store.json.

Materialization: the log is filled first (conversations of 20 events: opened, customer messages, bot
replies that are delivered on the outbound topic), then the store's real consumer loop reads it; the rate
counts from the first batch handled to the last. Once plain, once with every customer text sealed.
Reads: GET /v1/conversations/{id} of a 200-message conversation through the FastAPI app (in process, so
no socket), and the Redis read underneath it alone.
"""

import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from cryptography.fernet import Fernet

from relais_context_store.adapters.conversation_log import ConversationLog
from relais_context_store.adapters.customer_directory import CustomerDirectory
from relais_context_store.adapters.view_keys import ViewKeys
from relais_context_store.adapters.view_queries import ViewQueries
from relais_context_store.app import create_app
from relais_context_store.consumers import ConversationLogHandler
from relais_context_store.service_layer.store_lock import StoreLock
from relais_context_store.settings import ContextStoreSettings
from relais_contracts import CloudEvent, topics
from relais_contracts.conversation import (
    CustomerMessage,
    CustomerMessageData,
    Opened,
    OpenedData,
    ReplyAuthor,
    ReplyData,
    ReplyPosted,
)
from relais_platform.consumer import Delivery
from relais_platform.kafka import CONTENT_TYPE_HEADER
from relais_platform.runtime import Runtime
from relais_platform.sealing import CustomerKeys, key_id, seal
from relais_platform.testing import (
    Infra,
    api_callers_json,
    api_headers,
    create_topics,
    new_namespace,
    open_infra,
)

REPO = Path(__file__).resolve().parents[3]
CONVERSATIONS = int(os.environ.get("BENCH_CONVERSATIONS", "1000"))
EVENTS_PER_CONVERSATION = 20
READS = int(os.environ.get("BENCH_READS", "1000"))
TARGET_RATE = 5000.0
TARGET_P99_MS = 10.0
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def conversation_events(n: int, keys: dict[str, Fernet] | None, messages: int) -> list[CloudEvent]:
    """One conversation: opened, then customer messages with a bot reply after every third."""
    cid, customer = f"bench-conv-{n}", f"bench-customer-{n}"
    at = T0 + timedelta(seconds=n)
    out: list[CloudEvent] = [
        Opened(
            id=str(uuid.uuid4()),
            source="bench",
            time=at,
            tenant="acme",
            subject=cid,
            data=OpenedData(channel="webchat", address=f"visitor-{n}", customer_id=customer),
        )
    ]
    for i in range(messages - 1):
        at += timedelta(seconds=5)
        if i % 3 == 2:
            data: Any = ReplyData(
                message_id=str(uuid.uuid4()),
                author=ReplyAuthor(kind="bot", name="Relais"),
                text=f"Answer {i}: here is what I found for your order.",
            )
            out.append(
                ReplyPosted(
                    id=str(uuid.uuid4()), source="bench", time=at, tenant="acme", subject=cid, data=data
                )
            )
            continue
        text = f"Message {i}: my parcel has not arrived, order 1234567890123, please check"
        sealed = {}
        if keys is not None:
            kid = key_id("acme", customer)
            sealed = {"text": "", "text_sealed": seal(keys[kid], text, "Camille"), "key_id": kid}
        data = CustomerMessageData(
            message_id=str(uuid.uuid4()),
            channel="webchat",
            address=f"visitor-{n}",
            customer_name="Camille",
            text=text,
            external_id=str(uuid.uuid4()),
        ).model_copy(update=sealed)
        out.append(
            CustomerMessage(
                id=str(uuid.uuid4()), source="bench", time=at, tenant="acme", subject=cid, data=data
            )
        )
    return out


async def fill_log(infra: Infra, namespace: str, events: Sequence[CloudEvent]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap, acks="all", linger_ms=20)
    await producer.start()
    try:
        sent = [
            await producer.send(
                f"{namespace}{topics.CONVERSATIONS}",
                e.to_json(),
                key=(e.subject or "").encode(),
                headers=[CONTENT_TYPE_HEADER],
            )
            for e in events
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def materialize(infra: Infra, sealed: bool) -> dict[str, Any]:
    namespace = new_namespace()
    await create_topics(infra, namespace)
    settings = ContextStoreSettings(
        namespace=namespace,
        kafka_bootstrap_servers=infra.bootstrap,
        redis_url=infra.redis_url,
        kafka_default_partitions=3,
    )
    runtime = Runtime(settings, "context-store")
    store = CustomerKeys(runtime.redis, settings)
    keys = (
        await store.ensure("acme", [f"bench-customer-{n}" for n in range(CONVERSATIONS)]) if sealed else None
    )
    events = [e for n in range(CONVERSATIONS) for e in conversation_events(n, keys, EVENTS_PER_CONVERSATION)]
    await fill_log(infra, namespace, events)

    handler = ConversationLogHandler(*_views(runtime, settings), store, runtime.publisher, StoreLock())
    handled = 0
    first: float | None = None
    last = 0.0
    done = asyncio.Event()

    async def timed(batch: Sequence[Delivery]) -> None:
        nonlocal handled, first, last
        first = first or time.perf_counter()
        await handler(batch)
        handled += len(batch)
        last = time.perf_counter()
        if handled >= len(events):
            done.set()

    runtime.consume("log", [topics.CONVERSATIONS], timed)
    async with runtime.running():
        await asyncio.wait_for(done.wait(), timeout=600)
    assert first is not None
    seconds = last - first
    return {"events": len(events), "seconds": round(seconds, 3), "events_per_s": round(len(events) / seconds)}


def _views(runtime: Runtime, settings: ContextStoreSettings) -> tuple[ConversationLog, CustomerDirectory]:
    directory = CustomerDirectory(runtime.redis, ViewKeys(settings))
    return ConversationLog(runtime.redis, ViewKeys(settings), directory), directory


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] if len(samples) > 1 else samples[0]


async def reads(infra: Infra) -> dict[str, Any]:
    namespace = new_namespace()
    await create_topics(infra, namespace)
    settings = ContextStoreSettings(
        namespace=namespace,
        kafka_bootstrap_servers=infra.bootstrap,
        redis_url=infra.redis_url,
        api_callers=json.loads(api_callers_json()),  # the reads are measured as the gateway makes them
    )
    runtime = Runtime(settings, "context-store")
    handler = ConversationLogHandler(
        *_views(runtime, settings),
        CustomerKeys(runtime.redis, settings),
        runtime.publisher,
        StoreLock(),
    )
    events = conversation_events(0, None, 300)
    customer_messages = [e for e in events if isinstance(e, CustomerMessage)][:200]
    replies = [e for e in events if isinstance(e, ReplyPosted)]
    await runtime.publisher.start()
    try:
        chosen = [events[0], *customer_messages, *replies[: 200 - len(customer_messages)]]
        chosen.sort(key=lambda e: e.time)
        deliveries = [Delivery(e, topics.CONVERSATIONS, 0, i, None) for i, e in enumerate(chosen)]  # type: ignore[arg-type]
        await handler(deliveries)
    finally:
        await runtime.publisher.stop()
    app = create_app(settings)  # not started: the read path needs Redis only
    views: ViewQueries = app.state.queries
    api_ms, redis_ms = [], []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://store") as client:
        response = await client.get("/v1/conversations/bench-conv-0", headers=api_headers("acme"))
        messages = sum(e["kind"] == "message" for e in response.json()["timeline"])
        for _ in range(READS):
            started = time.perf_counter()
            response = await client.get("/v1/conversations/bench-conv-0", headers=api_headers("acme"))
            api_ms.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        for _ in range(READS):
            started = time.perf_counter()
            await views.conversation_json("acme", "bench-conv-0")
            redis_ms.append((time.perf_counter() - started) * 1000)
    await app.state.runtime.redis.aclose()
    await runtime.redis.aclose()
    return {
        "messages": messages,
        "reads": READS,
        "api_p50_ms": round(percentile(api_ms, 50), 3),
        "api_p99_ms": round(percentile(api_ms, 99), 3),
        "redis_p50_ms": round(percentile(redis_ms, 50), 3),
        "redis_p99_ms": round(percentile(redis_ms, 99), 3),
    }


async def run(infra: Infra) -> dict[str, Any]:
    plain = await materialize(infra, sealed=False)
    sealed = await materialize(infra, sealed=True)
    read = await reads(infra)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        # The load average matters: this machine may be shared with other brokers and test runs.
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "load_1m": os.getloadavg()[0]},
        "materialize": plain,
        "materialize_sealed": sealed,
        "read_200_messages": read,
        "targets": {"events_per_s": TARGET_RATE, "read_p99_ms": TARGET_P99_MS},
        "meets_targets": plain["events_per_s"] >= TARGET_RATE and read["api_p99_ms"] < TARGET_P99_MS,
    }


def table(result: dict[str, Any]) -> str:
    m, s, r = result["materialize"], result["materialize_sealed"], result["read_200_messages"]
    rows = [
        (
            "materialized events/s (plain)",
            f"{m['events_per_s']:,}",
            f">= {TARGET_RATE:,.0f}",
            f"{m['events']} events in {m['seconds']} s",
        ),
        (
            "materialized events/s (sealed)",
            f"{s['events_per_s']:,}",
            "",
            f"{s['events']} events in {s['seconds']} s",
        ),
        (
            "read p50, API (ms)",
            f"{r['api_p50_ms']}",
            "",
            f"{r['messages']}-message conversation, {r['reads']} reads",
        ),
        ("read p99, API (ms)", f"{r['api_p99_ms']}", f"< {TARGET_P99_MS}", ""),
        ("read p50, Redis only (ms)", f"{r['redis_p50_ms']}", "", ""),
        ("read p99, Redis only (ms)", f"{r['redis_p99_ms']}", "", ""),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    load = f"(load average {result['machine']['load_1m']:.1f} on {result['machine']['cpus']} CPUs)"
    return "\n".join([f"context-store benchmark {load}", *lines, f"meets targets: {result['meets_targets']}"])


def main() -> None:
    with ExitStack() as stack:
        infra = open_infra(REPO, stack)
        result = asyncio.run(run(infra))
    out = REPO / ".local" / "bench" / "context-store.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()

"""Web chat benchmark: widget sockets held by one channels process on a real broker and Redis, what
they cost it, and how fast messages cross while they are all open.

- open: `--sockets` visitors connect (each gets its welcome and signed token); the time it took, the
  service's resident memory before and after (per socket), its CPU;
- out: `--replies` bot replies published on relais.outbound.v1 to random visitors; latency from the
  publish to the frame in the visitor's socket (the consumer, Redis, the Pub/Sub notice, the push);
- in: `--messages` visitor messages, each timed from the send to its ack (Kafka acknowledged, acks=all).

    make bench-webchat                      # prints a table and writes .local/bench/webchat.json
    uv run python bench/webchat.py --sockets 5000
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import websockets

from relais_contracts import topics
from relais_contracts.channel import MessageSend
from relais_platform.testing import (
    RawPublisher,
    ServiceProcess,
    cpu_seconds,
    create_topics,
    new_namespace,
    open_infra,
    poll,
    rss_mib,
    service_env,
)

REPO = Path(__file__).resolve().parents[1]
SECRET = "bench-widget-secret-0123456789abcdef"  # noqa: S105 -- the bench's own integrator


def quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"n": len(ordered), "p50_ms": at(0.5), "p95_ms": at(0.95), "p99_ms": at(0.99), "max_ms": at(1.0)}


class Visitor:
    """One widget's socket; `arrived` maps a text to when its frame came."""

    def __init__(self, ws: Any, token: str) -> None:
        self.ws = ws
        self.address = token.split(".")[0]
        self.arrived: dict[str, float] = {}
        self.acks: dict[str, float] = {}
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            frame = json.loads(raw)
            now = time.perf_counter()
            if frame["type"] == "entry" and "text" in frame:
                self.arrived[frame["text"]] = now
            elif frame["type"] == "ack":
                self.acks[frame["client_id"]] = now


async def connect(url: str) -> Visitor:
    ws = await websockets.connect(url, ping_interval=None, open_timeout=60)
    welcome = json.loads(await ws.recv())
    return Visitor(ws, welcome["token"])


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with ExitStack() as stack:
        infra = open_infra(REPO, stack)
        namespace = new_namespace()
        await create_topics(infra, namespace)
        integrators = [
            {"id": "bench-web", "tenant": "bench", "channels": ["webchat"], "secret": SECRET, "widget": True}
        ]
        env = service_env(
            infra,
            namespace,
            RELAIS_INTEGRATORS=json.dumps(integrators),
            RELAIS_LOG_LEVEL="WARNING",
            RELAIS_WEBCHAT_SOCKETS_PER_IP=str(args.sockets + 10),
            RELAIS_WEBCHAT_MESSAGES_PER_MINUTE="1000",
        )
        log_dir = REPO / ".local" / "bench" / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        proc = ServiceProcess("relais_channels", env, log_dir, "channels-webchat").start()
        visitors: list[Visitor] = []
        try:
            await proc.wait_ready()
            assert proc.proc is not None
            pid = proc.proc.pid
            url = proc.url.replace("http", "ws", 1) + "/chat/ws?integrator=bench-web"
            rss0, cpu0 = rss_mib(pid), cpu_seconds(pid)
            started = time.perf_counter()
            for start in range(0, args.sockets, 100):  # a hundred handshakes at a time
                batch = min(100, args.sockets - start)
                visitors += await asyncio.gather(*(connect(url) for _ in range(batch)))
            opened_s = time.perf_counter() - started
            await asyncio.sleep(2)  # settle: the memory of sockets held, not of handshakes under way
            rss1, cpu1 = rss_mib(pid), cpu_seconds(pid)
            held = {
                "sockets": len(visitors),
                "open_seconds": round(opened_s, 2),
                "handshakes_per_s": round(len(visitors) / opened_s, 1),
                "service_rss_mib_before": round(rss0, 1),
                "service_rss_mib_after": round(rss1, 1),
                "kib_per_socket": round((rss1 - rss0) * 1024 / len(visitors), 1),
                "service_cpu_s_opening": round(cpu1 - cpu0, 2),
            }

            # Out: bot replies to random visitors, at a steady rate.
            async with RawPublisher(infra, namespace) as relais:
                sent: dict[str, tuple[Visitor, float]] = {}
                for n in range(args.replies):
                    visitor = random.choice(visitors)
                    text = f"reply {n} {uuid.uuid4().hex[:6]}"
                    event = MessageSend.model_validate(
                        {
                            "id": str(uuid.uuid4()), "source": "bench", "time": datetime.now(UTC),
                            "tenant": "bench", "subject": f"conv-{visitor.address}",
                            "data": {
                                "channel": "webchat", "to": {"address": visitor.address}, "text": text,
                                "message_id": f"m-{n}-{uuid.uuid4().hex[:6]}",
                                "author": {"kind": "bot", "name": "Relais"},
                            },
                        }
                    )  # fmt: skip
                    sent[text] = (visitor, time.perf_counter())
                    await relais.event(
                        topics.OUTBOUND, topics.inbound_key("bench", "webchat", visitor.address), event
                    )
                    await asyncio.sleep(1 / args.reply_rate)
                with contextlib.suppress(AssertionError):  # what never came is counted as missing
                    await poll(lambda: all(t in v.arrived for t, (v, _) in sent.items()), timeout=30)
            out_latency = [v.arrived[t] - at for t, (v, at) in sent.items() if t in v.arrived]

            # In: visitor messages, each timed to its ack.
            sends: dict[str, tuple[Visitor, float]] = {}
            for n in range(args.messages):
                visitor = random.choice(visitors)
                client_id = f"b{n}"
                sends[client_id] = (visitor, time.perf_counter())
                await visitor.ws.send(
                    json.dumps({"type": "message", "text": f"hello {n}", "client_id": client_id})
                )
                await asyncio.sleep(1 / args.message_rate)
            with contextlib.suppress(AssertionError):
                await poll(lambda: all(c in v.acks for c, (v, _) in sends.items()), timeout=30)
            in_latency = [v.acks[c] - at for c, (v, at) in sends.items() if c in v.acks]
            held["service_rss_mib_end"] = round(rss_mib(pid), 1)
        finally:
            for visitor in visitors:
                visitor.task.cancel()
            await asyncio.gather(*(v.ws.close() for v in visitors), return_exceptions=True)
            proc.terminate()
    return {
        "held": held,
        "out_publish_to_frame": {**quantiles(out_latency), "sent": len(sent), "rate_per_s": args.reply_rate},
        "in_send_to_ack": {**quantiles(in_latency), "sent": len(sends), "rate_per_s": args.message_rate},
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sockets", type=int, default=2000, help="widget sockets to open and hold")
    parser.add_argument("--replies", type=int, default=500, help="bot replies to random visitors")
    parser.add_argument("--reply-rate", type=float, default=100.0, help="replies per second")
    parser.add_argument("--messages", type=int, default=500, help="visitor messages from random sockets")
    parser.add_argument("--message-rate", type=float, default=100.0, help="visitor messages per second")
    parser.add_argument("--out", default=str(REPO / ".local" / "bench" / "webchat.json"))
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    results = asyncio.run(run(args))
    results["machine"] = {"cpus": os.cpu_count(), "load_1m": [load_before, os.getloadavg()[0]]}

    held = results["held"]
    print("\nWeb chat: widget sockets held by one channels process (real Kafka and Redis)")
    print(
        f"  sockets held: {held['sockets']} (opened in {held['open_seconds']} s, "
        f"{held['handshakes_per_s']} handshakes/s); service RSS {held['service_rss_mib_before']} -> "
        f"{held['service_rss_mib_after']} MiB, {held['kib_per_socket']} KiB a socket"
    )
    for name, label in (("out_publish_to_frame", "reply: outbound publish -> frame"),
                        ("in_send_to_ack", "visitor: send -> ack (acks=all)")):  # fmt: skip
        r = results[name]
        print(
            f"  {label:<34} n={r['n']}/{r['sent']} at {r['rate_per_s']:g}/s  p50 {r['p50_ms']} ms  "
            f"p95 {r['p95_ms']} ms  p99 {r['p99_ms']} ms  max {r['max_ms']} ms"
        )
    m = results["machine"]
    print(f"  machine: {m['cpus']} CPUs, load average {load_before:.1f} before, {m['load_1m'][1]:.1f} after")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

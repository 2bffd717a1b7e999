"""Effectively-once materialization: a run killed mid-stream and restarted, then a rebuild from the log
(admin endpoint, then the command), all end with views identical to an uninterrupted run."""

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from relais_contracts import derive_key, event_uid, topics
from relais_contracts.conversation import CustomerMessage
from relais_platform.testing import (
    Infra,
    RawPublisher,
    ServiceProcess,
    TopicReader,
    new_namespace,
    poll,
    service_env,
)

from .conftest import ADMIN_TOKEN, Launch, channel_message, differences, get, log_event, redis_dump

pytestmark = pytest.mark.integration

CUSTOMERS = 4
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
SEAL = {"RELAIS_SEAL_TENANTS": '["acme"]'}


def _id(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, parts))))


def phase_one() -> list[tuple[str, dict[str, Any]]]:
    """Each customer writes four messages on web chat (one key each, so their order is the log's)."""
    out = []
    for n in range(4):
        for c in range(CUSTOMERS):
            text = f"customer {c} message {n}" + (" carte 4111-1111-1111-1111 cvv 123" if n == 2 else "")
            out.append(
                (
                    f"acme:webchat:visitor-{c}",
                    channel_message(
                        text,
                        "webchat",
                        f"visitor-{c}",
                        name=f"Customer {c}",
                        event_id=_id("p1", c, n),
                        identity={"email": f"c{c}@example.com", "verified": True},
                        at=T0 + timedelta(seconds=10 * n + c),
                    ),
                )
            )
    return out


def conversation(c: int) -> str:
    # Derived from the opening message's (source, id), as the context store derives it.
    return derive_key("acme", "conversation", event_uid("test/webchat", _id("p1", c, 0)))


async def phase_two(channel: RawPublisher, store: ServiceProcess) -> None:
    """A reply, a switch to email, a delivery report per customer: each step awaited, as their order
    on the log is the order of the inputs."""

    async def entries(c: int) -> list[dict[str, Any]]:
        response = await get(store, f"/v1/conversations/{conversation(c)}/timeline")
        return response.json() if response.status_code == 200 else []  # type: ignore[no-any-return]

    async def messages(c: int, count: int) -> None:
        async def enough() -> bool:
            return sum(e["kind"] == "message" for e in await entries(c)) >= count

        await poll(enough, timeout=60, what=f"{count} messages of customer {c}")

    for c in range(CUSTOMERS):
        cid = conversation(c)
        await channel.event(
            topics.CONVERSATIONS,
            cid,
            log_event(
                "relais.conversation.reply.posted",
                cid,
                event_id=_id("reply", c),
                at=T0 + timedelta(seconds=50),
                data={
                    "message_id": f"bot-{c}",
                    "author": {"kind": "bot", "name": "Relais"},
                    "text": f"Hello {c}",
                },
            ),
        )
        await messages(c, 5)
        await channel.event(
            topics.INBOUND,
            f"acme:email:c{c}@example.com",
            channel_message(
                f"customer {c} by email",
                "email",
                f"c{c}@example.com",
                name=f"Customer {c}",
                event_id=_id("p2", c),
                at=T0 + timedelta(minutes=1, seconds=c),
            ),
        )
        await messages(c, 6)
        await channel.event(
            topics.INBOUND,
            f"acme:email:c{c}@example.com",
            {
                "specversion": "1.0",
                "id": _id("dlv", c),
                "source": "test/email",
                "type": "relais.channel.delivery.updated",
                "time": (T0 + timedelta(minutes=2)).isoformat(),
                "tenant": "acme",
                "data": {"message_id": f"bot-{c}", "status": "delivered"},
            },
        )

    async def reported() -> bool:
        return all([any("delivery" in e for e in await entries(c)) for c in range(CUSTOMERS)])

    await poll(reported, timeout=60, what="every delivery report in the views")


async def phase_one_logged(infra: Infra, namespace: str) -> None:
    """Every message of phase one is on the log (before replies are added to the same conversations)."""
    async with TopicReader(infra, namespace, [topics.CONVERSATIONS]) as log:
        await poll(
            lambda: (
                len(
                    {e.id for e in log.events(topics.CONVERSATIONS, lambda e: isinstance(e, CustomerMessage))}
                )
                == 4 * CUSTOMERS
            ),
            timeout=60,
            what="every message of phase one on the log",
        )


async def test_kill_and_restart_mid_stream_then_rebuilds_give_the_views_of_an_uninterrupted_run(
    infra: Infra, namespace: str, launch: Launch
) -> None:
    # The reference: one uninterrupted run.
    reference = await launch(**SEAL)
    async with RawPublisher(infra, namespace) as channel:
        for key, event in phase_one():
            await channel.event(topics.INBOUND, key, event)
        await phase_one_logged(infra, namespace)
        await phase_two(channel, reference)
    expected = await redis_dump(infra, namespace)
    assert len(expected) > 20

    # The same stream in another namespace, the store killed (SIGKILL) after its third batch was
    # written and before its offsets were committed, then restarted.
    crashed_ns = new_namespace()
    victim = await launch(
        crashed_ns, RELAIS_FAULT_KILL_BEFORE_COMMIT="3", RELAIS_CONSUMER_BATCH_MAX="3", **SEAL
    )
    async with RawPublisher(infra, crashed_ns) as channel:
        for key, event in phase_one():
            await channel.event(topics.INBOUND, key, event)
        await poll(
            lambda: victim.proc is not None and victim.proc.poll() is not None, what="the store killed"
        )
        assert victim.proc is not None
        assert victim.proc.returncode == -9
        survivor = await launch(crashed_ns, **SEAL)
        await phase_one_logged(infra, crashed_ns)
        await phase_two(channel, survivor)
    assert not differences(await redis_dump(infra, crashed_ns), expected)

    # A rebuild through the admin endpoint: everything wiped and replayed, the same views again.
    async with httpx.AsyncClient(base_url=survivor.url, timeout=60) as client:
        assert (await client.post("/v1/admin/rebuild")).status_code == 401
        response = await client.post("/v1/admin/rebuild", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.json()["events_replayed"] > 0, response.json()
    assert not differences(await redis_dump(infra, crashed_ns), expected)

    # The command, with the service stopped.
    survivor.terminate()
    env = {**os.environ, **service_env(infra, crashed_ns, **SEAL)}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "relais_context_store", "rebuild"],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert not differences(await redis_dump(infra, crashed_ns), expected)

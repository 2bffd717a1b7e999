"""Fixtures of the context store's integration tests: the service as a real process on real Kafka and
Redis, channel events as an integrator writes them, and a dump of the store's Redis state."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from relais_platform import testing
from relais_platform.testing import Infra, ServiceProcess, api_headers, create_topics, service_env

# The admin shorthand (RELAIS_ADMIN_TOKEN) these tests erase and rebuild with; reads go as the gateway.
ADMIN_TOKEN = "test-admin-token-0123456789"
Launch = Callable[..., Awaitable[ServiceProcess]]


@pytest.fixture
async def launch(infra: Infra, namespace: str, tmp_path: Path) -> AsyncIterator[Launch]:
    """Start the context store (again) in this test's namespace; every process is stopped at the end."""
    await create_topics(infra, namespace)
    started: list[ServiceProcess] = []

    async def start(ns: str | None = None, wait: bool = True, **env: str) -> ServiceProcess:
        if ns is not None and ns != namespace:
            await create_topics(infra, ns)
        # No bot runs in these tests: the watchdog that hands unanswered customers to a person would
        # act on the wall clock and make runs differ (it has its own end-to-end test).
        env = {"RELAIS_BOT_SILENCE_TIMEOUT_S": "0", **env}
        proc = ServiceProcess(
            "relais_context_store",
            service_env(infra, ns or namespace, RELAIS_ADMIN_TOKEN=ADMIN_TOKEN, **env),
            tmp_path,
            "context-store",
        ).start()
        started.append(proc)
        if wait:
            await proc.wait_ready()
        return proc

    yield start
    for proc in started:
        if proc.proc and proc.proc.poll() is None:
            proc.terminate()


def channel_message(
    text: str,
    channel: str,
    address: str,
    *,
    tenant: str = "acme",
    name: str = "Camille",
    identity: dict[str, Any] | None = None,
    event_id: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """A `relais.channel.message.received` as an integrator publishes it."""
    event_id = event_id or str(uuid.uuid4())
    data: dict[str, Any] = {
        "channel": channel,
        "from": {"address": address, "name": name},
        "text": text,
        "external_id": f"ext-{event_id}",
    }
    if identity:
        data["identity"] = identity
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": f"test/{channel}",
        "type": "relais.channel.message.received",
        "time": (at or datetime.now(UTC)).isoformat(),
        "tenant": tenant,
        "data": data,
    }


def log_event(
    kind: str,
    conversation_id: str,
    data: dict[str, Any],
    *,
    event_id: str | None = None,
    tenant: str = "acme",
    source: str = "test/agent-gateway",
    at: datetime | None = None,
) -> dict[str, Any]:
    """An event another service writes on the conversation log (a reply, a queueing)."""
    return {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": source,
        "type": kind,
        "time": (at or datetime.now(UTC)).isoformat(),
        "tenant": tenant,
        "subject": conversation_id,
        "data": data,
    }


async def redis_dump(infra: Infra, namespace: str, prefix: str = "relais:cs:") -> dict[str, Any]:
    """Every view key of a namespace with its value, comparable across namespaces (offsets left out:
    a crashed run re-publishes duplicates, so its log is longer, while the views must be the same)."""
    return await testing.redis_dump(infra, namespace, prefix, skip=(f"{prefix}offset:",))


async def get(proc: ServiceProcess, path: str, tenant: str = "acme", **params: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=proc.url, timeout=10) as client:
        return await client.get(path, headers=api_headers(tenant), params=params)


def differences(actual: dict[str, Any], expected: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Keys whose values differ (or exist on one side only), for a readable assertion message."""
    return {
        k: (actual.get(k), expected.get(k))
        for k in sorted(set(actual) | set(expected))
        if actual.get(k) != expected.get(k)
    }

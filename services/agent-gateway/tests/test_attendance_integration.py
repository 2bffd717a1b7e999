"""An agent whose last desk closed, on any replica, or whose replica died, is set offline after the grace;
a reload within the grace changes nothing."""

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from relais_contracts import Event, topics
from relais_contracts.routing import PresenceChanged
from relais_platform.testing import (
    Infra,
    ServiceProcess,
    TopicReader,
    create_topics,
    desk_socket,
    service_env,
)
from tests.e2e.system import AgentSocket

pytestmark = pytest.mark.integration

DESK = {"RELAIS_ENV": "dev", "RELAIS_DESK_GRACE_S": "1", "RELAIS_DESK_HEARTBEAT_S": "0.5"}


def offline(agent_id: str) -> Callable[[Event], bool]:
    return lambda e: (
        isinstance(e, PresenceChanged) and e.data.agent_id == agent_id and e.data.presence == "offline"
    )


async def open_desk(gateway: ServiceProcess, http: httpx.AsyncClient, agent_id: str) -> AgentSocket:
    login = await http.post(
        f"{gateway.url}/v1/dev/login", json={"tenant": "acme", "agent_id": agent_id, "name": agent_id}
    )
    desk = AgentSocket(await desk_socket(gateway.url, login.json()["token"]))
    await desk.expect("ready")
    return desk


async def test_agents_without_a_desk_are_set_offline(infra: Infra, namespace: str, tmp_path: Path) -> None:
    await create_topics(infra, namespace)
    env = service_env(infra, namespace, **DESK)
    one = ServiceProcess("relais_agent_gateway", env, tmp_path, name="gateway-1").start()
    two = ServiceProcess("relais_agent_gateway", env, tmp_path, name="gateway-2").start()
    try:
        await one.wait_ready()
        await two.wait_ready()
        async with TopicReader(infra, namespace, [topics.ROUTING]) as log, httpx.AsyncClient() as http:
            alice = await open_desk(one, http, "alice")
            await alice.ws.close()
            gone = await log.wait_event(topics.ROUTING, offline("alice"), what="alice offline")
            assert gone.tenant == "acme"

            # Bob reloads his desk: closed, and opened again on the other replica within the grace.
            bob = await open_desk(one, http, "bob")
            await bob.ws.close()
            bob = await open_desk(two, http, "bob")
            # Carol leaves after Bob's reload: once she is offline, Bob's grace has long run out.
            carol = await open_desk(one, http, "carol")
            await carol.ws.close()
            await log.wait_event(topics.ROUTING, offline("carol"), what="carol offline")
            assert not log.events(topics.ROUTING, offline("bob"))

            # Desks closed right after `ready`, ten times: every session ends, so Erin has no desk left.
            for _ in range(10):
                erin = await open_desk(one, http, "erin")
                await erin.ws.close()
            await log.wait_event(topics.ROUTING, offline("erin"), what="erin offline")

            # Dave's replica dies: the other one notices his socket going stale and sets him offline.
            dave = await open_desk(two, http, "dave")
            two.kill()
            await log.wait_event(topics.ROUTING, offline("dave"), what="dave offline", timeout=60)
            assert len(log.events(topics.ROUTING, offline("alice"))) == 1  # said once, by one replica
            await dave.ws.close()
            await bob.ws.close()
    finally:
        one.terminate()
        two.terminate()

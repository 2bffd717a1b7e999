"""A human is always reachable: with the bot down, a customer's message still reaches an agent, with
its history, once the bot has been silent past the deadline."""

from pathlib import Path

import httpx
import pytest

from relais_contracts import topics
from relais_platform.testing import Infra, RawPublisher, api_headers, desk_socket
from tests.e2e.system import ADDRESS, TENANT, AgentSocket, inbound, start_system

pytestmark = pytest.mark.e2e


async def test_a_silent_bot_hands_the_customer_to_an_agent(infra: Infra, tmp_path: Path) -> None:
    watchdog = {"RELAIS_BOT_SILENCE_TIMEOUT_S": "2", "RELAIS_BOT_WATCHDOG_INTERVAL_S": "0.5"}
    system = await start_system(
        infra, tmp_path, ["context-store", "router", "agent-gateway"], **{"context-store": watchdog}
    )
    try:
        async with RawPublisher(infra, system.namespace) as channel, httpx.AsyncClient() as http:
            login = await http.post(
                f"{system.url('agent-gateway')}/v1/dev/login",
                json={"tenant": TENANT, "agent_id": "agent-9", "name": "Sam"},
            )
            token = login.json()["token"]
            async with desk_socket(system.url("agent-gateway"), token) as ws:
                agent = AgentSocket(ws)
                await agent.send({"type": "presence", "presence": "available", "ref": "p1"})
                await agent.expect("ack", ref="p1")

                # No bot runs: nobody answers the customer.
                key = topics.inbound_key(TENANT, "sms", ADDRESS)
                await channel.event(topics.INBOUND, key, inbound("my parcel never arrived", channel="sms"))
                offer = await agent.expect("offer", timeout=60)
                assert offer["packet"]["reason"] == "bot-silent"
                assert [(m["author_kind"], m["text"]) for m in offer["packet"]["transcript"]] == [
                    ("customer", "my parcel never arrived")
                ]
                assert offer["channel"] == "sms"

                conversation = offer["conversation_id"]
                view = await http.get(
                    f"{system.url('context-store')}/v1/conversations/{conversation}",
                    headers=api_headers(TENANT),
                )
                assert view.json()["state"] in ("waiting", "offered")
                assert view.json()["handoff"]["reason"] == "bot-silent"
    finally:
        system.stop()

"""`make demo` drives real traffic: its customers, through the channels service's signed ingress, reach
the bot; the ones who need a person reach its simulated agents, who accept and reply through the
gateway; and with a duration it stops by itself, cleanly, after printing its tally."""

import asyncio
import json
import re
import sys
from pathlib import Path

import pytest

from relais_contracts import topics
from relais_platform.testing import Infra, ServiceProcess, TopicReader, all_consumed, service_env
from tests.e2e.system import MODULES, start_system

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SECRET = "demo-test-integrator-secret-0123456789abcdef"


async def test_the_demo_reaches_the_bot_and_its_agents_and_stops_by_itself(
    infra: Infra, tmp_path: Path
) -> None:
    routing = {"RELAIS_ROUTING_CONFIG_DIR": str(REPO / "deploy/k8s/base/router/routing")}
    system = await start_system(infra, tmp_path, list(MODULES), router=routing)
    channel_names = ["webchat", "sms", "whatsapp", "email"]
    integrators = [{"id": "demo-test", "tenant": "demo", "channels": channel_names, "secret": SECRET}]
    env = service_env(infra, system.namespace, RELAIS_ENV="dev", RELAIS_INTEGRATORS=json.dumps(integrators))
    channels = ServiceProcess("relais_channels", env, tmp_path, "channels").start()
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    try:
        await channels.wait_ready()
        async with TopicReader(infra, system.namespace, [topics.CONVERSATIONS]) as log:
            demo = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "demo",
                "--rate", "60", "--duration", "25", "--pace", "0.1", "--agents", "3", "--seed", "7",
                "--tally-every", "5", "--integrator", "demo-test", "--secret-file", str(secret_file),
                "--channels-url", channels.url, "--gateway-url", system.url("agent-gateway"),
                "--bot-url", system.url("bot"),
                cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            out, _ = await asyncio.wait_for(demo.communicate(), 90)
            output = out.decode()
            assert demo.returncode == 0, output
            # Everything the demo's last messages caused is on the log before it is read.
            await all_consumed(infra, system.namespace, hops=3)
            received = log.events(topics.CONVERSATIONS, lambda e: e.type.endswith("message.received"))
            bot = log.events(
                topics.CONVERSATIONS,
                lambda e: e.type.endswith("reply.posted") and e.data.author.kind == "bot",
            )
            agent_replies = log.events(
                topics.CONVERSATIONS,
                lambda e: e.type.endswith("reply.posted") and e.data.author.kind == "agent",
            )
            assigned = log.events(topics.CONVERSATIONS, lambda e: e.type.endswith(".assigned"))
            switched = log.events(topics.CONVERSATIONS, lambda e: e.type.endswith("channel.switched"))
    finally:
        channels.terminate()
        system.stop()

    for address in ("/desk/", "/supervisor/", "http://127.0.0.1:9090"):
        assert address in output
    tallies = [line for line in output.splitlines() if "conversations started" in line]
    assert len(tallies) >= 4, output  # every 5 s over 25 s, and the final one
    final = re.search(
        r"final .*conversations started (\d+), handed over (\d+), answered by the bot (\d+)", output
    )
    assert final, output
    started, handed_over, answered = map(int, final.groups())
    assert started >= 10, output

    # The customers' messages reached the context store on several channels; the bot answered.
    assert len({e.subject for e in received}) >= 10
    assert len({e.data.channel for e in received}) >= 3
    assert bot, output
    assert answered > 0, output
    assert handed_over > 0, output
    # Customers who went on on another channel stayed in their conversation (seed 7 draws several).
    assert switched, output
    # Some conversations went to the demo's agents, who accepted them and replied on them.
    assert {e.data.agent_id for e in assigned} <= {f"demo-agent-{i}" for i in (1, 2, 3)}
    assert assigned, output
    assert {e.subject for e in agent_replies} & {e.subject for e in assigned}
    assert all(e.data.author.id and e.data.author.id.startswith("demo-agent-") for e in agent_replies)

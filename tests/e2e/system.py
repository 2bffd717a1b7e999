"""Helpers of the end-to-end tests: a whole Relais system of real processes, and the outside parties
(a channel integrator, an agent) that drive it through its public contracts only."""

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from relais_platform.testing import Infra, ServiceProcess, create_topics, new_namespace, poll, service_env

MODULES = {
    "context-store": "relais_context_store",
    "bot": "relais_bot",
    "router": "relais_router",
    "agent-gateway": "relais_agent_gateway",
}


@dataclass
class System:
    infra: Infra
    namespace: str
    log_dir: Path
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return self.services[service].url

    async def launch(self, name: str, *, wait: bool = True, **env: str) -> ServiceProcess:
        """Start one service (again), by default waiting until it is ready."""
        if name == "agent-gateway":
            # The desk reads timelines from the context store and the supervisor page the router's views.
            upstreams = {"RELAIS_CONTEXT_STORE_URL": "context-store", "RELAIS_ROUTER_URL": "router"}
            env = {var: self.url(s) for var, s in upstreams.items() if s in self.services} | env
        proc = ServiceProcess(
            MODULES[name],
            service_env(self.infra, self.namespace, RELAIS_ENV="dev", **env),
            self.log_dir,
            name,
        )
        self.services[name] = proc.start()
        if wait:
            await proc.wait_ready()
        return proc

    def stop(self) -> None:
        """Every service stopped, even when one of them will not stop (then the test fails)."""
        stuck = []
        for proc in self.services.values():
            try:
                proc.terminate()
            except AssertionError as exc:
                stuck.append(str(exc))
        assert not stuck, "\n".join(stuck)


async def start_system(infra: Infra, log_dir: Path, names: list[str], **env: dict[str, str]) -> System:
    """The named services, started through their entry points, in a new namespace.

    All start at once and are then awaited together: their imports and model loads overlap, which
    halves an end-to-end test's set-up on two cores (the gateway needs only the others' addresses).
    """
    system = System(infra, new_namespace(), log_dir)
    await create_topics(infra, system.namespace)
    started = [await system.launch(name, wait=False, **env.get(name, {})) for name in names]
    try:
        await asyncio.gather(*(proc.wait_ready() for proc in started))
    except BaseException:
        system.stop()  # no test owns them yet
        raise
    return system


TENANT = "acme"
ADDRESS = "visitor-42"


def inbound(text: str, address: str = ADDRESS, channel: str = "webchat") -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": f"test/{channel}",
        "type": "relais.channel.message.received",
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "tenant": TENANT,
        "data": {
            "channel": channel,
            "from": {"address": address, "name": "Camille"},
            "text": text,
            "external_id": str(uuid.uuid4()),
        },
    }


class AgentSocket:
    """The agent's side of the WebSocket protocol, keeping every message received."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def expect(
        self,
        kind: str | tuple[str, ...],
        timeout: float = 30.0,
        where: Callable[[dict[str, Any]], bool] = lambda m: True,
        **match: Any,
    ) -> dict[str, Any]:
        """The first message of this type (or one of these) whose top-level fields equal `match` and that
        passes `where`."""
        kinds = (kind,) if isinstance(kind, str) else kind

        def found() -> dict[str, Any] | None:
            for m in self.received:
                if m.get("type") in kinds and all(m.get(k) == v for k, v in match.items()) and where(m):
                    return m
            return None

        async def pump() -> dict[str, Any] | None:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), 0.2)
                self.received.append(json.loads(raw))
            except TimeoutError:
                pass
            return found()

        result: dict[str, Any] = await poll(pump, timeout=timeout, interval=0, what=f"agent receives {kind}")
        return result

"""The dashboard and the alerts against a real Prometheus scraping the real services: the five services are
started through their entry points against the test Kafka and Redis, Debian's Prometheus is started by
deploy/local/prometheus.sh (as `make up` does, on ports and in a directory of this test's own) to scrape
them with the alert rules loaded, and every Grafana panel query and every alert expression is evaluated
through Prometheus's HTTP API. A query Prometheus refuses, or a metric that no service's /metrics page
exposes, fails here rather than as an empty panel or an alert that never fires."""

import asyncio
import os
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from relais_contracts import topics
from relais_platform.testing import Infra, RawPublisher, ServiceProcess, create_topics, poll, service_env
from tests.deploy.queries import alert_queries, dashboard_queries, exported_series, queried_metrics
from tests.deploy.rendering import REPO, SERVICES
from tests.e2e.system import ADDRESS, TENANT, inbound

pytestmark = pytest.mark.integration

PROMETHEUS_SH = REPO / "deploy" / "local" / "prometheus.sh"
# The variables deploy/local/prometheus.sh (like services.sh) reads for each service's port.
PORT_VARIABLES = {
    "context-store": "CONTEXT_STORE_PORT",
    "bot": "BOT_PORT",
    "router": "ROUTER_PORT",
    "agent-gateway": "GATEWAY_PORT",
    "channels": "CHANNELS_PORT",
}
# What Grafana puts in the dashboard's variables before a query reaches Prometheus: "All" is `.*`.
GRAFANA_VALUES = {
    "$__rate_interval": "1m",
    "$__interval": "30s",
    "$__range": "6h",
    "$tenant": ".*",
    "$queue": ".*",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def prometheus_sh(command: str, env: dict[str, str]) -> str:
    process = await asyncio.create_subprocess_exec(
        "bash", str(PROMETHEUS_SH), command, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    assert process.returncode == 0, f"prometheus.sh {command}:\n{out.decode()}"
    return out.decode()


def as_grafana_sends(expr: str) -> str:
    for variable, value in GRAFANA_VALUES.items():
        expr = expr.replace(variable, value)
    return expr


async def test_prometheus_answers_every_dashboard_and_alert_query_on_metrics_the_services_export(
    infra: Infra, namespace: str, tmp_path: Path
) -> None:
    await create_topics(infra, namespace)
    processes = {
        service: ServiceProcess(
            "relais_" + service.replace("-", "_"),
            service_env(infra, namespace, RELAIS_ENV="dev"),
            tmp_path,
            service,
        ).start()
        for service in SERVICES
    }
    prometheus_port = free_port()
    env = {
        "RELAIS_LOCAL_DIR": str(tmp_path / "local"),
        "PROMETHEUS_PORT": str(prometheus_port),
        "PROMETHEUS_SCRAPE_INTERVAL": "1s",
        **{PORT_VARIABLES[service]: str(p.port) for service, p in processes.items()},
    }
    api = f"http://127.0.0.1:{prometheus_port}/api/v1"
    try:
        await asyncio.gather(*(p.wait_ready() for p in processes.values()))
        assert "prometheus ready at" in await prometheus_sh("start", env)
        async with httpx.AsyncClient(timeout=10) as client:

            async def get(path: str, **params: str) -> Any:
                answer = (await client.get(f"{api}/{path}", params=params)).json()
                assert answer["status"] == "success", f"{path} {params}: {answer}"
                return answer

            async def every_service_scraped() -> bool:
                targets = (await get("targets"))["data"]["activeTargets"]
                return sorted(t["labels"]["job"] for t in targets if t["health"] == "up") == sorted(SERVICES)

            await poll(every_service_scraped, timeout=30, interval=0.5, what="Prometheus scraping the four")
            # A customer greets the bot, then asks for a person: the bot, the context store and the router
            # export labelled series, so the queries run over data and not only over empty selectors.
            async with RawPublisher(infra, namespace) as channel:
                key = topics.inbound_key(TENANT, "webchat", ADDRESS)
                await channel.event(topics.INBOUND, key, inbound("Bonjour"))
                await channel.event(topics.INBOUND, key, inbound("je veux parler à un conseiller"))

            async def customer_waiting() -> bool:
                found = await get("query", query=f'relais_router_waiting{{tenant="{TENANT}"}} > 0')
                return bool(found["data"]["result"])

            await poll(customer_waiting, timeout=60, interval=0.5, what="the customer waiting, in Prometheus")
            # Two scrapes more, so that rate() over the dashboard's 1m windows has two samples to work on.
            await asyncio.sleep(2.5)

            results = {}
            for where, expr in dashboard_queries() + alert_queries():
                answer = await get("query", query=as_grafana_sends(expr))
                assert not answer.get("warnings"), f"{where}: {answer['warnings']}"
                results[where] = (answer["data"]["resultType"], len(answer["data"]["result"]))

            rules = (await get("rules", type="alert"))["data"]["groups"]
            loaded = {rule["name"] for group in rules for rule in group["rules"]}
            pages = [
                (await client.get(f"{p.url}/metrics")).raise_for_status().text for p in processes.values()
            ]
            await asyncio.sleep(2)  # a scrape after the pages were read
            scraped = set((await get("label/__name__/values"))["data"])
    finally:
        await prometheus_sh("stop", env)
        for process in processes.values():
            process.terminate()

    # The panels' queries are instant vectors (or scalars); an alert expression is a vector.
    assert {kind for kind, _ in results.values()} <= {"vector", "scalar"}, results
    with_data = {where for where, (_, count) in results.items() if count}
    assert {"panel 'Waiting' A", "variable tenant", "variable queue"} <= with_data, results
    assert loaded == {where.removeprefix("rule ") for where, _ in alert_queries()}
    # Prometheus holds what the services expose: every series their pages carry a sample of reached it.
    sampled = {s.name for page in pages for f in text_string_to_metric_families(page) for s in f.samples}
    assert sampled, "the services' pages carry no sample"
    assert sampled <= scraped, f"on the services' pages, not in Prometheus: {sorted(sampled - scraped)}"
    exported = set().union(*(exported_series(page) for page in pages))
    used = queried_metrics()
    missing = {name: sorted(where) for name, where in used.items() if name not in exported}
    assert not missing, f"read by the dashboard or the alerts, exported by no service: {missing}"

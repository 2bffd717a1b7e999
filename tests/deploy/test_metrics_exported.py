"""Every metric the Grafana dashboard and the alert rules read is one the running services export: the
four services are started through their entry points against the test Kafka and Redis, and their
/metrics pages are read. A renamed or removed metric fails here rather than as an empty panel."""

import asyncio
from pathlib import Path

import httpx
import pytest

from relais_platform.testing import Infra, ServiceProcess, create_topics, service_env
from tests.deploy.queries import exported_series, queried_metrics
from tests.deploy.rendering import SERVICES

pytestmark = pytest.mark.integration


async def test_dashboard_and_alerts_read_only_exported_metrics(
    infra: Infra, namespace: str, tmp_path: Path
) -> None:
    await create_topics(infra, namespace)
    processes = [
        ServiceProcess(
            "relais_" + service.replace("-", "_"),
            service_env(infra, namespace, RELAIS_ENV="dev"),
            tmp_path,
            service,
        ).start()
        for service in SERVICES
    ]
    try:
        await asyncio.gather(*(p.wait_ready() for p in processes))
        async with httpx.AsyncClient() as client:
            pages = [(await client.get(f"{p.url}/metrics")).raise_for_status().text for p in processes]
    finally:
        for process in processes:
            process.terminate()

    exported = set().union(*(exported_series(page) for page in pages))
    used = queried_metrics()
    missing = {name: sorted(where) for name, where in used.items() if name not in exported}
    assert not missing, f"read by the dashboard or the alerts, exported by no service: {missing}"

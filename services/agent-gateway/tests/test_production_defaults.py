"""A gateway started with the defaults is a production gateway: no dev login, no dev key, loopback only."""

from pathlib import Path

import httpx
import pytest

from relais_platform.testing import Infra, ServiceProcess, create_topics, service_env

pytestmark = pytest.mark.integration


async def test_a_default_settings_gateway_serves_no_dev_login(
    infra: Infra, namespace: str, tmp_path: Path
) -> None:
    await create_topics(infra, namespace)
    env = service_env(
        infra,
        namespace,
        RELAIS_JWT_SECRET="a-production-secret-of-forty-characters!!",
        RELAIS_DEV_LOGIN="true",  # asked for, but not a dev environment
    )
    del env["RELAIS_ENV"]
    gateway = ServiceProcess("relais_agent_gateway", env, tmp_path, "agent-gateway")
    gateway.env.pop("RELAIS_ENV", None)
    gateway.start()
    try:
        await gateway.wait_ready()
        async with httpx.AsyncClient(base_url=gateway.url) as http:
            login = {"tenant": "acme", "agent_id": "a-1", "name": "Alice"}
            assert (await http.post("/v1/dev/login", json=login)).status_code == 404
            assert (await http.get("/v1/me")).status_code == 401
    finally:
        gateway.terminate()


async def test_a_default_settings_gateway_does_not_start_with_the_dev_key(tmp_path: Path) -> None:
    gateway = ServiceProcess("relais_agent_gateway", {"RELAIS_UPSTREAM_TOKEN": "t" * 32}, tmp_path)
    for name in [n for n in gateway.env if n in ("RELAIS_ENV", "RELAIS_JWT_SECRET")]:
        del gateway.env[name]
    gateway.start()
    assert gateway.proc is not None
    assert gateway.proc.wait(timeout=60) != 0
    assert "RELAIS_JWT_SECRET is required in prod" in gateway.log_tail()

"""The router's API answers only authenticated callers, with the scope a route needs and in their own
tenant; the ops endpoints stay open for probes and Prometheus. Against the real process."""

from pathlib import Path

import httpx
import pytest

from relais_platform.testing import (
    Infra,
    ServiceProcess,
    api_headers,
    create_topics,
    poll,
    service_env,
)
from relais_router.access import ACCESS
from relais_router.app import create_app
from relais_router.settings import RouterSettings

CONFIG = "queues:\n  general: {target_answer_s: 30}\n"


@pytest.mark.integration
async def test_the_api_refuses_unknown_callers_wrong_scopes_and_other_tenants(
    infra: Infra, namespace: str, tmp_path: Path
) -> None:
    await create_topics(infra, namespace)
    config_dir = tmp_path / "routing"
    config_dir.mkdir()
    (config_dir / "acme.yaml").write_text(CONFIG)
    (config_dir / "globex.yaml").write_text(CONFIG)
    env = service_env(
        infra, namespace, RELAIS_ROUTING_CONFIG_DIR=str(config_dir), RELAIS_VIEW_INTERVAL_S="0.2"
    )
    proc = ServiceProcess("relais_router", env, tmp_path).start()
    try:
        await proc.wait_ready()
        async with httpx.AsyncClient(base_url=proc.url, timeout=10) as http:
            for open_path in ("/healthz", "/readyz", "/metrics"):
                assert (await http.get(open_path)).status_code == 200, open_path

            anonymous = await http.get("/v1/tenants/acme/queues")
            assert anonymous.status_code == 401
            assert anonymous.headers["www-authenticate"] == "Bearer"
            forged = {"Authorization": "Bearer test-agent-gateway-token-0123456788"}
            assert (await http.get("/v1/tenants/acme/queues", headers=forged)).status_code == 401

            async def views_of_both() -> bool:
                # Each tenant's read view is written on the router's view timer, one after the other.
                for tenant in ("acme", "globex"):
                    response = await http.get(f"/v1/tenants/{tenant}/queues", headers=api_headers())
                    assert response.status_code in (200, 404), response.text
                    if response.status_code != 200:
                        return False
                return True

            await poll(views_of_both, what="the router's views of acme and globex")
            # A caller bound to acme reads acme, and nothing of another tenant.
            bound = api_headers(caller="acme-reader")
            assert (await http.get("/v1/tenants/acme/agents", headers=bound)).status_code == 200
            refused = await http.get("/v1/tenants/globex/queues", headers=bound)
            assert refused.status_code == 403
            assert "acme" in refused.json()["detail"]
            assert (await http.get("/v1/tenants/globex/queues", headers=api_headers())).status_code == 200

            # Reloading the configuration is an admin's call: not the gateway's, not a tenant's.
            assert (await http.post("/v1/admin/reload-config", headers=api_headers())).status_code == 403
            assert (await http.post("/v1/admin/reload-config", headers=bound)).status_code == 403
            reloaded = await http.post("/v1/admin/reload-config", headers=api_headers(caller="ops"))
            assert reloaded.status_code == 200, reloaded.text
    finally:
        proc.terminate()


@pytest.mark.unit
def test_every_route_has_a_scope_and_every_scope_a_route() -> None:
    app = create_app(RouterSettings(env="test"))
    paths = app.openapi()["paths"]
    routes = {(method.upper(), path) for path, methods in paths.items() for method in methods}
    assert routes - set(ACCESS.routes) == {("GET", p) for p in ACCESS.open_paths}
    assert set(ACCESS.routes) <= routes

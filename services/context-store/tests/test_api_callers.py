"""The context store's API answers only authenticated callers, with the scope a route needs and in their
own tenant; linking identities and the admin calls need their own scopes; the ops endpoints stay open.
Against the real process."""

import httpx
import pytest

from relais_context_store.access import ACCESS
from relais_context_store.app import create_app
from relais_context_store.settings import ContextStoreSettings
from relais_contracts import topics
from relais_platform.testing import RawPublisher, api_headers, poll

from .conftest import Launch, channel_message


@pytest.mark.integration
async def test_the_api_refuses_unknown_callers_wrong_scopes_and_other_tenants(
    launch: Launch, infra: object, namespace: str
) -> None:
    store = await launch()
    async with RawPublisher(infra, namespace) as channel:  # type: ignore[arg-type]
        await channel.event(
            topics.INBOUND, "acme:webchat:visitor-7", channel_message("Hello", "webchat", "visitor-7")
        )
    async with httpx.AsyncClient(base_url=store.url, timeout=10) as http:
        for open_path in ("/healthz", "/readyz", "/metrics"):
            assert (await http.get(open_path)).status_code == 200, open_path

        lookup = {"kind": "address", "channel": "webchat", "value": "visitor-7"}

        async def found() -> str | None:
            response = await http.get("/v1/lookup", params=lookup, headers=api_headers("acme"))
            assert response.status_code in (200, 404), response.text
            return response.json()["customer_id"] if response.status_code == 200 else None

        customer_id = await poll(found, what="the customer")
        customer = f"/v1/customers/{customer_id}"

        # No token, or one nobody listed: 401, whatever the route.
        for headers in ({"X-Relais-Tenant": "acme"}, {**api_headers("acme"), "Authorization": "Bearer nope"}):
            for method, path in (("GET", customer), ("POST", "/v1/admin/rebuild"), ("DELETE", customer)):
                response = await http.request(method, path, headers=headers)
                assert response.status_code == 401, (method, path, response.text)

        # The gateway reads and links; a caller bound to acme reads acme only and cannot link.
        assert (await http.get(customer, headers=api_headers("acme"))).status_code == 200
        bound = api_headers("acme", caller="acme-reader")
        assert (await http.get(customer, headers=bound)).status_code == 200
        other_tenant = await http.get(customer, headers=api_headers("globex", caller="acme-reader"))
        assert other_tenant.status_code == 403
        identity = {"kind": "customer_ref", "value": "C-42"}
        assert (await http.post(f"{customer}/identities", json=identity, headers=bound)).status_code == 403
        linked = await http.post(f"{customer}/identities", json=identity, headers=api_headers("acme"))
        assert linked.status_code == 201, linked.text
        unlink = f"{customer}/identities/customer_ref/C-42"
        assert (await http.delete(unlink, headers=bound)).status_code == 403
        assert (await http.delete(unlink, headers=api_headers("acme"))).status_code == 204

        # Erasure and rebuild are ops': the gateway's token cannot, nor a tenant-bound one.
        assert (await http.delete(customer, headers=api_headers("acme"))).status_code == 403
        assert (await http.post("/v1/admin/rebuild", headers=api_headers())).status_code == 403
        assert (await http.post("/v1/admin/rebuild", headers=bound)).status_code == 403
        rebuilt = await http.post("/v1/admin/rebuild", headers=api_headers(caller="ops"))
        assert rebuilt.status_code == 200, rebuilt.text
        assert (await http.get(customer, headers=api_headers("acme"))).status_code == 200


@pytest.mark.unit
def test_every_route_has_a_scope_and_every_scope_a_route() -> None:
    app = create_app(ContextStoreSettings(env="test"))
    paths = app.openapi()["paths"]
    routes = {(method.upper(), path) for path, methods in paths.items() for method in methods}
    assert routes - set(ACCESS.routes) == {("GET", p) for p in ACCESS.open_paths}
    assert set(ACCESS.routes) <= routes

"""The tenant allow-list setting (RELAIS_TENANTS) and what it accepts."""

import pytest

from relais_platform.kafka import Publisher
from relais_platform.settings import ServiceSettings
from relais_platform.tenants import TenantGate

pytestmark = pytest.mark.unit


def test_the_tenant_list_is_comma_separated_and_empty_accepts_every_tenant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RELAIS_TENANTS", " acme, globex ,,")
    settings = ServiceSettings()
    assert settings.tenants == frozenset({"acme", "globex"})
    gate = TenantGate(settings, Publisher(settings, "test"), "test")
    assert [gate.accepts(t) for t in ("acme", "globex", "evilcorp", "")] == [True, True, False, False]

    monkeypatch.setenv("RELAIS_TENANTS", "")
    anyone = TenantGate(ServiceSettings(), Publisher(ServiceSettings(), "test"), "test")
    assert anyone.accepts("evilcorp")

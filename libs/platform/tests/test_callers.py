"""API callers: a token is known by its hash, several per caller while rotating; a bad list fails fast."""

import json

import pytest

from relais_platform.callers import ApiCaller, identify, token_sha256
from relais_platform.settings import ServiceSettings, load_settings

pytestmark = pytest.mark.unit

OLD, NEW, OTHER = "old-token-0123456789abcdef", "new-token-0123456789abcdef", "ops-token-0123456789abcdef"
GATEWAY = ApiCaller(
    name="agent-gateway", tokens_sha256=(token_sha256(OLD), token_sha256(NEW)), scopes={"conversations:read"}
)
OPS = ApiCaller(name="ops", tokens_sha256=(token_sha256(OTHER),), scopes={"admin"}, tenant="acme")


def test_a_token_names_its_caller_during_a_rotation_too() -> None:
    assert identify((GATEWAY, OPS), OLD) == GATEWAY
    assert identify((GATEWAY, OPS), NEW) == GATEWAY
    assert identify((GATEWAY, OPS), OTHER) == OPS
    assert identify((GATEWAY, OPS), OLD + "x") is None
    assert identify((GATEWAY, OPS), token_sha256(OLD)) is None  # the hash itself is no token
    assert identify((), OLD) is None


def test_the_hash_is_what_sha256sum_prints() -> None:
    # printf %s relais-dev-gateway-token | sha256sum
    assert token_sha256("relais-dev-gateway-token") == (
        "31ad51bc4139fb94dfce9434b8177f21ac32c69ac59dd07582bcc9e0f1cab956"
    )


def test_callers_come_from_json_and_the_admin_token_is_one_more(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAIS_API_CALLERS", json.dumps([GATEWAY.model_dump(mode="json")]))
    monkeypatch.setenv("RELAIS_ADMIN_TOKEN", "legacy-admin-token-0123")
    callers = load_settings(ServiceSettings, "test").callers()
    assert [c.name for c in callers] == ["agent-gateway", "admin"]
    assert identify(callers, "legacy-admin-token-0123") == callers[1]
    assert callers[1].scopes == {"admin"}
    assert callers[1].tenant is None


@pytest.mark.parametrize(
    ("callers", "reason"),
    [
        ([{"name": "gw", "tokens_sha256": ["not-a-hash"], "scopes": ["admin"]}], "tokens_sha256"),
        ([{"name": "gw", "tokens_sha256": [], "scopes": ["admin"]}], "tokens_sha256"),
        ([{"name": "gw", "tokens_sha256": ["0" * 64], "scopes": []}], "scopes"),
        (
            [{"name": "gw", "tokens_sha256": ["0" * 64], "scopes": ["admin"], "tenant": "bad tenant"}],
            "tenant",
        ),
        ([{"name": "gw", "tokens_sha256": ["0" * 64], "scopes": ["admin"], "token": "x"}], "token"),
        ([{"name": "gw", "tokens_sha256": ["0" * 64], "scopes": ["admin"]}] * 2, "names a caller twice"),
    ],
)
def test_a_wrong_callers_list_stops_the_process(
    monkeypatch: pytest.MonkeyPatch, callers: list[dict[str, object]], reason: str
) -> None:
    monkeypatch.setenv("RELAIS_API_CALLERS", json.dumps(callers))
    with pytest.raises(SystemExit, match=reason):
        load_settings(ServiceSettings, "test")


def test_production_is_the_default_and_listens_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RELAIS_ENV", raising=False)
    monkeypatch.delenv("RELAIS_HTTP_HOST", raising=False)
    settings = ServiceSettings()
    assert (settings.env, settings.http_host) == ("prod", "127.0.0.1")

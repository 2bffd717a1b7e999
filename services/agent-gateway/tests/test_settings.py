"""Gateway settings: the JWT secret is required in prod, the dev login exists only in dev."""

import pytest
from pydantic import SecretStr, ValidationError

from relais_agent_gateway.__main__ import main
from relais_agent_gateway.settings import GatewaySettings

pytestmark = pytest.mark.unit

GOOD_SECRET = SecretStr("x" * 40)
UPSTREAM = SecretStr("gateway-token-for-the-context-store-and-router")


def test_prod_without_a_secret_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RELAIS_JWT_SECRET", raising=False)
    with pytest.raises(ValidationError, match="RELAIS_JWT_SECRET is required in prod"):
        GatewaySettings(env="prod")


def test_prod_with_a_short_secret_fails_fast() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        GatewaySettings(env="prod", jwt_secret=SecretStr("short"))


def test_secret_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAIS_JWT_SECRET", "y" * 40)
    monkeypatch.setenv("RELAIS_UPSTREAM_TOKEN", UPSTREAM.get_secret_value())
    monkeypatch.setenv("RELAIS_ENV", "prod")
    assert GatewaySettings().jwt_secret.get_secret_value() == "y" * 40


@pytest.mark.parametrize("env", ["dev", "test"])
def test_dev_and_test_have_a_default_secret(env: str) -> None:
    assert GatewaySettings(env=env).jwt_secret.get_secret_value()  # type: ignore[arg-type]


def test_defaults() -> None:
    settings = GatewaySettings(env="dev")
    assert settings.http_port == 8080
    assert settings.jwt_ttl_s == 8 * 3600


@pytest.mark.parametrize(
    ("env", "asked", "enabled"),
    [("dev", True, True), ("dev", False, False), ("test", True, False), ("prod", True, False)],
)
def test_dev_login_is_honoured_only_in_dev(env: str, asked: bool, enabled: bool) -> None:
    settings = GatewaySettings(env=env, dev_login=asked, jwt_secret=GOOD_SECRET, upstream_token=UPSTREAM)  # type: ignore[arg-type]
    assert settings.dev_login_enabled is enabled


def test_the_process_refuses_to_start_in_prod_without_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAIS_ENV", "prod")
    monkeypatch.delenv("RELAIS_JWT_SECRET", raising=False)
    with pytest.raises(SystemExit, match="RELAIS_JWT_SECRET is required in prod"):
        main()


def test_a_refused_secret_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAIS_ENV", "prod")
    monkeypatch.setenv("RELAIS_JWT_SECRET", "short-but-real")
    with pytest.raises(SystemExit) as exited:
        main()
    assert "at least 32 characters" in str(exited.value)
    assert "short-but-real" not in str(exited.value)


def test_production_is_the_default_and_has_no_dev_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RELAIS_ENV", raising=False)
    settings = GatewaySettings(jwt_secret=GOOD_SECRET, upstream_token=UPSTREAM)
    assert settings.env == "prod"
    assert settings.http_host == "127.0.0.1"  # all interfaces only when configured (the image does)
    assert not settings.dev_login_enabled


def test_prod_without_the_upstream_token_fails_fast() -> None:
    with pytest.raises(ValidationError, match="RELAIS_UPSTREAM_TOKEN is required in prod"):
        GatewaySettings(env="prod", jwt_secret=GOOD_SECRET)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
@pytest.mark.parametrize(
    "claims",
    [{}, {"jwt_issuer": "https://idp"}, {"jwt_audience": "relais"}],
    ids=["none", "no-aud", "no-iss"],
)
def test_provider_tokens_in_prod_need_an_issuer_and_an_audience(
    monkeypatch: pytest.MonkeyPatch, algorithm: str, claims: dict[str, str]
) -> None:
    monkeypatch.setenv("RELAIS_ENV", "prod")
    monkeypatch.setenv("RELAIS_UPSTREAM_TOKEN", UPSTREAM.get_secret_value())
    monkeypatch.setenv("RELAIS_JWT_ALGORITHM", algorithm)
    monkeypatch.setenv("RELAIS_JWT_JWKS_URL", "https://idp/jwks")
    for name, value in claims.items():
        monkeypatch.setenv(f"RELAIS_{name.upper()}", value)
    with pytest.raises(SystemExit, match="needs RELAIS_JWT_ISSUER and RELAIS_JWT_AUDIENCE in prod"):
        main()
    # Both given, the same settings are accepted.
    monkeypatch.setenv("RELAIS_JWT_ISSUER", "https://idp")
    monkeypatch.setenv("RELAIS_JWT_AUDIENCE", "relais")
    assert GatewaySettings().jwt_issuer == "https://idp"

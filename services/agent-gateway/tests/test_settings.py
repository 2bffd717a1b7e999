"""Gateway settings: the JWT secret is required in prod, the dev login exists only in dev."""

import pytest
from pydantic import SecretStr, ValidationError

from relais_agent_gateway.__main__ import main
from relais_agent_gateway.settings import GatewaySettings

pytestmark = pytest.mark.unit

GOOD_SECRET = SecretStr("x" * 40)


def test_prod_without_a_secret_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RELAIS_JWT_SECRET", raising=False)
    with pytest.raises(ValidationError, match="RELAIS_JWT_SECRET is required in prod"):
        GatewaySettings(env="prod")


def test_prod_with_a_short_secret_fails_fast() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        GatewaySettings(env="prod", jwt_secret=SecretStr("short"))


def test_secret_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAIS_JWT_SECRET", "y" * 40)
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
    settings = GatewaySettings(env=env, dev_login=asked, jwt_secret=GOOD_SECRET)  # type: ignore[arg-type]
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

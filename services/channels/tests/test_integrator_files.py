"""Integrators from the settings and files: secrets from files, and every unusable configuration refused
at start with its reason."""

import json
from pathlib import Path

import pytest

from relais_channels.adapters.integrator_files import IntegratorConfigError, load_integrators
from relais_channels.settings import ChannelsSettings

pytestmark = pytest.mark.unit

LONG = "x" * 32


def settings(**values: object) -> ChannelsSettings:
    return ChannelsSettings.model_validate({"env": "test", **values})


def test_from_the_variable_and_a_file_with_secrets_from_files(tmp_path: Path) -> None:
    (tmp_path / "web.secret").write_text(LONG + "\n")
    listed = tmp_path / "integrators.json"
    listed.write_text(
        json.dumps(
            [
                {
                    "id": "web",
                    "tenant": "acme",
                    "channels": ["webchat"],
                    "secret_file": str(tmp_path / "web.secret"),
                }
            ]
        )
    )
    found = load_integrators(
        settings(
            integrators=[
                {"id": "sms", "tenant": "acme", "channels": ["sms"], "secret": "s" * 32, "rate_per_s": 5}
            ],
            integrators_file=listed,
            integrator_rate_per_s=7,
        )
    )
    assert found["web"].secrets == (LONG.encode(),)  # the newline is not part of it
    assert (found["sms"].rate_per_s, found["web"].rate_per_s) == (5, 7)
    assert found["web"].channels == frozenset({"webchat"})


@pytest.mark.parametrize(
    ("entries", "env", "reason"),
    [
        (
            [{"id": "a", "tenant": "acme", "channels": ["sms"], "secret": LONG}] * 2,
            "test",
            "configured twice",
        ),
        (
            [{"id": "a", "tenant": "acme", "channels": ["sms"], "secret": "short"}],
            "prod",
            "at least 32 bytes",
        ),
        (
            [{"id": "a", "tenant": "acme", "channels": ["sms"], "secret_file": "/nonexistent"}],
            "test",
            "cannot read",
        ),
        ([{"id": "a", "tenant": "globex", "channels": ["sms"], "secret": LONG}], "test", "not served here"),
    ],
)
def test_unusable_configurations_are_refused(entries: list[dict[str, object]], env: str, reason: str) -> None:
    with pytest.raises(IntegratorConfigError, match=reason):
        load_integrators(settings(integrators=entries, env=env, tenants="acme"))


def test_a_secret_and_a_secret_file_at_once_are_refused_by_the_settings() -> None:
    with pytest.raises(ValueError, match="exactly one of secret and secret_file"):
        settings(
            integrators=[
                {"id": "a", "tenant": "acme", "channels": ["sms"], "secret": LONG, "secret_file": "/x"}
            ]
        )


def test_the_widget_needs_the_webchat_channel_and_its_origins_are_sites() -> None:
    web = {"id": "web", "tenant": "acme", "channels": ["webchat"], "secret": LONG}
    found = load_integrators(settings(integrators=[{**web, "widget_origins": ["https://shop.example"]}]))
    assert found["web"].widget  # listing origins turns the widget on
    assert found["web"].widget_origins == frozenset({"https://shop.example"})
    assert not load_integrators(settings(integrators=[web]))["web"].widget
    with pytest.raises(ValueError, match="the widget needs the webchat channel"):
        settings(integrators=[{**web, "channels": ["sms"], "widget": True}])
    with pytest.raises(ValueError, match="widget_origins"):
        settings(integrators=[{**web, "widget_origins": ["https://shop.example/path"]}])

"""Settings fail fast without echoing secrets; logs are JSON, bound to the event, with credentials masked."""

import json
import logging
from datetime import UTC, datetime

import pytest
import structlog

from relais_contracts.channel import SessionEnded, SessionEndedData
from relais_platform.logs import bound_to, configure_logging
from relais_platform.settings import ServiceSettings, load_settings

pytestmark = pytest.mark.unit


def test_invalid_settings_stop_with_reasons_and_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAIS_KAFKA_SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("RELAIS_KAFKA_SASL_PASSWORD", "hunter2-very-secret")
    monkeypatch.setenv("RELAIS_CONSUMER_BATCH_MAX", "zero")
    with pytest.raises(SystemExit) as stopped:
        load_settings(ServiceSettings, "test")
    message = str(stopped.value)
    assert "consumer_batch_max" in message
    assert "hunter2" not in message


def test_fault_injection_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAIS_ENV", "prod")
    monkeypatch.setenv("RELAIS_FAULT_KILL_BEFORE_COMMIT", "1")
    with pytest.raises(SystemExit, match="FAULT_KILL"):
        load_settings(ServiceSettings, "test")


def test_namespace_prefixes_topics_groups_and_keys() -> None:
    settings = ServiceSettings(namespace="staging.")
    assert settings.topic("relais.inbound.v1") == "staging.relais.inbound.v1"
    assert settings.group("bot-conversations") == "staging.relais-bot-conversations"
    assert settings.key("cs", "acme") == "staging.relais:cs:acme"


def test_log_lines_are_json_bound_to_the_event_with_credentials_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("test", "INFO")
    event = SessionEnded(
        id="evt-7",
        source="test",
        time=datetime(2026, 11, 24, tzinfo=UTC),
        tenant="acme",
        subject="conv-3",
        data=SessionEndedData.model_validate({"channel": "sms", "from": {"address": "+331"}}),
    )
    with bound_to(event):
        structlog.get_logger("t").info("handled", url="/v1/agent/ws?token=eyJhbGciOi.secret.sig&after=1")
    logging.getLogger("uvicorn.error").info('"WebSocket /v1/agent/ws?token=eyJabc.def.ghi" [accepted]')
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    handled = next(line for line in lines if line["event"] == "handled")
    assert (handled["tenant"], handled["conversation_id"], handled["event_id"]) == ("acme", "conv-3", "evt-7")
    assert handled["service"] == "test"
    assert "secret" not in handled["url"]
    assert "token=[redacted]&after=1" in handled["url"]
    uvicorn_line = next(line for line in lines if "WebSocket" in line["event"])
    assert "eyJabc" not in uvicorn_line["event"]

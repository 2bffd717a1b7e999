"""Webhooks out, the decisions: recipients, backoff with jitter inside the give-up window, the report."""

import random
from datetime import UTC, datetime

import pytest

from relais_channels.domain.integrators import Integrator
from relais_channels.domain.webhooks import (
    GiveUp,
    Retry,
    RetryPolicy,
    after_failure,
    failed_report,
    recipients,
    transport_of,
)
from relais_contracts import derive_key, topics
from relais_contracts.channel import DeliveryUpdated, MessageSend

pytestmark = pytest.mark.unit

POLICY = RetryPolicy(base_s=1, max_s=60, give_up_after_s=600)
HOOKED = Integrator(
    "acme-sms", "acme", frozenset({"sms"}), (b"k" * 32,), callback_url="https://acme.example/hook"
)
NO_HOOK = Integrator("acme-kafka", "acme", frozenset({"sms"}), (b"k" * 32,))
OTHER = Integrator(
    "globex", "globex", frozenset({"sms"}), (b"k" * 32,), callback_url="https://globex.example/h"
)


def send(channel: str = "sms", tenant: str = "acme") -> MessageSend:
    return MessageSend.model_validate(
        {
            "id": "out-1",
            "source": "relais/context-store",
            "time": datetime(2026, 1, 1, tzinfo=UTC),
            "tenant": tenant,
            "subject": "conv-1",
            "data": {
                "channel": channel,
                "to": {"address": "+15550001"},
                "text": "Bonjour",
                "message_id": "msg-1",
                "author": {"kind": "bot", "name": "Relais"},
            },
        }
    )


def test_only_integrators_with_a_callback_for_the_tenant_and_channel_receive() -> None:
    assert recipients([HOOKED, NO_HOOK, OTHER], send()) == [HOOKED]
    assert recipients([HOOKED, NO_HOOK, OTHER], send(channel="email")) == []


def test_backoff_grows_exponentially_with_full_jitter_up_to_its_cap() -> None:
    rng = random.Random(7)
    for attempts, ceiling in [(1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (20, 60)]:
        delays = []
        for _ in range(200):
            decision = after_failure(attempts, 0.0, 10.0, POLICY, "HTTP 503", rng)
            assert isinstance(decision, Retry)
            delays.append(decision.at - 10.0)
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # the whole range is used, not a fixed step
        assert min(delays) < ceiling * 0.2


def test_the_last_retry_is_inside_the_window_then_it_gives_up() -> None:
    rng = random.Random(1)
    decision = after_failure(30, 0.0, 599.0, POLICY, "HTTP 503", rng)
    assert isinstance(decision, Retry)
    assert decision.at <= 600.0
    decision = after_failure(31, 0.0, 600.0, POLICY, "HTTP 503", rng)
    assert isinstance(decision, GiveUp)
    assert "31 times over 600 s; last: HTTP 503" in decision.reason


def test_a_given_up_message_is_reported_failed_once() -> None:
    report = failed_report(HOOKED, send(), "webhook failed")
    assert report.topic == topics.INBOUND
    assert report.key == "acme:delivery:msg-1"
    assert isinstance(report.event, DeliveryUpdated)
    assert (report.event.data.message_id, report.event.data.status) == ("msg-1", "failed")
    assert report.event.causationid == "out-1"
    assert failed_report(HOOKED, send(), "again").event.id == report.event.id
    assert failed_report(OTHER, send(tenant="globex"), "x").event.id != report.event.id


def test_email_messages_of_an_integrator_with_mailboxes_go_by_mail_when_a_relay_is_configured() -> None:
    mail = Integrator(
        "acme-mail",
        "acme",
        frozenset({"email", "sms"}),
        (b"k" * 32,),
        callback_url="https://acme.example/hook",
        email_addresses=frozenset({"s@acme.example"}),
    )
    assert transport_of(mail, send(channel="email"), mail_out=True) == "smtp"
    assert transport_of(mail, send(channel="email"), mail_out=False) == "webhook"
    assert transport_of(mail, send(channel="sms"), mail_out=True) == "webhook"
    assert transport_of(NO_HOOK, send(), mail_out=True) is None
    assert recipients([mail, NO_HOOK], send(channel="email"), mail_out=True) == [mail]


def test_a_failed_report_says_why_about_the_conversation_with_an_id_of_its_own() -> None:
    report = failed_report(HOOKED, send(), "HTTP 503 " + "x" * 2000)
    assert isinstance(report.event, DeliveryUpdated)
    assert report.event.subject == "conv-1"
    assert report.event.data.reason == ("HTTP 503 " + "x" * 2000)[:1000]
    assert report.event.id == derive_key("webhook-failed", "acme-sms", send().uid)
    other = send().model_copy(update={"id": "out-2"})
    assert failed_report(HOOKED, other, "x").event.id != report.event.id  # one report per message


def test_an_integrator_with_mailboxes_and_no_webhook_gets_email_only_through_the_relay() -> None:
    mail_only = Integrator(
        "acme-mail", "acme", frozenset({"email"}), (b"k" * 32,), email_addresses=frozenset({"s@acme.example"})
    )
    assert recipients([mail_only], send(channel="email")) == []
    assert recipients([mail_only], send(channel="email"), mail_out=True) == [mail_only]


def test_the_give_up_window_counts_from_the_first_failure() -> None:
    rng = random.Random(3)
    assert isinstance(after_failure(5, 1000.0, 1599.0, POLICY, "HTTP 503", rng), Retry)
    decision = after_failure(6, 1000.0, 1600.0, POLICY, "HTTP 503", rng)
    assert isinstance(decision, GiveUp)
    assert decision.reason == "webhook failed 6 times over 600 s; last: HTTP 503"

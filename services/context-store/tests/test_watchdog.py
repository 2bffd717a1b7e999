"""The watchdog's decision: a customer message the bot left unanswered past the deadline goes to a person."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from relais_context_store.domain.watchdog import Silence, bot_silent
from relais_contracts import topics
from relais_contracts.conversation import HandoffRequested
from relais_contracts.routing import WorkSubmitted

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def entry(kind: str, author: str, text: str, at: datetime, channel: str | None = "sms") -> str:
    return json.dumps(
        {
            "event_id": f"e-{text}",
            "kind": kind,
            "message_id": f"m-{text}",
            "author_kind": author,
            "text": text,
            "at": at.isoformat(),
            "channel": channel,
        }
    )


def silence(**changes: object) -> Silence:
    fields: dict[str, object] = {
        "tenant": "acme",
        "conversation_id": "c1",
        "state": "bot",
        "last_customer_at": T0,
        "last_bot_at": T0 - timedelta(seconds=40),
        "channel": "sms",
        "customer_id": "cust-1",
        "timeline": [
            entry("opened", "customer", "-", T0 - timedelta(seconds=60)),
            entry("message", "customer", "hello", T0 - timedelta(seconds=50)),
            entry("message", "bot", "Hi! How can I help?", T0 - timedelta(seconds=40), channel=None),
            entry("message", "customer", "where is my parcel", T0),
        ],
    }
    return Silence(**{**fields, **changes})  # type: ignore[arg-type]


def test_an_unanswered_message_past_the_deadline_goes_to_a_person() -> None:
    outputs = bot_silent(silence(), T0 + timedelta(seconds=30), deadline_s=30)
    assert [(o.topic, o.key, type(o.event)) for o in outputs] == [
        (topics.CONVERSATIONS, "c1", HandoffRequested),
        (topics.ROUTING, "acme", WorkSubmitted),
    ]
    packet = outputs[1].event.data.packet
    assert packet.reason == "bot-silent"
    assert packet.customer_id == "cust-1"
    assert [(t.author_kind, t.text) for t in packet.transcript] == [
        ("customer", "hello"),
        ("bot", "Hi! How can I help?"),
        ("customer", "where is my parcel"),
    ]
    assert packet.channels == ("sms",)
    assert "where is my parcel" in packet.summary


@pytest.mark.parametrize(
    "changes",
    [
        {"state": "waiting"},  # already on the way to a person
        {"state": "assigned"},
        {"state": "closed"},
        {"last_bot_at": T0 + timedelta(seconds=1)},  # the bot answered
    ],
)
def test_nothing_happens_when_the_bot_answered_or_a_person_has_it(changes: dict[str, object]) -> None:
    assert bot_silent(silence(**changes), T0 + timedelta(seconds=60), deadline_s=30) == []


def test_nothing_happens_before_the_deadline() -> None:
    assert bot_silent(silence(), T0 + timedelta(seconds=29), deadline_s=30) == []


def test_every_sweep_that_finds_the_same_silence_writes_the_same_events() -> None:
    first = bot_silent(silence(), T0 + timedelta(seconds=31), deadline_s=30)
    later = bot_silent(silence(), T0 + timedelta(seconds=45), deadline_s=30)
    assert [o.event.id for o in first] == [o.event.id for o in later]
    after_a_new_message = bot_silent(
        silence(last_customer_at=T0 + timedelta(seconds=5)), T0 + timedelta(seconds=60), deadline_s=30
    )
    assert {o.event.id for o in after_a_new_message}.isdisjoint(o.event.id for o in first)

"""The bot's pure policy: answers in the customer's language, and hands over at once when asked."""

from datetime import UTC, datetime

import pytest

from relais_bot.domain.language import detect_language, normalise
from relais_bot.domain.policy import BotState, asks_for_human, decide
from relais_contracts import Outgoing, topics
from relais_contracts.conversation import (
    Assigned,
    AssignedData,
    CustomerMessage,
    CustomerMessageData,
    HandoffRequested,
    Opened,
    OpenedData,
    ReplyPosted,
)
from relais_contracts.routing import WorkSubmitted

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def said(text: str, n: int = 1, channel: str = "webchat") -> CustomerMessage:
    return CustomerMessage(
        id=f"m-{n}", source="relais/context-store", time=T0, tenant="acme", subject="conv-1",
        data=CustomerMessageData(
            message_id=f"m-{n}", channel=channel, address="visitor", text=text, external_id=f"x-{n}"
        ),
    )  # fmt: skip


def opened() -> Opened:
    return Opened(
        id="o-1", source="relais/context-store", time=T0, tenant="acme", subject="conv-1",
        data=OpenedData(channel="webchat", address="visitor"),
    )  # fmt: skip


def run(*events: object) -> tuple[BotState, list[Outgoing]]:
    state, outputs = BotState(), []
    for event in events:
        state, out = decide(state, event)  # type: ignore[arg-type]
        outputs += out
    return state, outputs


@pytest.mark.parametrize(
    "text",
    [
        "je veux parler à un conseiller",
        "Je veux parler a un conseiler",
        "un humain svp",
        "je voudrais parler à quelqu'un",
        "PARLER À QUELQU’UN",
        "passez moi une vraie personne",
        "I want to talk to a real person",
        "representative",
        "agent please",
        "can I speak with someone",
        "get me a human",
    ],
)
def test_asking_for_a_person_is_recognised(text: str) -> None:
    assert asks_for_human(text)


@pytest.mark.parametrize("text", ["Bonjour", "où est ma commande ?", "hello", "what are your opening hours?"])
def test_ordinary_messages_are_not_a_request_for_a_person(text: str) -> None:
    assert not asks_for_human(text)


def test_greeting_is_answered_in_the_customers_language() -> None:
    _, out = run(opened(), said("Bonjour"))
    ((topic, key, reply),) = [(o.topic, o.key, o.event) for o in out]
    assert topic == topics.CONVERSATIONS
    assert key == "conv-1"
    assert isinstance(reply, ReplyPosted)
    assert reply.data.text.startswith("Bonjour")
    assert reply.data.in_reply_to == "m-1"
    _, out = run(opened(), said("Hello there"))
    assert out[0].event.data.text.startswith("Hello")  # type: ignore[attr-defined]


def test_a_request_for_a_person_hands_over_at_once_with_the_transcript() -> None:
    state, greeting = run(opened(), said("Bonjour"))
    bot_reply = greeting[0].event
    assert isinstance(bot_reply, ReplyPosted)
    state, _ = decide(state, bot_reply)  # the bot's own reply comes back through the log
    state, out = decide(state, said("je veux parler à un conseiller", 2))
    assert [type(o.event) for o in out] == [ReplyPosted, HandoffRequested, WorkSubmitted]
    notice, handoff, work = (o.event for o in out)
    assert isinstance(handoff, HandoffRequested)
    assert isinstance(work, WorkSubmitted)
    assert (out[2].topic, out[2].key) == (topics.ROUTING, "acme")
    assert "conseiller" in notice.data.text  # type: ignore[attr-defined]
    assert handoff.data.packet.reason == "customer_request"
    assert handoff.data.packet.language == "fr"
    assert [(e.author_kind, e.text) for e in work.data.packet.transcript] == [
        ("customer", "Bonjour"),
        ("bot", bot_reply.data.text),
        ("customer", "je veux parler à un conseiller"),
    ]
    assert state.mode == "waiting"


def test_the_bot_stays_quiet_while_a_person_has_the_conversation() -> None:
    assigned = Assigned(
        id="a-1", source="relais/router", time=T0, tenant="acme", subject="conv-1",
        data=AssignedData(offer_id="o", agent_id="agent-7"),
    )  # fmt: skip
    state, out = run(opened(), said("agent please"), assigned, said("are you there?", 3))
    assert state.mode == "agent"
    assert not [o for o in out if isinstance(o.event, ReplyPosted) and o.event.data.in_reply_to == "m-3"]
    assert state.transcript[-1].text == "are you there?"


def test_outputs_replay_to_the_same_ids() -> None:
    assert run(opened(), said("agent please")) == run(opened(), said("agent please"))


def test_language_detection_and_normalisation() -> None:
    assert normalise("Parler À  Quelqu’un") == "parler a quelqu'un"
    assert detect_language("je voudrais suivre ma commande") == "fr"
    assert detect_language("where is my order please") == "en"
    assert detect_language("ok", previous="fr") == "fr"
    assert detect_language("anything", hint="fr-FR") == "fr"

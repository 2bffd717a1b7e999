"""The handoff packet's summary, built from the customer's own sentences: facts and sensitive situations
weigh most, then frustration and a request for a person; three of them and the latest sentence, in the
order written, each once, within the limit."""

from datetime import UTC, datetime

import pytest

from relais_bot.adapters.content_files import read_cues
from relais_bot.domain.escalation import Detectors
from relais_bot.domain.policy import BotState, summarise
from relais_contracts.conversation import Entity, TranscriptEntry

pytestmark = pytest.mark.unit

DETECTORS = Detectors(read_cues())
AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def said(*texts: str, author: str = "customer") -> tuple[TranscriptEntry, ...]:
    return tuple(
        TranscriptEntry(message_id=f"{author}-{i}", author_kind=author, text=text, at=AT)
        for i, text in enumerate(texts)
    )


def test_facts_and_sensitive_situations_come_first_then_frustration_then_a_request() -> None:
    transcript = (
        *said(
            "Hello there my friend. this is useless, still nothing! I want to speak to a person.",
            "My order 4417221 has not arrived.\nMy mother passed away last week.",
        ),
        *said("We are looking at your order now, please wait.", author="agent"),
        *said("The weather is nice today. ok", "Thanks for your time here."),
    )
    # An entity without a value is no fact: it would be found in every sentence.
    entities = (Entity(kind="order_number", value="4417221"), Entity(kind="date", value=""))
    state = BotState(transcript=transcript, entities=entities, language="en")
    assert summarise(state, DETECTORS) == (
        "this is useless, still nothing! … My order 4417221 has not arrived. … "
        "My mother passed away last week. … Thanks for your time here."
    )


def test_a_request_for_a_person_outweighs_small_talk() -> None:
    state = BotState(
        transcript=said(
            "Hello there my friend.", "The weather is nice today.", "It rains a lot here.",
            "I want to speak to a person.", "Thanks for your time here.",
        )
    )  # fmt: skip
    assert summarise(state, DETECTORS) == (
        "Hello there my friend. … The weather is nice today. … I want to speak to a person. … "
        "Thanks for your time here."
    )


def test_a_sentence_written_twice_is_summarised_once() -> None:
    state = BotState(transcript=said("I want to speak to a person.", "I want to speak to a person."))
    assert summarise(state, DETECTORS) == "I want to speak to a person."


def test_turns_too_short_to_summarise_are_given_as_they_are_up_to_the_limit() -> None:
    state = BotState(transcript=(*said("ok", "merci"), *said("hello there my friend", author="agent")))
    assert summarise(state, DETECTORS) == "ok / merci"
    assert summarise(state, DETECTORS, limit=4) == "erci"
    assert summarise(BotState(), DETECTORS) == ""


def test_a_long_summary_is_cut_to_the_limit_with_an_ellipsis() -> None:
    state = BotState(transcript=said("My order 4417221 has not arrived.", "Where is it please?"))
    whole = "My order 4417221 has not arrived. … Where is it please?"
    assert summarise(state, DETECTORS, limit=len(whole)) == whole
    assert summarise(state, DETECTORS, limit=len(whole) - 1) == whole[: len(whole) - 2] + "…"
    assert len(summarise(state, DETECTORS, limit=20)) == 20


def test_a_fact_or_a_sensitive_situation_outweighs_frustration_with_a_request() -> None:
    both = "this is useless, I want to speak to a person."  # frustration and a request: 2
    order = "My order 4417221 has not arrived."  # a fact: 2
    mother = "My mother passed away last week."  # sensitive: 2
    last = "Thanks for your time here."
    facts = (Entity(kind="order_number", value="4417221"), Entity(kind="order_number", value="8812345"))
    # Equal weights keep the earliest sentences: the later fact or situation is left out.
    state = BotState(
        transcript=said(both, mother, mother.replace("mother", "father"), order, last), entities=facts
    )
    assert order not in summarise(state, DETECTORS)
    state = BotState(
        transcript=said(both, order, "Order 8812345 is missing too.", mother, last), entities=facts
    )
    assert mother not in summarise(state, DETECTORS)


def test_failure_hints_alone_do_not_weigh_only_frustrated_wording_does() -> None:
    state = BotState(
        transcript=said(
            "Hello there my friend.", "The weather is nice today.", "It rains a lot here.",
            "this is the third time I write", "Thanks for your time here.",
        )
    )  # fmt: skip
    assert "third time" not in summarise(state, DETECTORS)


def test_a_sentence_of_three_words_counts_and_the_default_limit_is_600_characters() -> None:
    assert summarise(BotState(transcript=said("Parcel never came.", "ok")), DETECTORS) == "Parcel never came."
    long = " ".join(f"Sentence {i} {'is long ' * 30}." for i in range(4))
    summary = summarise(BotState(transcript=said(long)), DETECTORS)
    assert len(summary) == 600
    assert summary.endswith("…")

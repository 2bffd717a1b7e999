"""A tenant's content as validated at start-up: each wrong file is refused with the reason, and the
messages the bot says fall back in a fixed order (the tenant's language, its default language, the
bundled defaults)."""

from typing import Any

import pytest
from pydantic import ValidationError

from relais_bot.domain.content import DEFAULT_MESSAGES, MESSAGE_KEYS, Content, Sensitive

pytestmark = pytest.mark.unit


def _messages(language: str) -> dict[str, str]:
    return {key: f"{language} {key}" for key in MESSAGE_KEYS}


def _content(**changes: Any) -> dict[str, Any]:
    """A small valid content file: two languages, one intent answered in both."""
    raw: dict[str, Any] = {
        "tenant": "globex",
        "default_language": "en",
        "languages": ["en", "fr"],
        "messages": {"en": _messages("en"), "fr": _messages("fr")},
        "intents": [
            {
                "name": "delivery",
                "examples": {"en": ["where is my parcel"], "fr": ["où est mon colis"]},
                "answers": {"en": "It is on its way.", "fr": "Il arrive."},
                "entities": ["order_number"],
            }
        ],
    }
    return raw | changes


def _refused(raw: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as refused:
        Content.model_validate(raw)
    return str(refused.value)


def test_a_valid_file_is_read_and_its_intents_are_found_by_name() -> None:
    content = Content.model_validate(_content())
    assert content.intent("delivery") is content.intents[0]
    assert content.intent("billing") is None


def test_unknown_sensitive_categories_are_refused_by_name() -> None:
    assert Sensitive(categories=("fraud", "health")).categories == ("fraud", "health")
    with pytest.raises(ValidationError, match=r"unknown sensitive categories \['gambling', 'weather'\]"):
        Sensitive(categories=("fraud", "weather", "gambling"))


def test_an_intent_with_an_unknown_entity_kind_a_strange_language_or_no_example_is_refused() -> None:
    intent = _content()["intents"][0]
    wrong = _refused(_content(intents=[intent | {"entities": ["order_number", "shoe_size", "iban"]}]))
    assert "intent delivery: unknown entity kinds ['iban', 'shoe_size']" in wrong
    wrong = _refused(_content(intents=[intent | {"examples": {"en": ["hi"], "xx": ["hi"]}}]))
    assert "intent delivery: unsupported languages ['xx']" in wrong
    wrong = _refused(_content(intents=[intent | {"answers": {"en": "a", "fr": "b", "nl": "c"}}]))
    assert "intent delivery: unsupported languages ['nl']" in wrong
    wrong = _refused(_content(intents=[intent | {"examples": {"en": [], "fr": []}}]))
    assert "intent delivery: no example utterances" in wrong
    # Examples in one language only are enough.
    assert Content.model_validate(_content(intents=[intent | {"examples": {"fr": ["colis"]}}]))


def test_a_content_file_with_a_strange_language_a_missing_message_or_answer_or_default_is_refused() -> None:
    assert "unsupported languages ['xx']" in _refused(_content(languages=["en", "xx"]))
    messages = _content()["messages"]
    short = {k: v for k, v in messages["fr"].items() if k not in ("returned", "clarify")}
    assert "messages.fr: missing ['clarify', 'returned']" in _refused(
        _content(messages=messages | {"fr": short})
    )
    assert "messages.fr: missing" in _refused(_content(messages={"en": messages["en"]}))
    intent = _content()["intents"][0]
    wrong = _refused(_content(intents=[intent | {"answers": {"en": "It is on its way."}}]))
    assert "intent delivery: no answer in fr" in wrong
    assert "default_language de is not in languages" in _refused(_content(default_language="de"))
    # A language served is checked; one the tenant does not serve needs neither messages nor answers.
    assert Content.model_validate(_content(languages=["en"], messages={"en": messages["en"]}))


def test_a_message_comes_from_the_language_then_the_default_language_then_the_bundled_words() -> None:
    messages = _content()["messages"]
    content = Content.model_validate(
        _content(messages=messages | {"fr": messages["fr"] | {"confirm_yes": "Ouais"}})
    )
    assert content.message("fr", "handoff") == "fr handoff"
    assert content.message("fr", "confirm_yes") == "Ouais"  # the tenant's own word wins
    assert content.message("fr", "confirm_no") == DEFAULT_MESSAGES["fr"]["confirm_no"]
    # A language the tenant has no messages in: its default language's messages ...
    assert content.message("de", "handoff") == "en handoff"
    # ... and the bundled words of the customer's language, or English ones for a language without any.
    assert content.message("de", "confirm_person") == DEFAULT_MESSAGES["de"]["confirm_person"]
    assert content.message("nl", "confirm_person") == DEFAULT_MESSAGES["en"]["confirm_person"]
    with pytest.raises(KeyError):
        content.message("en", "no_such_message")


def test_the_bot_answers_in_the_customers_language_when_the_tenant_serves_it() -> None:
    content = Content.model_validate(_content())
    assert content.language("fr") == "fr"
    assert content.language("de") == "en"

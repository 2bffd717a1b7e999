"""One customer turn with the intent classifier and the language fixed by the test: the thresholds of
the turn at their exact values (the tenant's minimum confidence, the confidence of small talk), the
turn's language handed to every reader of the message, and the count of negative turns in a row."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from relais_bot.adapters.content_files import BUNDLED
from relais_bot.domain.intents import Prediction
from relais_bot.domain.policy import Bot, BotState, Decision, TenantBot
from relais_bot.domain.sentiment import VaderSentiment
from relais_contracts.conversation import CustomerMessage, CustomerMessageData

pytestmark = pytest.mark.unit

SENTIMENT = VaderSentiment(BUNDLED / "sentiment")
AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@dataclass
class FixedIntent:
    """Says what the test wants, and records the language each message was classified in."""

    intent: str = "delivery"
    confidence: float = 0.9
    languages: list[str] = field(default_factory=list)

    def classify(self, text: str, language: str) -> Prediction:
        self.languages.append(language)
        return Prediction(self.intent, self.confidence)


@dataclass
class FixedLanguage:
    language: str = "en"

    def detect(self, text: str, hint: str | None, previous: str | None) -> str:
        return self.language


def bot_with(real: Bot, intents: FixedIntent, language: str = "en") -> Bot:
    demo = real.tenant("demo")
    tenant = TenantBot(demo.content, intents, FixedLanguage(language), demo.detectors)
    return Bot({"demo": tenant}, tenant, SENTIMENT)


def say(bot: Bot, text: str, state: BotState | None = None, n: int = 1) -> Decision:
    data = CustomerMessageData(
        message_id=f"m-{n}", channel="webchat", address="visitor", text=text, external_id=f"m-{n}"
    )
    event = CustomerMessage(id=f"e-{n}", source="test", time=AT, tenant="demo", subject="conv-1", data=data)
    return bot.decide(state or BotState(), event)


def test_an_intent_is_answered_from_exactly_the_tenants_minimum_confidence(bot: Bot) -> None:
    minimum = bot.tenant("demo").content.classifier.min_confidence
    assert say(bot_with(bot, FixedIntent(confidence=minimum)), "where is my parcel").outcome == "answered"
    below = say(bot_with(bot, FixedIntent(confidence=minimum - 0.001)), "where is my parcel")
    assert below.outcome == "clarified"
    assert below.state.low_confidence_streak == 1
    unknown = say(bot_with(bot, FixedIntent(intent="no_such_intent", confidence=0.99)), "where is my parcel")
    assert unknown.outcome == "clarified"


def test_a_greeting_is_small_talk_and_not_a_muffled_request_from_a_confidence_of_six_tenths(bot: Bot) -> None:
    unsure = "do you have a phone number i can call"  # the unsure band: "do you want a person?"
    assert say(bot_with(bot, FixedIntent(confidence=0.9)), unsure).outcome == "asked"
    assert say(bot_with(bot, FixedIntent("greeting", confidence=0.6)), unsure).outcome == "answered"
    assert say(bot_with(bot, FixedIntent("greeting", confidence=0.59)), unsure).outcome == "asked"


def test_the_turns_language_is_the_one_the_message_is_classified_and_read_in(bot: Bot) -> None:
    intents = FixedIntent()
    decision = say(bot_with(bot, intents, "de"), "Meine Bestellung 77881234, Telefon 030 1234567")
    assert intents.languages == ["de"]
    assert decision.state.language == "de"
    # The phone number is read as a German one: the entities are extracted in the turn's language.
    assert [(e.kind, e.value) for e in decision.state.entities] == [
        ("order_number", "77881234"),
        ("phone", "+49301234567"),
    ]
    # The sentiment too: "excelente" is a word of the Spanish lexicon only.
    assert say(bot_with(bot, FixedIntent(), "es"), "excelente").state.sentiment == (
        round(SENTIMENT.score("excelente", "es"), 3),
    )
    assert SENTIMENT.score("excelente", "es") > 0


def test_negative_turns_in_a_row_are_counted_and_a_calm_one_starts_again(bot: Bot) -> None:
    fixed = bot_with(bot, FixedIntent())
    first = say(fixed, "still waiting for my parcel")  # a sign of an earlier failure: a turn of weight 1
    assert (first.outcome, first.state.negative_streak) == ("answered", 1)
    assert say(fixed, "where is my parcel", first.state, n=2).state.negative_streak == 0
    # The tenant's second negative turn in a row is frustration.
    second = say(fixed, "still waiting for my parcel", first.state, n=2)
    assert (second.outcome, second.reason) == ("handed_over", "frustration")


def test_a_short_message_keeps_the_conversations_language(bot: Bot) -> None:
    assert say(bot, "ok", BotState(language="de")).state.language == "de"


def test_yes_or_no_is_an_answer_only_to_the_question_and_the_question_is_not_asked_twice(bot: Bot) -> None:
    fixed = bot_with(bot, FixedIntent())
    assert say(fixed, "yes").outcome == "answered"  # no question was asked: not a request for a person
    assert say(fixed, "no").outcome == "answered"
    unsure = "do you have a phone number i can call"
    assert say(fixed, unsure, BotState(asked_person=True)).outcome == "answered"


def test_a_greeting_is_small_talk_only_from_the_tenants_own_minimum_confidence(bot: Bot) -> None:
    demo = bot.tenant("demo")
    strict = demo.content.model_copy(
        update={"classifier": demo.content.classifier.model_copy(update={"min_confidence": 0.7})}
    )
    unsure = "do you have a phone number i can call"

    def strict_bot(confidence: float) -> Bot:
        tenant = TenantBot(strict, FixedIntent("greeting", confidence), FixedLanguage(), demo.detectors)
        return Bot({"demo": tenant}, tenant, SENTIMENT)

    assert say(strict_bot(0.7), unsure).outcome == "answered"  # confident small talk
    assert say(strict_bot(0.65), unsure).outcome == "asked"  # over 0.6 but under the tenant's minimum

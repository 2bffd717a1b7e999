"""The language identifier and the sentiment scorer as built: hints, the default, and each language's
lexicon (VADER's for English, the French adaptation, the shipped ones for the others)."""

import pytest

from relais_bot.adapters.content_files import BUNDLED
from relais_bot.domain.language import LanguageIdentifier
from relais_bot.domain.sentiment import VaderSentiment

pytestmark = pytest.mark.unit


def test_a_channel_hint_of_a_supported_language_wins_and_an_unsure_message_gets_the_default() -> None:
    languages = LanguageIdentifier(("en", "fr"), {}, "fr", 0.5)
    assert languages.detect("hello there my friend", hint="fr-CA", previous=None) == "fr"
    assert languages.detect("ok", hint=None, previous=None) == "fr"  # too short to tell, nothing before
    assert languages.detect("ok", hint="de-DE", previous="en") == "en"  # an unsupported hint is no hint


def test_each_language_is_scored_with_its_own_lexicon() -> None:
    sentiment = VaderSentiment(BUNDLED / "sentiment")
    # Words English VADER does not know: only the French and the shipped Spanish lexicons score them.
    assert sentiment.score("je suis très déçu", "fr") < 0
    assert sentiment.score("je suis très déçu", "en") == 0
    assert sentiment.score("excelente", "es") > 0
    assert sentiment.score("excelente", "en") == 0

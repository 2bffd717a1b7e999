"""Scoring with learnt weights, on a model small enough to reason about by hand: two intents, the
character n-grams of "hi" for one and of "no" for the other."""

import numpy as np
import pytest

from relais_bot.domain.intents import CharNgramClassifier, IntentWeights, char_wb_ngrams

pytestmark = pytest.mark.unit

GRAMS = [" h", "hi", "i ", " n", "no", "o "]


def model() -> CharNgramClassifier:
    coef = np.array([[5.0, 5.0, 5.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 5.0, 5.0, 5.0]])
    return CharNgramClassifier(
        IntentWeights(
            classes=["greet", "deny"],
            vocabulary={g: i for i, g in enumerate(GRAMS)},
            idf=np.ones(len(GRAMS)),
            coef=coef,
            intercept=np.array([0.5, 0.0]),
        )
    )


def test_the_intent_whose_ngrams_the_message_shares_wins_damped_by_how_much_is_known() -> None:
    assert char_wb_ngrams("hi") == [" h", "hi", "i ", " hi", "hi ", " hi "]  # three of six known
    greet = model().classify("hi", "en")
    assert greet.intent == "greet"
    # Three known n-grams of weight 1/sqrt(3) each: a score of 5 * sqrt(3) + 0.5 against 0.
    probability = 1 / (1 + np.exp(-(5 * np.sqrt(3) + 0.5)))
    assert greet.confidence == pytest.approx(probability * 0.5 / CharNgramClassifier.FULL_COVERAGE)
    assert model().classify("NO", "en").intent == "deny"


def test_a_message_of_unknown_ngrams_falls_back_on_the_intercept_with_no_confidence() -> None:
    blorp = model().classify("blorp", "en")
    assert (blorp.intent, blorp.confidence) == ("greet", 0.0)

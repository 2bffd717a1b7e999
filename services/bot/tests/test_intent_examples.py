"""The intent classifier's input: the content's examples as the model is trained on them, and a
message as the model reads it (numbers made one, a message fully known scored undamped)."""

import numpy as np
import pytest

from relais_bot.domain.intents import CharNgramClassifier, IntentWeights, char_wb_ngrams, training_examples
from relais_bot.domain.policy import Bot

pytestmark = pytest.mark.unit


def test_intent_examples_are_pooled_across_languages_with_numbers_made_one_and_paired_with_their_intent(
    bot: Bot,
) -> None:
    content = bot.tenant("demo").content
    texts, labels = training_examples(content)
    expected = [
        (intent.name, example)
        for intent in content.intents
        for examples in intent.examples.values()
        for example in examples
    ]
    assert labels == [name for name, _ in expected]
    assert len(texts) == len(expected)
    numbered = [
        (text, name)
        for text, (name, example) in zip(texts, expected, strict=True)
        if any(c.isdigit() for c in example)
    ]
    for text, _ in numbered:
        assert set(c for c in text if c.isdigit()) <= {"0"}, text


def test_an_ngram_model_reads_numbers_as_one_and_a_fully_known_message_at_its_full_probability() -> None:
    grams = char_wb_ngrams("no")
    weights = IntentWeights(
        classes=["deny", "other"],
        vocabulary={g: i for i, g in enumerate(grams)},
        idf=np.ones(len(grams)),
        coef=np.array([[1.0] * len(grams), [0.0] * len(grams)]),
        intercept=np.zeros(2),
    )
    classifier = CharNgramClassifier(weights)
    assert classifier.ngrams("Commande 12 345") == ("commande 0 0", char_wb_ngrams("commande 0 0"))
    prediction = classifier.classify("NO", "en")
    assert prediction.intent == "deny"
    # Every n-gram known: no damping, the confidence is the class probability itself.
    assert prediction.confidence == pytest.approx(float(classifier.probabilities(grams)[0]))
    assert classifier.classify("", "en").confidence == 0.0


def test_any_run_of_whitespace_separates_two_words_as_one_space_does() -> None:
    assert (
        char_wb_ngrams("ab \t\n  cd")
        == char_wb_ngrams("ab cd")
        == [" a", "ab", "b ", " ab", "ab ", " ab ", " c", "cd", "d ", " cd", "cd ", " cd "]
    )


def test_large_scores_give_a_probability_not_an_overflow() -> None:
    grams = char_wb_ngrams("no")
    weights = IntentWeights(
        classes=["deny", "other"],
        vocabulary={g: i for i, g in enumerate(grams)},
        idf=np.ones(len(grams)),
        coef=np.zeros((2, len(grams))),
        intercept=np.array([800.0, 0.0]),
    )
    probabilities = CharNgramClassifier(weights).probabilities(grams)
    assert probabilities.tolist() == [1.0, 0.0]

"""Intent classification behind an interface, so an external NLU can replace the built-in model."""

import functools
import re
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from relais_bot.domain.content import Content
from relais_bot.domain.language import normalise

_DIGITS = re.compile(r"\d+")
NGRAMS = (2, 5)  # character n-grams, shortest and longest


def _plain(text: str) -> str:
    """Normalised, every number the same: order numbers and amounts say nothing of the intent."""
    return _DIGITS.sub("0", normalise(text))


@dataclass(frozen=True, slots=True)
class Prediction:
    intent: str
    confidence: float


class ClassifiesIntents(Protocol):
    def classify(self, text: str, language: str) -> Prediction: ...


@dataclass(frozen=True)
class IntentWeights:
    """What training learnt: the n-gram vocabulary, its idf, and the logistic regression's weights."""

    classes: list[str]
    vocabulary: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray


def training_examples(content: Content) -> tuple[list[str], list[str]]:
    """The content's examples of every language, pooled, as the model reads them, and their intents."""
    texts: list[str] = []
    labels: list[str] = []
    for intent in content.intents:
        for examples in intent.examples.values():
            texts += [_plain(e) for e in examples]
            labels += [intent.name] * len(examples)
    return texts, labels


_SPACES = re.compile(r"\s\s+")


def char_wb_ngrams(plain: str, smallest: int = NGRAMS[0], largest: int = NGRAMS[1]) -> list[str]:
    """scikit-learn's "char_wb" analyzer (lowercased, each word padded with a space, n-grams inside it),
    so the serving process needs no scikit-learn; a unit test holds the two to the same output."""
    grams: list[str] = []
    for word in _SPACES.sub(" ", plain.lower()).split():
        grams += _word_ngrams(word, smallest, largest)
    return grams


@functools.lru_cache(maxsize=50_000)
def _word_ngrams(word: str, smallest: int, largest: int) -> tuple[str, ...]:
    """One word's n-grams: customers use the same words again and again, so they are cut once (as the
    normalizer's features are)."""
    grams: list[str] = []
    padded = f" {word} "
    for n in range(smallest, largest + 1):
        grams += [padded[i : i + n] for i in range(max(1, len(padded) - n + 1))]
        if len(padded) <= n:
            break  # a short word counts once, whatever n
    return tuple(grams)


class CharNgramClassifier:
    """TF-IDF over character n-grams and a logistic regression, trained from the content's examples.

    Character n-grams within word boundaries tolerate typos, missing accents and SMS spelling, and one
    model serves every language (the examples of all languages are pooled). Training takes well under
    a second for a few hundred examples, so it happens at start-up (relais_bot.adapters.intent_training,
    in a child process, so that scikit-learn's 100 MB never stay in the bot's memory); the result is
    deterministic. Scoring applies the learnt weights directly.

    The class probability alone is overconfident on words the model never saw ("blorp"): the
    confidence is damped by how much of the message's n-grams the examples cover.
    """

    FULL_COVERAGE = 0.8

    def __init__(self, weights: IntentWeights) -> None:
        self._classes = weights.classes
        self._known = weights.vocabulary
        self._idf = weights.idf
        self._coef = weights.coef
        self._intercept = weights.intercept

    def ngrams(self, text: str) -> tuple[str, list[str]]:
        """The text as the model reads it, and its character n-grams."""
        plain = _plain(text)
        return plain, char_wb_ngrams(plain)

    def probabilities(self, grams: list[str]) -> np.ndarray:
        """Class probabilities of a normalised message: sublinear TF-IDF, L2 norm, softmax of the scores."""
        return self._softmax(self._counts(grams))

    def _counts(self, grams: list[str]) -> "Counter[int]":
        """Occurrences of each known n-gram's column, in the order the n-grams come (counted in C: the
        same columns in the same order as a loop in Python, so the same floats)."""
        counts: Counter[int | None] = Counter(map(self._known.get, grams))
        counts.pop(None, None)
        return counts  # type: ignore[return-value]

    def _softmax(self, counts: "Counter[int]") -> np.ndarray:
        if not counts:
            scores = self._intercept
        else:
            columns = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
            weights = (
                1.0 + np.log(np.fromiter(counts.values(), dtype=float, count=len(counts)))
            ) * self._idf[columns]
            weights /= np.linalg.norm(weights)
            scores = self._coef[:, columns] @ weights + self._intercept
        exp = np.exp(scores - scores.max())
        return np.asarray(exp / exp.sum())

    def classify(self, text: str, language: str) -> Prediction:
        _, grams = self.ngrams(text)
        counts = self._counts(grams)
        probabilities = self._softmax(counts)
        best = int(probabilities.argmax())
        # The known n-grams' share of the message: the counts' total is how many of its n-grams are.
        coverage = counts.total() / len(grams) if grams else 0.0
        damping = min(1.0, coverage / self.FULL_COVERAGE)
        return Prediction(self._classes[best], float(probabilities[best]) * damping)

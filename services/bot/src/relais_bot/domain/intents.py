"""Intent classification behind an interface, so an external NLU can replace the built-in model."""

import re
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]

from relais_bot.domain.content import Content
from relais_bot.domain.language import normalise

_DIGITS = re.compile(r"\d+")


def _plain(text: str) -> str:
    """Normalised, every number the same: order numbers and amounts say nothing of the intent."""
    return _DIGITS.sub("0", normalise(text))


@dataclass(frozen=True, slots=True)
class Prediction:
    intent: str
    confidence: float


class ClassifiesIntents(Protocol):
    def classify(self, text: str, language: str) -> Prediction: ...


class CharNgramClassifier:
    """TF-IDF over character n-grams and a logistic regression, trained from the content's examples.

    Character n-grams within word boundaries tolerate typos, missing accents and SMS spelling, and one
    model serves every language (the examples of all languages are pooled). Training takes well under
    a second for a few hundred examples, so it happens at start-up; the result is deterministic.

    The class probability alone is overconfident on words the model never saw ("blorp"): the
    confidence is damped by how much of the message's n-grams the examples cover.
    """

    FULL_COVERAGE = 0.8

    def __init__(self, content: Content) -> None:
        texts: list[str] = []
        labels: list[str] = []
        for intent in content.intents:
            for examples in intent.examples.values():
                texts += [_plain(e) for e in examples]
                labels += [intent.name] * len(examples)
        self._model = Pipeline(
            [
                ("ngrams", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
                ("classes", LogisticRegression(C=20.0, max_iter=2000)),
            ]
        )
        self._model.fit(texts, labels)
        self._classes = [str(c) for c in self._model.classes_]
        ngrams: TfidfVectorizer = self._model.named_steps["ngrams"]
        classes: LogisticRegression = self._model.named_steps["classes"]
        self._ngrams = ngrams.build_analyzer()
        self._known: dict[str, int] = ngrams.vocabulary_
        # The learnt weights, applied directly: sklearn's per-call input validation costs several times
        # the arithmetic on a one-message batch. `probabilities` is checked against predict_proba in tests.
        self._idf: np.ndarray = ngrams.idf_
        self._coef: np.ndarray = classes.coef_
        self._intercept: np.ndarray = classes.intercept_

    def ngrams(self, text: str) -> tuple[str, list[str]]:
        """The text as the model reads it, and its character n-grams."""
        plain = _plain(text)
        return plain, list(self._ngrams(plain))

    def probabilities(self, grams: list[str]) -> np.ndarray:
        """Class probabilities of a normalised message: sublinear TF-IDF, L2 norm, softmax of the scores."""
        counts = Counter(self._known[g] for g in grams if g in self._known)
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

    def reference_probabilities(self, plain: str) -> np.ndarray:
        """sklearn's own computation, the reference the direct one is tested against."""
        return np.asarray(self._model.predict_proba([plain])[0])

    def classify(self, text: str, language: str) -> Prediction:
        _, grams = self.ngrams(text)
        probabilities = self.probabilities(grams)
        best = int(probabilities.argmax())
        coverage = sum(g in self._known for g in grams) / len(grams) if grams else 0.0
        damping = min(1.0, coverage / self.FULL_COVERAGE)
        return Prediction(self._classes[best], float(probabilities[best]) * damping)

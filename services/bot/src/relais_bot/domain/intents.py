"""Intent classification behind an interface, so an external NLU can replace the built-in model."""

import re
from dataclasses import dataclass
from typing import Protocol

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
        ngrams = self._model.named_steps["ngrams"]
        self._ngrams = ngrams.build_analyzer()
        self._known = ngrams.vocabulary_

    def classify(self, text: str, language: str) -> Prediction:
        plain = _plain(text)
        probabilities = self._model.predict_proba([plain])[0]
        best = int(probabilities.argmax())
        grams = self._ngrams(plain)
        coverage = sum(g in self._known for g in grams) / len(grams) if grams else 0.0
        return Prediction(
            self._classes[best], float(probabilities[best]) * min(1.0, coverage / self.FULL_COVERAGE)
        )

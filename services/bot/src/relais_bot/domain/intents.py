"""Intent classification behind an interface, so an external NLU can replace the built-in model."""

from dataclasses import dataclass
from typing import Protocol

from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]

from relais_bot.domain.content import Content
from relais_bot.domain.language import normalise


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
    """

    def __init__(self, content: Content) -> None:
        texts: list[str] = []
        labels: list[str] = []
        for intent in content.intents:
            for examples in intent.examples.values():
                texts += [normalise(e) for e in examples]
                labels += [intent.name] * len(examples)
        self._model = Pipeline(
            [
                ("ngrams", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
                ("classes", LogisticRegression(C=20.0, max_iter=2000)),
            ]
        )
        self._model.fit(texts, labels)
        self._classes = [str(c) for c in self._model.classes_]

    def classify(self, text: str, language: str) -> Prediction:
        probabilities = self._model.predict_proba([normalise(text)])[0]
        best = int(probabilities.argmax())
        return Prediction(self._classes[best], float(probabilities[best]))

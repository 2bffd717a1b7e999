"""The trained escalation model: one softmax over what a message is (routine, a request for a person,
frustration, or one of the sensitive categories), read as one probability per head.

Trained at build time by `relais_bot.training` on the corpus (services/bot/corpus) and stored as a
compressed NumPy archive of plain arrays (vocabulary, idf, weights, thresholds; no pickle), so the
artefact reads the same with any NumPy and scikit-learn version and start-up does not train anything.
Scoring applies the weights directly: sublinear TF-IDF over the normalizer's features, L2 norm, a
multinomial logistic regression (the classes compete, so "routine" takes its share of every message
instead of each head being judged alone); the "sensitive" head is the sum of the categories.
`relais_bot.training` checks this against scikit-learn's own predictions.
"""

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from relais_bot.domain.normalizer import features, normalize

# The sensitive categories, each a head of its own ...
CATEGORIES = ("fraud", "vulnerability", "health", "privacy", "bereavement", "complaint")
# ... and "sensitive", any of them: a situation may be plainly delicate while its category is not (a
# stroke told while asking to pause a payment reads as health and as vulnerability), and the handoff
# needs the reason more than the category.
HEADS = ("customer-request", "frustration", "sensitive", *CATEGORIES)
# The softmax's classes: the heads less "sensitive" (a sum), plus routine.
CLASSES = ("none", "customer-request", "frustration", *CATEGORIES)


@dataclass(frozen=True, slots=True)
class Scores:
    """Probability per head, and the thresholds stored with the model."""

    values: dict[str, float]
    high: dict[str, float]
    low: dict[str, float]

    def fires(self, head: str) -> bool:
        return self.values[head] >= self.high[head]

    def unsure(self, head: str) -> bool:
        """Between "clearly" and "clearly not": the band where the bot asks rather than guesses."""
        return self.low[head] <= self.values[head] < self.high[head]


class EscalationModel:
    def __init__(
        self,
        vocabulary: list[str] | dict[str, int],
        idf: np.ndarray,
        coef: np.ndarray,
        intercept: np.ndarray,
        high: dict[str, float],
        low: dict[str, float],
        meta: dict[str, object],
    ) -> None:
        # The n-grams in column order, or the index of another model's (the line model shares its message
        # model's: the bot holds one dict of 140,000 n-grams, not two).
        self._index = vocabulary if isinstance(vocabulary, dict) else {g: i for i, g in enumerate(vocabulary)}
        self._idf = idf.astype(np.float64)
        self._coef = coef.astype(np.float64)
        self._intercept = intercept.astype(np.float64)
        self.high = high
        self.low = low
        self.meta = meta
        # The reader of one sentence on its own (`score_line`, `add_lines`), trained on the same messages
        # and on every sentence of the calm ones; None: this model reads sentences too.
        self.lines: EscalationModel | None = None

    @classmethod
    def load(cls, path: Path) -> "EscalationModel":
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["meta"]))
            heads = [str(h) for h in archive["heads"]]
            classes = [str(c) for c in archive["classes"]] if "classes" in archive else []
            if tuple(heads) != HEADS or tuple(classes) != CLASSES:
                raise ValueError(f"{path}: heads {heads}, expected {list(HEADS)}; retrain the model")
            high = dict(zip(HEADS, map(float, archive["high"]), strict=True))
            low = dict(zip(HEADS, map(float, archive["low"]), strict=True))

            vocabulary = [str(v) for v in archive["vocabulary"]]
            prefixes = ("", "lines_") if "lines_coef" in archive else ("",)
            for prefix in prefixes:
                # Weights of another vocabulary or other classes would fail on some message, not here.
                idf, coef, intercept = (archive[f"{prefix}{n}"] for n in ("idf", "coef", "intercept"))
                if (
                    idf.shape != (len(vocabulary),)
                    or coef.shape != (len(CLASSES), len(vocabulary))
                    or (intercept.shape != (len(CLASSES),))
                ):
                    raise ValueError(f"{path}: {prefix}weights do not fit the vocabulary; retrain the model")
            model = cls(vocabulary, archive["idf"], archive["coef"], archive["intercept"], high, low, meta)
            if "lines_coef" in archive:
                model.add_lines(archive["lines_idf"], archive["lines_coef"], archive["lines_intercept"])
            return model

    def add_lines(self, idf: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> "EscalationModel":
        """The line model's weights, on this model's vocabulary."""
        self.lines = EscalationModel(self._index, idf, coef, intercept, self.high, self.low, {})
        return self.lines

    def _weights(self, prefix: str = "") -> dict[str, np.ndarray]:
        return {
            f"{prefix}idf": self._idf.astype(np.float32),
            f"{prefix}coef": self._coef.astype(np.float32),
            f"{prefix}intercept": self._intercept.astype(np.float32),
        }

    def save(self, path: Path) -> None:
        if self.lines is not None and self.lines._index is not self._index:
            raise ValueError("the line model must share the message model's vocabulary")
        vocabulary = sorted(self._index, key=self._index.__getitem__)
        arrays = {
            "vocabulary": np.array(vocabulary, dtype=np.str_),
            **self._weights(),
            **(self.lines._weights("lines_") if self.lines else {}),
            "heads": np.array(HEADS, dtype=np.str_),
            "classes": np.array(CLASSES, dtype=np.str_),
            "high": np.array([self.high[h] for h in HEADS], dtype=np.float64),
            "low": np.array([self.low[h] for h in HEADS], dtype=np.float64),
            "meta": np.array(json.dumps(self.meta, sort_keys=True)),
        }
        np.savez_compressed(path, allow_pickle=False, **arrays)

    def vector(self, grams: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Columns and L2-normalised sublinear TF-IDF weights of a message's known features."""
        # Counted in C (map and Counter), in the order the features come as before: the same floats.
        counts = Counter(map(self._index.get, grams))
        counts.pop(None, None)
        if not counts:
            return np.zeros(0, dtype=np.intp), np.zeros(0)
        columns = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        weights = (1.0 + np.log(np.fromiter(counts.values(), dtype=float, count=len(counts)))) * self._idf[
            columns
        ]
        return columns, weights / np.linalg.norm(weights)

    def probabilities(self, normalized: str) -> np.ndarray:
        """One probability per head, in the order of HEADS."""
        columns, weights = self.vector(features(normalized))
        logits = self._coef[:, columns] @ weights + self._intercept
        exp = np.exp(logits - logits.max())
        return heads_of(exp / exp.sum())

    def score(self, text: str) -> Scores:
        return self.score_normalized(normalize(text))

    def score_normalized(self, normalized: str) -> Scores:
        """`score` of a text already through `normalize` (the detectors need both)."""
        values = self.probabilities(normalized)
        return Scores(dict(zip(HEADS, map(float, values), strict=True)), self.high, self.low)

    def score_line(self, sentence: str) -> Scores:
        """One sentence of a longer message read on its own, against this model's thresholds."""
        if self.lines is None:
            return self.score(sentence)
        return Scores(self.lines.score(sentence).values, self.high, self.low)


def heads_of(classes: np.ndarray) -> np.ndarray:
    """Class probabilities (last axis in the order of CLASSES) as head probabilities (HEADS)."""
    categories = classes[..., 3:]
    return np.concatenate([classes[..., 1:3], categories.sum(axis=-1, keepdims=True), categories], axis=-1)

"""`make train-bot`: trains the escalation model on the corpus and writes it into the package.

    uv run python -m relais_bot.training

Deterministic: the same corpus gives the same artefact. Thresholds are calibrated per head on
validation folds: the corpus is cut into five folds by phrase family (GroupKFold), each fold is scored
by a model trained on the other four, and the thresholds are chosen on those out-of-fold scores, so a
family's wording is never seen while its own threshold is set (the blind sets are never read here).
The shipped model is then trained on the whole corpus, with those thresholds.
"""

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import sklearn  # type: ignore[import-untyped]
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.model_selection import GroupKFold  # type: ignore[import-untyped]

from relais_bot.domain.escalation_model import HEADS, EscalationModel
from relais_bot.domain.normalizer import features, normalize

SERVICE = Path(__file__).resolve().parents[2]
CORPUS = SERVICE / "corpus"
MODEL = Path(__file__).resolve().parent / "content" / "escalation-model.npz"
DEV_SETS = sorted((SERVICE / "eval").glob("*.jsonl"))
C = 8.0
FOLDS = 5
# Per head, at most this share of routine messages (label null) above the "clearly" threshold ...
MAX_FALSE_RATE = 0.006
# ... and, for the request for a person, above the "ask the customer" threshold.
MAX_ASK_RATE = 0.04
MIN_PRECISION = 0.9


def corpus_files(corpus: Path = CORPUS) -> list[Path]:
    return sorted([*corpus.glob("*.jsonl"), *corpus.glob("*/*.jsonl")])


def read_corpus(corpus: Path = CORPUS) -> list[dict[str, Any]]:
    rows = []
    for path in corpus_files(corpus):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("label") not in (None, *HEADS, "sensitive"):
                raise ValueError(f"{path}:{n}: unknown label {row.get('label')!r}")
            if row.get("label") == "sensitive" and row.get("category") not in HEADS:
                raise ValueError(f"{path}:{n}: a sensitive message needs a known category")
            row.setdefault("family", f"{path.name}:{n}")
            rows.append(row)
    return rows


def targets(rows: list[dict[str, Any]]) -> np.ndarray:
    """One column per head: 1 where the row is that reason or that sensitive category."""
    y = np.zeros((len(rows), len(HEADS)), dtype=np.int8)
    for i, row in enumerate(rows):
        head = row["category"] if row["label"] == "sensitive" else row["label"]
        if head is not None:
            y[i, HEADS.index(head)] = 1
    return y


def _vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(analyzer=features, sublinear_tf=True, min_df=2, dtype=np.float64)


def _fit(texts: list[str], y: np.ndarray) -> tuple[TfidfVectorizer, list[LogisticRegression]]:
    vectorizer = _vectorizer()
    x = vectorizer.fit_transform(texts)
    heads = []
    for h in range(len(HEADS)):
        model = LogisticRegression(C=C, solver="liblinear", class_weight="balanced", random_state=0)
        heads.append(model.fit(x, y[:, h]))
    return vectorizer, heads


def _predict(vectorizer: TfidfVectorizer, heads: list[LogisticRegression], texts: list[str]) -> np.ndarray:
    x = vectorizer.transform(texts)
    return np.column_stack([m.predict_proba(x)[:, 1] for m in heads])


def _threshold(scores: np.ndarray, positive: np.ndarray, routine: np.ndarray, max_false: float) -> float:
    """The lowest threshold whose precision and false rate on routine messages stay within bounds."""
    for t in np.round(np.arange(0.10, 0.96, 0.01), 2):
        above = scores >= t
        false_rate = above[routine].mean() if routine.any() else 0.0
        precision = (above & positive).sum() / max(above.sum(), 1)
        if false_rate <= max_false and precision >= MIN_PRECISION:
            return float(t)
    return 0.95


def calibrate(rows: list[dict[str, Any]], texts: list[str], y: np.ndarray) -> dict[str, Any]:
    groups = [r["family"] for r in rows]
    oof = np.zeros(y.shape)
    for train, test in GroupKFold(n_splits=FOLDS).split(texts, y[:, 0], groups):
        vectorizer, heads = _fit([texts[i] for i in train], y[train])
        oof[test] = _predict(vectorizer, heads, [texts[i] for i in test])
    routine = y.sum(axis=1) == 0
    high, low, validation = {}, {}, {}
    for h, head in enumerate(HEADS):
        positive = y[:, h] == 1
        high[head] = _threshold(oof[:, h], positive, routine, MAX_FALSE_RATE)
        low[head] = high[head]
        if head == "customer-request":
            low[head] = min(high[head], _threshold(oof[:, h], positive, routine, MAX_ASK_RATE))
        validation[head] = {
            "positives": int(positive.sum()),
            "recall": round(float((oof[positive, h] >= high[head]).mean()), 4),
            "recall_with_question": round(float((oof[positive, h] >= low[head]).mean()), 4),
            "false_rate_routine": round(float((oof[routine, h] >= high[head]).mean()), 4),
            "question_rate_routine": round(float((oof[routine, h] >= low[head]).mean()), 4),
        }
    return {"high": high, "low": low, "validation": validation}


def train(corpus: Path = CORPUS) -> tuple[EscalationModel, dict[str, Any]]:
    rows = read_corpus(corpus)
    # A message that is also in a development evaluation set is left out of training, so that set
    # never scores the model on its own lessons (short ones like "bonjour" are bound to recur).
    evaluation = {normalize(json.loads(line)["text"]) for p in DEV_SETS for line in p.open() if line.strip()}
    kept = [(r, t) for r in rows if (t := normalize(r["text"])) not in evaluation]
    left_out = len(rows) - len(kept)
    rows, texts = [r for r, _ in kept], [t for _, t in kept]
    y = targets(rows)
    calibration = calibrate(rows, texts, y)
    vectorizer, heads = _fit(texts, y)
    vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    meta = {
        "corpus": {p.relative_to(corpus).as_posix(): _sha256(p) for p in corpus_files(corpus)},
        "messages": len(rows),
        "left_out_as_in_evaluation_sets": left_out,
        "folds": FOLDS,
        "c": C,
        "validation": calibration["validation"],
        "trained_with": f"scikit-learn {sklearn.__version__}",
    }
    model = EscalationModel(
        vocabulary, vectorizer.idf_, np.vstack([m.coef_[0] for m in heads]),
        np.array([m.intercept_[0] for m in heads]), calibration["high"], calibration["low"], meta,
    )  # fmt: skip
    # The direct scoring at run time must agree with scikit-learn's own.
    reference = _predict(vectorizer, heads, texts[:200])
    mine = np.vstack([model.probabilities(t) for t in texts[:200]])
    if not np.allclose(reference, mine, atol=1e-6):
        raise AssertionError("direct scoring disagrees with scikit-learn")
    return model, meta


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stale(model_path: Path = MODEL, corpus: Path = CORPUS) -> list[str]:
    """Corpus files changed, added or removed since the model was trained."""
    recorded: dict[str, str] = EscalationModel.load(model_path).meta["corpus"]  # type: ignore[assignment]
    current = {p.relative_to(corpus).as_posix(): _sha256(p) for p in corpus_files(corpus)}
    return sorted(k for k in recorded.keys() | current.keys() if recorded.get(k) != current.get(k))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=MODEL)
    args = parser.parse_args()
    model, meta = train()
    model.save(args.out)
    print(json.dumps({"high": model.high, "low": model.low, **meta}, indent=2), file=sys.stderr)
    print(f"{meta['messages']} messages; model written to {args.out}")


if __name__ == "__main__":
    main()

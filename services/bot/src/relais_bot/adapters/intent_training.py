"""Trains the tenants' intent classifiers with scikit-learn, in a child process.

Importing scikit-learn (and SciPy) costs the process that does it about 100 MB for good, and the bot
needs scikit-learn only to fit a few hundred examples at start-up. So `train` runs this module as a
child (`python -m relais_bot.adapters.intent_training`): it reads the examples as JSON on stdin, fits,
and writes the learnt arrays as a NumPy archive on stdout (no pickle); the bot keeps the arrays and
scores with them directly (domain/intents.py).

With a cache directory (`RELAIS_BOT_INTENTS_CACHE_DIR`), the archive the child wrote is kept under the
SHA-256 of everything the fit depends on (the examples, this module's source, the n-gram range, the
versions of scikit-learn, SciPy and NumPy), and a later start with the same inputs reads it instead of
fitting again: the fit is deterministic, so the arrays are the ones a new fit would give.
"""

import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from relais_bot.domain.content import Content
from relais_bot.domain.intents import NGRAMS, IntentWeights, training_examples

C = 20.0
MAX_ITER = 2000


class TrainingError(RuntimeError):
    """The child process could not train the classifiers; its own error message is kept."""


def fit(texts: list[str], labels: list[str]) -> Any:
    """The scikit-learn pipeline itself (TF-IDF over character n-grams, logistic regression)."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]

    pipeline = Pipeline(
        [
            ("ngrams", TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True)),
            ("classes", LogisticRegression(C=C, max_iter=MAX_ITER)),
        ]
    )
    return pipeline.fit(texts, labels)


def weights_of(pipeline: Any) -> IntentWeights:
    ngrams, classes = pipeline.named_steps["ngrams"], pipeline.named_steps["classes"]
    return IntentWeights(
        classes=[str(c) for c in classes.classes_],
        vocabulary={str(g): int(i) for g, i in ngrams.vocabulary_.items()},
        idf=np.asarray(ngrams.idf_, dtype=np.float64),
        coef=np.asarray(classes.coef_, dtype=np.float64),
        intercept=np.asarray(classes.intercept_, dtype=np.float64),
    )


def cache_key(examples: bytes) -> str:
    """What a fit depends on, hashed: the examples, the training code and the numeric libraries."""
    digest = hashlib.sha256(examples)
    digest.update(Path(__file__).read_bytes())
    digest.update(repr(NGRAMS).encode())
    for package in ("scikit-learn", "scipy", "numpy"):
        digest.update(f"{package}=={version(package)}".encode())
    return digest.hexdigest()


def _keep(cache_dir: Path, key: str, archive: bytes) -> None:
    """Written whole or not at all (a rename), so a reader never sees half an archive."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=cache_dir, suffix=".partial")
    with os.fdopen(fd, "wb") as out:
        out.write(archive)
    os.replace(partial, cache_dir / f"{key}.npz")


def _fit_in_child(examples: bytes, timeout_s: float) -> bytes:
    done = subprocess.run(  # noqa: S603 (this module, run by this interpreter)
        [sys.executable, "-m", __name__],
        input=examples,
        capture_output=True,
        timeout=timeout_s,
        check=False,
    )
    if done.returncode != 0:
        raise TrainingError(f"intent training failed: {done.stderr.decode(errors='replace')[-2000:]}")
    return done.stdout


def train(
    contents: dict[str, Content], timeout_s: float = 300.0, cache_dir: Path | None = None
) -> dict[str, IntentWeights]:
    """Every tenant's classifier, fitted in one child process (or read from `cache_dir`, see above)."""
    examples = {tenant: training_examples(content) for tenant, content in contents.items()}
    request = json.dumps(examples).encode()
    key = cache_key(request)
    if cache_dir is not None:
        try:
            return _weights(contents, (cache_dir / f"{key}.npz").read_bytes())
        except (OSError, ValueError, KeyError):  # none yet, or unreadable: fit anew
            pass
    archive = _fit_in_child(request, timeout_s)
    weights = _weights(contents, archive)
    if cache_dir is not None:
        _keep(cache_dir, key, archive)
    return weights


def _weights(contents: dict[str, Content], archive: bytes) -> dict[str, IntentWeights]:
    with np.load(io.BytesIO(archive), allow_pickle=False) as arrays:
        return {
            tenant: IntentWeights(
                classes=[str(c) for c in arrays[f"{tenant}/classes"]],
                vocabulary={str(g): i for i, g in enumerate(arrays[f"{tenant}/vocabulary"])},
                idf=arrays[f"{tenant}/idf"],
                coef=arrays[f"{tenant}/coef"],
                intercept=arrays[f"{tenant}/intercept"],
            )
            for tenant in contents
        }


def main() -> None:
    examples: dict[str, list[list[str]]] = json.load(sys.stdin)
    arrays: dict[str, Any] = {}
    for tenant, (texts, labels) in examples.items():
        weights = weights_of(fit(texts, labels))
        vocabulary = sorted(weights.vocabulary, key=weights.vocabulary.__getitem__)
        arrays |= {
            f"{tenant}/classes": np.array(weights.classes, dtype=np.str_),
            f"{tenant}/vocabulary": np.array(vocabulary, dtype=np.str_),
            f"{tenant}/idf": weights.idf,
            f"{tenant}/coef": weights.coef,
            f"{tenant}/intercept": weights.intercept,
        }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    sys.stdout.buffer.write(buffer.getvalue())


if __name__ == "__main__":
    main()

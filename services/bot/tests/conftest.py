"""The bot built once from its bundled content.

Fitting the intent classifiers (scikit-learn, in a child process) is most of the build's cost, and
`make mutate` builds the bot again for every mutant (each mutant runs its tests in a fresh pytest
session, forked from the process that ran them first). The fitted arrays are a function of the training
examples alone, so they are kept here per examples: a build whose examples are the same (every mutant
outside the code that makes them) reuses them, and one whose examples differ fits anew. Everything
else of the build, and all of the domain code, runs every time.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from relais_bot.adapters import intent_training
from relais_bot.adapters.content_files import build_bot
from relais_bot.domain.content import Content
from relais_bot.domain.intents import IntentWeights, training_examples
from relais_bot.domain.policy import Bot

# Module state on purpose: pytest keeps this conftest imported across sessions in one process, and
# mutmut forks its mutant runs from that process.
_FITTED: dict[str, dict[str, IntentWeights]] = {}
_train = intent_training.train


def _train_once_per_examples(
    contents: dict[str, Content], timeout_s: float = 300.0, cache_dir: Path | None = None
) -> dict[str, IntentWeights]:
    if cache_dir is not None:  # a test of the on-disk cache itself: the real thing
        return _train(contents, timeout_s, cache_dir)
    key = json.dumps({tenant: training_examples(content) for tenant, content in contents.items()})
    if key not in _FITTED:
        _FITTED[key] = _train(contents, timeout_s)
    return _FITTED[key]


@pytest.fixture(scope="session")
def bot() -> Iterator[Bot]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(intent_training, "train", _train_once_per_examples)
        yield build_bot()

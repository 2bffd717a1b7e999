"""The bot's quality on blind sets: messages written by someone who saw neither the corpus nor the cues.

Only sets not yet used to tune anything (`tuned_on: false` in their header) are held to account. Each
figure must reach the escalation issue's target, or, where the bot has not reached it yet, must not fall
below the set's recorded first score by more than one message: a retrained model or a new cue that does
worse on unseen messages fails here.

One message, because a figure of a blind set moves by one message at a time (0.8 point of false
escalations in 120 routine messages, 6.7 points of a category of 15) and a change may trade one for
another: the development calibration of stop 13 lifted blind-h's frustration recall from 85.0 % to
95.0 % and its sensitive recall from 91.1 % to 94.4 % for one more false escalation (2.5 % to 3.3 %),
which a bound of zero would refuse. The bound is always the first score, never the last one, so
changes cannot ratchet a figure down one message at a time.
"""

import json
from pathlib import Path
from typing import Any

import pytest

from relais_bot.adapters.content_files import build_bot
from relais_bot.domain.policy import Bot
from relais_bot.evaluation import BLIND, TARGETS, evaluate, headline

pytestmark = pytest.mark.unit


def _header(path: Path) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads(path.open(encoding="utf-8").readline())["_meta"]
    return meta


UNTOUCHED = sorted(p for p in BLIND.glob("*.jsonl") if not _header(p)["tuned_on"])


@pytest.fixture(scope="module")
def bot() -> Bot:
    return build_bot()


def test_at_least_two_blind_sets_are_untouched() -> None:
    assert len(UNTOUCHED) >= 2, "write fresh blind sets: every one has been tuned on"


@pytest.mark.slow
@pytest.mark.parametrize("path", UNTOUCHED, ids=lambda p: p.stem)
def test_the_bot_reaches_its_targets_or_holds_its_first_score(bot: Bot, path: Path) -> None:
    first = _header(path)["first_score"]
    assert first is not None, f"{path.name}: record its first score (make eval-bot RECORD=<commit>)"
    report = evaluate(path, bot)
    now = headline(report)
    failures = []
    for figure, target in TARGETS.items():
        step = 1 / _items(report, figure)
        if figure == "false_escalations":
            bound = max(target, first[figure] + step)
            if now[figure] > bound + 1e-9:
                failures.append(f"{figure} {now[figure]:.4f} > {bound:.4f}")
        else:
            bound = min(target, first[figure] - step)
            if now[figure] < bound - 1e-9:
                failures.append(f"{figure} {now[figure]:.4f} < {bound:.4f}")
    assert not failures, f"{path.name}: {failures}"


def _items(report: dict[str, Any], figure: str) -> int:
    """How many messages a figure counts: one of them is its smallest step."""
    if figure == "false_escalations":
        return int(report["no_person_needed"]["items"])
    if figure == "sensitive_each_category":
        return min(int(c["expected"]) for c in report["sensitive_categories"].values())
    reason = {"frustration": "frustration"}.get(figure, "customer-request")
    return int(report["reasons"][reason]["expected"])

"""The development calibration of the escalation model's thresholds (relais_bot.training)."""

import json
from pathlib import Path
from typing import Any

import pytest

from relais_bot.domain.escalation_model import EscalationModel
from relais_bot.domain.normalizer import normalize
from relais_bot.training import (
    DEV_MAX_FALSE_RATE,
    MIN_HIGH,
    MODEL,
    calm_sentences,
    development_blind_sets,
    recalibrate,
    stale,
)

pytestmark = pytest.mark.unit

ANGRY = [
    "this is the worst service I have ever had, three weeks and nothing",
    "c'est une honte, personne ne répond depuis un mois",
    "estoy harto, nadie me soluciona nada",
    "ich bin stinksauer, schon wieder keine Lieferung",
    "sono esasperato, nessuno risponde mai",
    "estou farto disto, ninguém resolve nada",
]
CALM = [
    "where is my parcel?",
    "how do I change my delivery address",
    "quel est le prix de l'abonnement",
    "wann kommt meine Bestellung",
    "puedo pagar con tarjeta",
    "quanto costa la spedizione",
]


def write_set(path: Path, tuned_on: bool, rows: list[dict[str, Any]]) -> Path:
    header = {"_meta": {"name": path.stem, "tuned_on": tuned_on, "first_score": None}}
    path.write_text("\n".join(json.dumps(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


def items(texts: list[str], expect: str | None) -> list[dict[str, Any]]:
    return [{"id": f"{expect}-{n}", "text": t, "expect": expect} for n, t in enumerate(texts)]


def fold_model() -> EscalationModel:
    """The shipped model with the thresholds the validation folds gave it."""
    model = EscalationModel.load(MODEL)
    folds = model.meta["fold_thresholds"]
    model.high, model.low = dict(folds["high"]), dict(folds["low"])  # type: ignore[index]
    return model


def test_only_blind_sets_already_tuned_on_are_read(tmp_path: Path) -> None:
    tuned = write_set(tmp_path / "blind-x.jsonl", True, items(CALM, None))
    write_set(tmp_path / "blind-y.jsonl", False, items(ANGRY, "frustration"))
    assert development_blind_sets(tmp_path) == [tuned]


def test_thresholds_come_down_where_routine_messages_allow_never_below_the_floor(tmp_path: Path) -> None:
    dev = write_set(tmp_path / "blind-x.jsonl", True, items(ANGRY, "frustration") + items(CALM * 40, None))
    model = fold_model()
    folds = dict(model.high)
    report = recalibrate(model, [dev])["heads"]
    # Nothing calm scores near frustration here: the threshold falls to the floor, not below.
    assert model.high["frustration"] == MIN_HIGH
    assert report["frustration"]["false_rate_routine"] <= DEV_MAX_FALSE_RATE["frustration"]
    for head, value in model.high.items():
        assert value <= folds[head]  # never raised above the fold threshold
        assert model.low[head] <= value


def test_a_routine_message_that_scores_high_keeps_the_fold_threshold(tmp_path: Path) -> None:
    model = fold_model()
    folds = dict(model.high)
    trap = "this is the worst service I have ever had, three weeks and nothing"  # labelled routine here
    assert model.score(trap).values["frustration"] >= folds["frustration"]
    dev = write_set(tmp_path / "blind-x.jsonl", True, items(ANGRY[1:], "frustration") + items([trap], None))
    recalibrate(model, [dev])
    # Lowering it would escalate the one routine message: the set's false rate would be 100 %.
    assert model.high["frustration"] == folds["frustration"]


def test_a_set_newly_tuned_on_makes_the_model_stale(tmp_path: Path) -> None:
    corpus = MODEL.parents[3] / "corpus"
    blind = tmp_path / "blind"
    blind.mkdir()
    for path in development_blind_sets():
        (blind / path.name).write_bytes(path.read_bytes())
    assert stale(MODEL, corpus, blind) == []
    write_set(blind / "blind-z.jsonl", True, items(CALM, None))
    assert stale(MODEL, corpus, blind) == ["blind/blind-z.jsonl"]


def test_the_line_model_learns_each_sentence_of_the_calm_messages_only() -> None:
    rows = [
        {"text": "Quick one, bear with me. Does my data carry over? Thanks a lot!", "label": None},
        {"text": "I have waited three weeks. Put me through to a person now!", "label": "customer-request"},
        {"text": "Where is my parcel? Thanks a lot!", "label": None},
    ]
    texts = [normalize(r["text"]) for r in rows] + [normalize("Thanks a lot!")]
    lines = calm_sentences(rows, texts)
    assert [r["text"] for r, _ in lines] == [
        "Quick one, bear with me.",
        "Does my data carry over?",
        "Where is my parcel?",
    ]
    assert all(r["label"] is None and r["source"] == "sentence" for r, _ in lines)
    # A sentence that is a message of the corpus keeps that message's label; a repeated one is one row.
    assert [t for _, t in lines] == [normalize(r["text"]) for r, _ in lines]

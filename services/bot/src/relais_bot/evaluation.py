"""`make eval-bot`: the bot's decisions on a labelled set of customer messages, scored.

Each item is played as a fresh conversation (its `context` turns first) through the real policy with
the bundled demo content. Prints precision and recall per escalation reason, the false escalations on
messages that need no person, and intent accuracy; writes the same as JSON.
"""

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from relais_bot.adapters.content_files import build_bot
from relais_bot.domain.policy import Bot, BotState
from relais_contracts.conversation import CustomerMessage, CustomerMessageData

DATA = Path(__file__).resolve().parents[2] / "eval" / "utterances.jsonl"
REASONS = ("customer-request", "sensitive", "frustration")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Result:
    item: dict[str, Any]
    reason: str | None  # why the bot handed over during the item's turns, None if it did not
    intent: str  # the classifier's best guess for the last turn
    outcome: str


def play(bot: Bot, item: dict[str, Any], tenant: str = "demo") -> Result:
    state = BotState()
    turns = [*item.get("context", ()), item["text"]]
    decision, reason = None, None
    for n, text in enumerate(turns):
        message = CustomerMessage(
            id=f"{item['id']}-{n}", source="eval", time=T0 + timedelta(seconds=30 * n), tenant=tenant,
            subject=item["id"],
            data=CustomerMessageData(
                message_id=f"{item['id']}-{n}", channel="webchat", address="eval", text=text,
                external_id=f"{n}",
            ),
        )  # fmt: skip
        decision = bot.decide(state, message)
        state = decision.state
        reason = reason or decision.reason
    assert decision is not None
    assert decision.outcome is not None
    guess = bot.tenant(tenant).classifier.classify(item["text"], state.language or "en")
    return Result(item, reason, guess.intent, decision.outcome)


def score(results: list[Result]) -> dict[str, Any]:
    report: dict[str, Any] = {"items": len(results), "reasons": {}}
    for reason in REASONS:
        expected = [r for r in results if r.item["expect"] == reason]
        flagged = [r for r in results if r.reason == reason]
        hits = [r for r in flagged if r.item["expect"] == reason]
        report["reasons"][reason] = {
            "expected": len(expected),
            "flagged": len(flagged),
            "precision": round(len(hits) / len(flagged), 4) if flagged else None,
            "recall": round(len(hits) / len(expected), 4) if expected else None,
            # Handed over at all, whatever the recorded reason: what the customer experiences.
            "escalated": round(sum(r.reason is not None for r in expected) / len(expected), 4)
            if expected
            else None,
        }
    sensitive = [r for r in results if r.item["expect"] == "sensitive"]
    report["sensitive_categories"] = {
        category: round(
            sum(r.reason == "sensitive" for r in sensitive if r.item["category"] == category)
            / sum(r.item["category"] == category for r in sensitive),
            4,
        )
        for category in sorted({r.item["category"] for r in sensitive})
    }
    calm = [r for r in results if r.item["expect"] is None]
    wrongly = [r for r in calm if r.reason is not None]
    report["no_person_needed"] = {
        "items": len(calm),
        "false_escalations": len(wrongly),
        "rate": round(len(wrongly) / len(calm), 4) if calm else None,
        "by_kind": dict(Counter(r.item["kind"] for r in wrongly)),
        "examples": [f"{r.item['text']} -> {r.reason}" for r in wrongly],
    }
    labelled = [r for r in results if r.item.get("intent") and r.item["expect"] is None]
    correct = [r for r in labelled if r.intent == r.item["intent"]]
    answered = [r for r in labelled if r.outcome == "answered" and r.intent == r.item["intent"]]
    wrong = [r for r in labelled if r.outcome == "answered" and r.intent != r.item["intent"]]
    clarified = [r for r in labelled if r.outcome == "clarified"]
    report["intents"] = {
        "items": len(labelled),
        "accuracy": round(len(correct) / len(labelled), 4) if labelled else None,
        "answered_right": round(len(answered) / len(labelled), 4) if labelled else None,
        "answered_wrong": round(len(wrong) / len(labelled), 4) if labelled else None,
        "clarified": round(len(clarified) / len(labelled), 4) if labelled else None,
        "errors": [
            f"{r.item['text']} -> {r.intent} (expected {r.item['intent']})"
            for r in labelled
            if r not in correct
        ],
    }
    report["missed"] = [
        f"{r.item['text']} -> {r.reason} (expected {r.item['expect']})"
        for r in results
        if r.item["expect"] is not None and r.reason != r.item["expect"]
    ]
    return report


def evaluate(data: Path = DATA) -> dict[str, Any]:
    bot = build_bot()
    items = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines() if line.strip()]
    return score([play(bot, item) for item in items])


def _print(report: dict[str, Any]) -> None:
    print(f"{report['items']} utterances\n")
    header = ("expected", 9), ("flagged", 9), ("precision", 11), ("recall", 9), ("escalated", 11)
    print(f"{'escalation reason':<20}" + "".join(f"{name:>{width}}" for name, width in header))
    for reason, r in report["reasons"].items():
        print(
            f"{reason:<20}{r['expected']:>9}{r['flagged']:>9}{_pct(r['precision']):>11}{_pct(r['recall']):>9}"
            f"{_pct(r['escalated']):>11}"
        )
    print(
        "\nsensitive recall by category: "
        + ", ".join(f"{k} {_pct(v)}" for k, v in report["sensitive_categories"].items())
    )
    calm = report["no_person_needed"]
    print(
        "false escalations (routine, small talk, tricky negatives): "
        f"{calm['false_escalations']}/{calm['items']} = {_pct(calm['rate'])}"
    )
    intents = report["intents"]
    print(
        f"intent accuracy: {_pct(intents['accuracy'])} of {intents['items']}; "
        f"answered with the right intent: {_pct(intents['answered_right'])}, "
        f"with a wrong one: {_pct(intents['answered_wrong'])}, asked to clarify: {_pct(intents['clarified'])}"
    )
    for title, lines in (
        ("missed escalations", report["missed"]),
        ("false escalations", calm["examples"]),
        ("intent errors", intents["errors"]),
    ):
        if lines:
            print(f"\n{title}:")
            for line in lines:
                print(f"  {line}")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=Path(".local/bench/bot-eval.json"))
    args = parser.parse_args()
    report = evaluate(args.data)
    _print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""`make eval-bot`: the bot's decisions on labelled customer messages, scored per set.

Sets: the development sets (services/bot/eval/*.jsonl, used while building the bot) and every blind
set found in services/bot/eval/blind/*.jsonl (written by someone who never saw the corpus or the cues;
the first line of a blind file is a header {"_meta": {...}}, printed and skipped). Each set is reported
on its own: a blind score mixed with a development score would say nothing.

Each item is played as a fresh conversation (its `context` turns first) through the real policy with
the bundled demo content. When the bot asks "Would you like to talk to a person?" instead of handing
over, the item is played on with a "yes" in its language: for requests for a person, recall on the first
message and within two customer messages are both reported; for items that need no person, the
question is a soft false escalation, reported apart from the hard ones. Precision and recall per
reason, per language and per sensitive category, and intent accuracy; JSON in .local/bench/.
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
from relais_bot.domain.policy import Bot, BotState, Decision
from relais_contracts.conversation import CustomerMessage, CustomerMessageData

EVAL = Path(__file__).resolve().parents[2] / "eval"
DATA = EVAL / "utterances.jsonl"
BLIND = EVAL / "blind"
REASONS = ("customer-request", "sensitive", "frustration")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
YES = {"en": "yes", "fr": "oui", "es": "sí", "de": "ja", "it": "sì", "pt": "sim"}


@dataclass(frozen=True, slots=True)
class Result:
    item: dict[str, Any]
    reason: str | None  # why the bot handed over during the item's turns, None if it did not
    intent: str  # the classifier's best guess for the last turn
    outcome: str
    asked: bool = False  # the bot asked whether the customer wants a person
    reason_after_yes: str | None = None  # the handover after a "yes" to that question
    categories: tuple[str, ...] = ()  # the sensitive categories the bot flagged


def _say(bot: Bot, state: BotState, item: dict[str, Any], n: int, text: str, tenant: str) -> Decision:
    message = CustomerMessage(
        id=f"{item['id']}-{n}", source="eval", time=T0 + timedelta(seconds=30 * n), tenant=tenant,
        subject=item["id"],
        data=CustomerMessageData(
            message_id=f"{item['id']}-{n}", channel="webchat", address="eval", text=text, external_id=f"{n}",
        ),
    )  # fmt: skip
    return bot.decide(state, message)


def play(bot: Bot, item: dict[str, Any], tenant: str = "demo") -> Result:
    state = BotState()
    turns = [*item.get("context", ()), item["text"]]
    decision, reason = None, None
    for n, text in enumerate(turns):
        decision = _say(bot, state, item, n, text, tenant)
        state = decision.state
        reason = reason or decision.reason
    assert decision is not None
    assert decision.outcome is not None
    asked, after = decision.outcome == "asked", None
    if asked:
        yes = YES.get(item.get("language") or "", "yes")
        after = _say(bot, state, item, len(turns), yes, tenant).reason
    guess = bot.tenant(tenant).classifier.classify(item["text"], state.language or "en")
    return Result(item, reason, guess.intent, decision.outcome, asked, after, state.sensitivity)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _reasons(results: list[Result]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for reason in REASONS:
        expected = [r for r in results if r.item["expect"] == reason]
        flagged = [r for r in results if r.reason == reason]
        hits = [r for r in flagged if r.item["expect"] == reason]
        out[reason] = {
            "expected": len(expected),
            "flagged": len(flagged),
            "precision": _ratio(len(hits), len(flagged)),
            "recall": _ratio(len(hits), len(expected)),
            # Handed over at all, whatever the recorded reason: what the customer experiences.
            "escalated": _ratio(sum(r.reason is not None for r in expected), len(expected)),
        }
    requests = [r for r in results if r.item["expect"] == "customer-request"]
    within_two = [r for r in requests if "customer-request" in (r.reason, r.reason_after_yes)]
    out["customer-request"]["asked"] = sum(r.asked for r in requests)
    out["customer-request"]["recall_within_two"] = _ratio(len(within_two), len(requests))
    # With a person within two messages whatever the recorded reason: a request told with a bereavement
    # goes to a person as `sensitive` (the first rule), which the recall above counts as a miss.
    reached = [r for r in requests if r.reason is not None or r.reason_after_yes is not None]
    out["customer-request"]["reached_person_within_two"] = _ratio(len(reached), len(requests))
    return out


def score(results: list[Result]) -> dict[str, Any]:
    report: dict[str, Any] = {"items": len(results), "reasons": _reasons(results)}
    report["by_language"] = {
        language: _reasons([r for r in results if r.item.get("language") == language])
        for language in sorted({str(r.item.get("language")) for r in results})
    }
    sensitive = [r for r in results if r.item["expect"] == "sensitive"]
    report["sensitive_categories"] = {}
    for category in sorted({str(r.item.get("category")) for r in sensitive}):
        expected = [r for r in sensitive if r.item.get("category") == category]
        flagged = [r for r in results if r.reason == "sensitive" and category in r.categories]
        hits = [r for r in flagged if r.item["expect"] == "sensitive" and r.item.get("category") == category]
        report["sensitive_categories"][category] = {
            "expected": len(expected),
            "recall": _ratio(sum(r.reason == "sensitive" for r in expected), len(expected)),
            "category_recall": _ratio(len(hits), len(expected)),
            "precision": _ratio(len(hits), len(flagged)),
        }
    calm = [r for r in results if r.item["expect"] is None]
    wrongly = [r for r in calm if r.reason is not None]
    asked = [r for r in calm if r.asked]
    report["no_person_needed"] = {
        "items": len(calm),
        "false_escalations": len(wrongly),
        "rate": _ratio(len(wrongly), len(calm)),
        "asked": len(asked),
        "asked_rate": _ratio(len(asked), len(calm)),
        "rate_with_asked": _ratio(len(wrongly) + len(asked), len(calm)),
        "by_kind": dict(Counter(r.item.get("kind") for r in wrongly)),
        "examples": [f"{r.item['text']} -> {r.reason}" for r in wrongly],
        "asked_examples": [r.item["text"] for r in asked],
    }
    labelled = [r for r in results if r.item.get("intent") and r.item["expect"] is None]
    correct = [r for r in labelled if r.intent == r.item["intent"]]
    answered = [r for r in labelled if r.outcome == "answered" and r.intent == r.item["intent"]]
    wrong = [r for r in labelled if r.outcome == "answered" and r.intent != r.item["intent"]]
    clarified = [r for r in labelled if r.outcome == "clarified"]
    report["intents"] = {
        "items": len(labelled),
        "accuracy": _ratio(len(correct), len(labelled)),
        "answered_right": _ratio(len(answered), len(labelled)),
        "answered_wrong": _ratio(len(wrong), len(labelled)),
        "clarified": _ratio(len(clarified), len(labelled)),
        "errors": [
            f"{r.item['text']} -> {r.intent} (expected {r.item['intent']})"
            for r in labelled
            if r not in correct
        ],
    }
    report["missed"] = [
        f"{r.item['text']} -> {r.reason}{' (asked)' if r.asked else ''} (expected {r.item['expect']})"
        for r in results
        if r.item["expect"] is not None and r.reason != r.item["expect"]
    ]
    return report


def read_set(path: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """A set's header (blind sets start with {"_meta": ...}) and its items."""
    meta, items = None, []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if "_meta" in row:
            meta = row["_meta"]
            continue
        missing = {"id", "text", "expect"} - row.keys()
        if missing:
            raise ValueError(f"{path}:{n}: missing {sorted(missing)}")
        items.append(row)
    return meta, items


def sets(dev: list[Path] | None = None, blind: Path = BLIND) -> list[tuple[str, Path]]:
    """Every development set, then every blind set found (zero or more)."""
    development = dev if dev is not None else sorted(EVAL.glob("*.jsonl"))
    found = sorted(blind.glob("*.jsonl")) if blind.is_dir() else []
    return [*((f"dev/{p.stem}", p) for p in development), *((f"blind/{p.stem}", p) for p in found)]


def evaluate(data: Path = DATA, bot: Bot | None = None) -> dict[str, Any]:
    bot = bot or build_bot()
    meta, items = read_set(data)
    report = score([play(bot, item) for item in items])
    return {"meta": meta, **report} if meta else report


# The escalation issue's targets on blind sets: recall at least (false escalations at most) this much.
TARGETS: dict[str, float] = {
    "request_first_message": 0.95,
    "request_within_two": 1.0,
    "sensitive_each_category": 0.9,
    "frustration": 0.85,
    "false_escalations": 0.02,
}


def headline(report: dict[str, Any]) -> dict[str, Any]:
    """The figures a blind set's header records as its first score, and that the targets speak of."""
    reasons, categories = report["reasons"], report["sensitive_categories"]
    return {
        "request_first_message": reasons["customer-request"]["recall"],
        "request_within_two": reasons["customer-request"]["recall_within_two"],
        "sensitive": reasons["sensitive"]["recall"],
        "sensitive_by_category": {k: v["recall"] for k, v in categories.items()},
        "sensitive_each_category": min((v["recall"] or 0.0) for v in categories.values()),
        "frustration": reasons["frustration"]["recall"],
        "false_escalations": report["no_person_needed"]["rate"],
        "asked_when_no_person_needed": report["no_person_needed"]["asked_rate"],
    }


def record_first_score(path: Path, report: dict[str, Any], bot_version: str) -> bool:
    """Write the first score into a blind set's header if it has none yet; True if written."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = json.loads(lines[0])
    if header["_meta"].get("first_score") is not None:
        return False
    header["_meta"]["first_score"] = {"bot": bot_version, **headline(report)}
    lines[0] = json.dumps(header, ensure_ascii=False) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    return True


def _print(name: str, report: dict[str, Any]) -> None:
    print(f"== {name}: {report['items']} utterances")
    if report.get("meta"):
        print(f"   header: {json.dumps(report['meta'], ensure_ascii=False)}")
    header = ("expected", 9), ("flagged", 9), ("precision", 11), ("recall", 9), ("escalated", 11)
    print(f"{'escalation reason':<20}" + "".join(f"{n:>{w}}" for n, w in header))
    for reason, r in report["reasons"].items():
        print(
            f"{reason:<20}{r['expected']:>9}{r['flagged']:>9}{_pct(r['precision']):>11}{_pct(r['recall']):>9}"
            f"{_pct(r['escalated']):>11}"
        )
    request = report["reasons"]["customer-request"]
    print(
        f"request for a person: first message {_pct(request['recall'])}, within two messages "
        f"{_pct(request['recall_within_two'])} ({request['asked']} asked); with a person within two, "
        f"whatever the reason: {_pct(request['reached_person_within_two'])}"
    )
    for language, reasons in report["by_language"].items():
        print(
            f"  {language}: "
            + ", ".join(
                f"{k} R {_pct(v['recall'])} P {_pct(v['precision'])}"
                for k, v in reasons.items()
                if v["expected"]
            )
        )
    print(
        "sensitive by category: "
        + ", ".join(
            f"{k} R {_pct(v['recall'])} P {_pct(v['precision'])}"
            for k, v in report["sensitive_categories"].items()
        )
    )
    calm = report["no_person_needed"]
    print(
        "false escalations (routine, small talk, tricky negatives): "
        f"{calm['false_escalations']}/{calm['items']} = {_pct(calm['rate'])}; "
        f"asked whether they want a person: {calm['asked']} = {_pct(calm['asked_rate'])}"
        f"; both: {_pct(calm['rate_with_asked'])}"
    )
    intents = report["intents"]
    print(
        f"intent accuracy: {_pct(intents['accuracy'])} of {intents['items']}; "
        f"answered right {_pct(intents['answered_right'])}, wrong {_pct(intents['answered_wrong'])}, "
        f"clarify {_pct(intents['clarified'])}"
    )
    # The blind sets' own messages are not printed: reading them would turn them into development sets.
    if name.startswith("dev/"):
        for title, lines in (("missed", report["missed"]), ("false escalations", calm["examples"]),
                             ("asked", calm["asked_examples"])):  # fmt: skip
            if lines:
                print(f"  {title}:")
                for line in lines:
                    print(f"    {line}")
    print()


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--data", type=Path, action="append", help="a development set (default: eval/*.jsonl)"
    )
    parser.add_argument("--blind", type=Path, default=BLIND)
    parser.add_argument("--out", type=Path, default=Path(".local/bench/bot-eval.json"))
    parser.add_argument(
        "--record-first-score",
        metavar="BOT_VERSION",
        help="write the scores into the header of every blind set that has no first score yet",
    )
    args = parser.parse_args()
    bot = build_bot()
    reports = {}
    for name, path in sets(args.data, args.blind):
        reports[name] = evaluate(path, bot)
        _print(name, reports[name])
        recording = args.record_first_score and name.startswith("blind/")
        if recording and record_first_score(path, reports[name], args.record_first_score):
            print(f"first score of {name} recorded in its header", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(reports, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

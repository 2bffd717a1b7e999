"""Every reason the bot hands a conversation to a person, in one ordered table.

A rule names its reason, the trigger of the tenant's content that enables it and sets its queue and
priority, the phase of a customer turn where it is checked, and the predicate that fires it. Within a
phase the first rule that fires wins, so the order of the table is the precedence. A new reason is one
rule here plus its content (a trigger in content.Escalation, messages if it needs its own words).

Phases: `turn` is checked on every customer message before the bot answers; `answer` once the bot knows
the intent it would answer; `clarify` when it would ask the customer to rephrase.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from relais_contracts.conversation import HandoffReason

if TYPE_CHECKING:
    from relais_bot.domain.content import Content, Intent
    from relais_bot.domain.escalation import Signals
    from relais_bot.domain.policy import BotState


class Phase(StrEnum):
    TURN = "turn"
    ANSWER = "answer"
    CLARIFY = "clarify"


@dataclass(frozen=True, slots=True)
class Facts:
    """What a predicate may look at: the tenant's content, the conversation, this turn."""

    content: "Content"
    state: "BotState"
    signals: "Signals | None" = None
    intent: "Intent | None" = None
    confirmed: bool = False  # the customer said yes to "Would you like to talk to a person?"


@dataclass(frozen=True, slots=True)
class Rule:
    reason: HandoffReason
    trigger: str | None  # the content.Escalation field that enables it and routes it; None: always on
    phase: Phase
    when: Callable[[Facts], bool]


def _frustrated(f: Facts) -> bool:
    s, rules = f.signals, f.content.escalation.frustration
    assert s is not None
    return (
        s.frustrated
        or (s.frustration_plausible and s.sentiment <= rules.turn_threshold)
        or turn_weight(f) >= 2
        or f.state.negative_streak >= rules.negative_turns
    )


def turn_weight(f: Facts) -> int:
    """How many signs of trouble one turn shows: failure hints, shouting, clearly negative sentiment."""
    s, rules = f.signals, f.content.escalation.frustration
    assert s is not None
    shouting = rules.shouting and s.shouting and s.sentiment <= 0 and s.frustration_plausible
    negative = s.sentiment <= rules.negative_turn and s.frustration_plausible
    return min(s.failure_hints, 2) + shouting + negative


def _vip(f: Facts) -> bool:
    vip = f.content.escalation.vip
    return f.state.customer_id in vip.customer_ids or f.state.customer_ref in vip.customer_refs


def tenant_rule(f: Facts) -> "object | None":
    """The tenant's own rule that sends this intent or channel to a person, if any."""
    name = f.intent.name if f.intent else None
    return next(
        (r for r in f.content.escalation.rules if name in r.intents or (f.state.channel or "") in r.channels),
        None,
    )


def _stuck_repeating(f: Facts) -> bool:
    stuck = f.content.escalation.stuck
    return f.state.intent_streak >= stuck.repeated_intent_turns or f.state.turns > stuck.max_turns


def _stuck_unclear(f: Facts) -> bool:
    return f.state.low_confidence_streak >= f.content.escalation.stuck.low_confidence_turns


def _signals(f: Facts) -> "Signals":
    assert f.signals is not None
    return f.signals


RULES: tuple[Rule, ...] = (
    # A sensitive situation goes first: whatever else the customer says, a trained person must see it.
    Rule(HandoffReason.SENSITIVE, "sensitive", Phase.TURN, lambda f: bool(_signals(f).sensitive)),
    Rule(
        HandoffReason.CUSTOMER_REQUEST,
        "human_request",
        Phase.TURN,
        lambda f: f.confirmed or _signals(f).human_request,
    ),
    Rule(HandoffReason.FRUSTRATION, "frustration", Phase.TURN, _frustrated),
    Rule(HandoffReason.VIP, "vip", Phase.ANSWER, _vip),
    Rule(HandoffReason.TENANT_RULE, None, Phase.ANSWER, lambda f: tenant_rule(f) is not None),
    Rule(HandoffReason.STUCK, "stuck", Phase.ANSWER, _stuck_repeating),
    Rule(HandoffReason.STUCK, "stuck", Phase.CLARIFY, _stuck_unclear),
)


def first(phase: Phase, facts: Facts, rules: tuple[Rule, ...] = RULES) -> Rule | None:
    """The first enabled rule of the phase that fires."""
    escalation = facts.content.escalation
    for rule in rules:
        if rule.phase != phase:
            continue
        if rule.trigger is not None and not getattr(escalation, rule.trigger).enabled:
            continue
        if rule.when(facts):
            return rule
    return None

"""The table of reasons to hand over, rule by rule at its edges: each threshold of the tenant's content
counts from its value on, each phase checks its own rules in order, and a disabled trigger is skipped."""

from dataclasses import replace

import pytest

from relais_bot.adapters.content_files import BUNDLED, read_contents
from relais_bot.domain.content import Content, Rule
from relais_bot.domain.escalation import Signals
from relais_bot.domain.policy import BotState
from relais_bot.domain.rules import RULES, Facts, Phase, first, tenant_rule, turn_weight
from relais_contracts.conversation import HandoffReason

pytestmark = pytest.mark.unit

CONTENT = read_contents(BUNDLED)["demo"]
FRUSTRATION = CONTENT.escalation.frustration  # turn_threshold -0.6, negative_turn -0.3, 2 turns
STUCK = CONTENT.escalation.stuck  # 2 unclear turns, the same intent 3 times, 12 turns at most
CALM = Signals(
    human_request=False, sensitive=(), frustrated=False, failure_hints=0, shouting=False, sentiment=0.0
)


def facts(signals: Signals = CALM, state: BotState | None = None, **more: object) -> Facts:
    return Facts(CONTENT, state or BotState(tenant="demo"), signals, **more)  # type: ignore[arg-type]


def turn_reason(f: Facts) -> HandoffReason | None:
    rule = first(Phase.TURN, f)
    return rule.reason if rule else None


def answer_reason(f: Facts) -> HandoffReason | None:
    rule = first(Phase.ANSWER, f)
    return rule.reason if rule else None


def test_a_turn_weighs_failure_hints_up_to_two_shouting_and_a_clearly_negative_sentiment() -> None:
    assert turn_weight(facts()) == 0
    assert turn_weight(facts(replace(CALM, failure_hints=1))) == 1
    assert turn_weight(facts(replace(CALM, failure_hints=5))) == 2
    # Shouting counts when not positive, and only where the model finds frustration plausible.
    assert turn_weight(facts(replace(CALM, shouting=True, sentiment=0.0))) == 1
    assert turn_weight(facts(replace(CALM, shouting=True, sentiment=0.1))) == 0
    assert turn_weight(facts(replace(CALM, shouting=True, frustration_plausible=False))) == 0
    # A negative turn from the tenant's threshold on, again only where plausible.
    assert turn_weight(facts(replace(CALM, sentiment=FRUSTRATION.negative_turn))) == 1
    assert turn_weight(facts(replace(CALM, sentiment=FRUSTRATION.negative_turn + 0.01))) == 0
    assert turn_weight(facts(replace(CALM, sentiment=-0.9, frustration_plausible=False))) == 0
    assert turn_weight(facts(replace(CALM, failure_hints=3, shouting=True, sentiment=-0.9))) == 4


def test_a_tenant_that_ignores_shouting_does_not_weigh_it() -> None:
    quiet = CONTENT.escalation.model_copy(
        update={"frustration": FRUSTRATION.model_copy(update={"shouting": False})}
    )
    content = CONTENT.model_copy(update={"escalation": quiet})
    loud = replace(CALM, shouting=True, sentiment=0.0)
    assert turn_weight(Facts(content, BotState(), loud)) == 0


def test_frustration_from_its_wording_its_sentiment_its_weight_or_a_streak_each_from_its_threshold() -> None:
    assert turn_reason(facts()) is None
    assert turn_reason(facts(replace(CALM, frustrated=True))) == HandoffReason.FRUSTRATION
    at_threshold = replace(CALM, sentiment=FRUSTRATION.turn_threshold, failure_hints=0)
    # At the turn threshold the turn is also negative (weight 1): frustration by the sentiment alone.
    assert turn_weight(facts(at_threshold)) == 1
    assert turn_reason(facts(at_threshold)) == HandoffReason.FRUSTRATION
    assert turn_reason(facts(replace(at_threshold, sentiment=FRUSTRATION.turn_threshold + 0.01))) is None
    assert turn_reason(facts(replace(at_threshold, frustration_plausible=False))) is None
    # A weight of two, and not of one.
    assert turn_reason(facts(replace(CALM, failure_hints=2))) == HandoffReason.FRUSTRATION
    assert turn_reason(facts(replace(CALM, failure_hints=1))) is None
    # Negative turns in a row, from the tenant's count on.
    streak = FRUSTRATION.negative_turns
    assert turn_reason(facts(state=BotState(negative_streak=streak))) == HandoffReason.FRUSTRATION
    assert turn_reason(facts(state=BotState(negative_streak=streak - 1))) is None


def test_a_turn_checks_sensitive_then_a_request_then_frustration() -> None:
    everything = replace(CALM, sensitive=("health",), human_request=True, frustrated=True)
    assert turn_reason(facts(everything)) == HandoffReason.SENSITIVE
    assert turn_reason(facts(replace(everything, sensitive=()))) == HandoffReason.CUSTOMER_REQUEST
    assert turn_reason(facts(confirmed=True)) == HandoffReason.CUSTOMER_REQUEST
    # A disabled trigger is skipped; the next rule of the phase may still fire.
    off = CONTENT.escalation.model_copy(
        update={"sensitive": CONTENT.escalation.sensitive.model_copy(update={"enabled": False})}
    )
    content = CONTENT.model_copy(update={"escalation": off})
    rule = first(Phase.TURN, Facts(content, BotState(), everything))
    assert rule is not None
    assert rule.reason == HandoffReason.CUSTOMER_REQUEST
    # The answer phase's rules are not checked on a turn, nor the turn's on an answer.
    vip = BotState(customer_id="cust-vip-1")
    assert turn_reason(facts(state=vip)) is None
    assert answer_reason(facts(everything)) is None


def test_a_vip_is_known_by_id_or_by_reference() -> None:
    assert answer_reason(facts(state=BotState(customer_id="cust-vip-1"))) == HandoffReason.VIP
    assert answer_reason(facts(state=BotState(customer_ref="VIP-0001"))) == HandoffReason.VIP
    assert answer_reason(facts(state=BotState(customer_id="cust-2", customer_ref="REF-2"))) is None


def _with_rules(*rules: Rule) -> Content:
    return CONTENT.model_copy(update={"escalation": CONTENT.escalation.model_copy(update={"rules": rules})})


def test_a_tenant_rule_sends_its_intents_or_channels_to_a_person() -> None:
    refunds = Rule(name="refunds", intents=("refund",))
    calls = Rule(name="calls", channels=("voice",))
    content = _with_rules(refunds, calls)
    refund = CONTENT.intents[0].model_copy(update={"name": "refund"})
    other = CONTENT.intents[0].model_copy(update={"name": "delivery"})
    assert tenant_rule(Facts(content, BotState(), CALM, refund)) is refunds
    assert tenant_rule(Facts(content, BotState(channel="voice"), CALM, other)) is calls
    assert tenant_rule(Facts(content, BotState(channel="webchat"), CALM, other)) is None
    assert tenant_rule(Facts(content, BotState(), CALM, None)) is None  # no intent, no channel
    rule = first(Phase.ANSWER, Facts(content, BotState(), CALM, refund))
    assert rule is not None
    assert (rule.reason, rule.trigger) == (HandoffReason.TENANT_RULE, None)
    # A conversation whose channel is not known yet is matched as the empty name, never as None.
    assert (
        tenant_rule(Facts(_with_rules(Rule(name="x", channels=("",))), BotState(), CALM, other)) is not None
    )


def test_stuck_from_the_same_intent_repeated_past_the_turn_limit_or_unclear_turns() -> None:
    repeated = STUCK.repeated_intent_turns
    assert answer_reason(facts(state=BotState(intent_streak=repeated))) == HandoffReason.STUCK
    assert answer_reason(facts(state=BotState(intent_streak=repeated - 1))) is None
    assert answer_reason(facts(state=BotState(turns=STUCK.max_turns + 1))) == HandoffReason.STUCK
    assert answer_reason(facts(state=BotState(turns=STUCK.max_turns))) is None
    unclear = STUCK.low_confidence_turns
    clarify = first(Phase.CLARIFY, facts(state=BotState(low_confidence_streak=unclear)))
    assert clarify is not None
    assert clarify.reason == HandoffReason.STUCK
    assert first(Phase.CLARIFY, facts(state=BotState(low_confidence_streak=unclear - 1))) is None
    # The rules' own order: exactly these, in this order.
    assert [(r.reason, r.phase) for r in RULES] == [
        (HandoffReason.SENSITIVE, Phase.TURN),
        (HandoffReason.CUSTOMER_REQUEST, Phase.TURN),
        (HandoffReason.FRUSTRATION, Phase.TURN),
        (HandoffReason.VIP, Phase.ANSWER),
        (HandoffReason.TENANT_RULE, Phase.ANSWER),
        (HandoffReason.STUCK, Phase.ANSWER),
        (HandoffReason.STUCK, Phase.CLARIFY),
    ]

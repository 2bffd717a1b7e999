"""The simulator with agents who go silent: reassignment keeps first and next responses within reach."""

from dataclasses import replace

import pytest

from relais_router.simulation import silent_agents, silent_replies, simulate

pytestmark = pytest.mark.unit


@pytest.mark.slow
def test_reassignment_bounds_the_first_response_of_silent_agents() -> None:
    never = simulate(silent_agents(None, customers=3_000)).queues["support"]
    reassigned = simulate(silent_agents(40, customers=3_000)).queues["support"]
    assert never.reassigned == 0
    # 5% go silent, and a slow reply (exponential, 20 s on average) passes 40 s one time in seven.
    assert 0.1 * reassigned.served < reassigned.reassigned < 0.3 * reassigned.served
    # Without reassignment the slowest first replies are the silences themselves (600 s); with it, the
    # silent agent's conversation goes to the next free agent after 40 s.
    assert never.response_quantile(0.99) >= 590
    assert reassigned.response_quantile(0.99) < 300
    assert reassigned.responded_within(60) >= never.responded_within(60)
    # The silent agents' slots are freed too: the other customers wait less.
    assert reassigned.mean_wait_s < never.mean_wait_s


def test_next_response_figures_are_the_times_the_core_measures() -> None:
    # No warm-up: every conversation is measured, so the simulator's next-response times (from the
    # customer's message to the agent's reply) must be exactly the core's own next-response clocks.
    scenario = replace(silent_replies(None, customers=1_500), warmup=0)
    result = simulate(scenario)
    measured = result.queues["support"].next_responses
    assert len(measured) > 2_000  # customers write again after most replies
    assert sorted(measured) == pytest.approx(sorted(result.core_next_responses), abs=1e-5)
    # 2% of replies come after a 10-minute silence: they are the slowest next responses.
    assert 0.005 < sum(r >= 599 for r in measured) / len(measured) < 0.04


@pytest.mark.slow
def test_reassignment_bounds_the_next_response_of_silent_agents() -> None:
    never = simulate(silent_replies(None, customers=2_000)).queues["support"]
    reassigned = simulate(silent_replies(40, customers=2_000)).queues["support"]
    assert never.reassigned == 0 < reassigned.reassigned
    assert never.next_response_quantile(0.99) >= 590
    # The customer's wait counts from their message, across the change of agent: 40 s of silence,
    # then the next agent's offer and reply (10 s on average).
    assert reassigned.next_response_quantile(0.99) < 120
    assert reassigned.next_responded_within(60) > never.next_responded_within(60)
    # A conversation is resolved once every message is answered: the silences lengthen resolutions.
    assert reassigned.resolution_quantile(0.9) < never.resolution_quantile(0.9)

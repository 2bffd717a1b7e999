"""The simulator with agents who go silent: reassignment keeps first responses within reach."""

import pytest

from relais_router.simulation import silent_agents, simulate

pytestmark = pytest.mark.unit


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

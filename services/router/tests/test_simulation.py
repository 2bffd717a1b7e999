"""The routing core against queueing theory: a single-skill queue must behave as Erlang C predicts."""

import pytest

from relais_router.simulation import erlang_c, erlang_c_figures, simulate, single_skill

pytestmark = pytest.mark.unit


def test_erlang_c_matches_a_published_value() -> None:
    # 10 agents, 8 Erlangs of traffic: P(wait) = 0.4092 (standard Erlang C tables).
    assert erlang_c(10, 8 / 180, 180) == pytest.approx(0.4092, abs=5e-4)


@pytest.mark.slow
def test_a_single_skill_queue_agrees_with_erlang_c_within_3_percent() -> None:
    # 60,000 customers after a warm-up, seeded: the run is the same every time. The theory is taken
    # at the arrival rate and handle time the run actually drew, so what is compared is the router's
    # queueing (work conserving, first come first served), not the random numbers.
    result = simulate(single_skill(customers=60_000, seed=7))
    queue = result.queues["support"]
    theory = erlang_c_figures(10, result.arrival_rate("support"), queue.mean_handle_s, within_s=20)

    assert queue.served == 60_000
    assert queue.p_wait == pytest.approx(theory["p_wait"], rel=0.03)
    assert queue.mean_wait_s == pytest.approx(theory["mean_wait_s"], rel=0.03)
    assert queue.service_level(20) == pytest.approx(theory["service_level"], rel=0.03)

"""The core's facts reach their counters and histograms (the shell caches the labelled children)."""

import pytest
from prometheus_client import REGISTRY

from relais_router import metrics

pytestmark = pytest.mark.unit


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_facts_feed_their_metrics_each_time_with_the_right_labels() -> None:
    tenant = "facts-test"
    facts = [
        ("offers", "q1", "accepted"),
        ("offers", "q1", "created"),
        ("time_to_assign", "q1", 4.0),
        ("breach", "q2", "next-response"),
        ("abandoned", "q2", "customer-left"),
        ("not-a-metric", "q1", 1.0),  # ignored, never an error
    ]
    counted = [
        ("relais_router_offers_total", {"queue": "q1", "outcome": "accepted"}, 2),
        ("relais_router_offers_total", {"queue": "q1", "outcome": "created"}, 2),
        ("relais_router_time_to_assign_seconds_count", {"queue": "q1"}, 2),
        ("relais_router_time_to_assign_seconds_sum", {"queue": "q1"}, 8.0),
        ("relais_router_clock_breaches_total", {"queue": "q2", "clock": "next-response"}, 2),
        ("relais_router_abandoned_total", {"queue": "q2"}, 2),
        ("relais_router_offers_total", {"queue": "q2", "outcome": "accepted"}, 0),
    ]
    # The registry is the process's: counted from what it held before, so a second session in the same
    # process (make mutate runs the tests more than once) counts the same.
    before = [sample(name, tenant=tenant, **labels) for name, labels, _ in counted]
    for _ in range(2):  # the second round goes through the cached children
        metrics.count(tenant, facts)
    added = [
        sample(name, tenant=tenant, **labels) - b
        for (name, labels, _), b in zip(counted, before, strict=True)
    ]
    assert added == [n for _, _, n in counted]

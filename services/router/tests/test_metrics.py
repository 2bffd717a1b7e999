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
    for _ in range(2):  # the second round goes through the cached children
        metrics.count(tenant, facts)
    accepted = sample("relais_router_offers_total", tenant=tenant, queue="q1", outcome="accepted")
    assert accepted == 2
    assert sample("relais_router_offers_total", tenant=tenant, queue="q1", outcome="created") == 2
    assert sample("relais_router_time_to_assign_seconds_count", tenant=tenant, queue="q1") == 2
    assert sample("relais_router_time_to_assign_seconds_sum", tenant=tenant, queue="q1") == 8.0
    assert sample("relais_router_clock_breaches_total", tenant=tenant, queue="q2", clock="next-response") == 2
    assert sample("relais_router_abandoned_total", tenant=tenant, queue="q2") == 2
    assert sample("relais_router_offers_total", tenant=tenant, queue="q2", outcome="accepted") == 0

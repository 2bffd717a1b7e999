"""The per-tenant gauges the router's shell sets from a tenant's state: away reasons and occupancy."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from prometheus_client import REGISTRY

from relais_router.consumers import _gauges
from relais_router.domain import TenantRouter

if TYPE_CHECKING:
    from conftest import Events

pytestmark = pytest.mark.unit


def test_away_reasons_are_counted_and_productive_ones_count_as_busy(new_events: type[Events]) -> None:
    events = new_events(tenant="gauges-away")
    router = TenantRouter("gauges-away")
    router.apply(events.presence("a1", capacity={"*": 2}))
    router.apply(events.presence("a2", "away", capacity={"*": 2}, away_reason="break"))
    router.apply(events.presence("a3", "away", capacity={"*": 2}, away_reason="after-call-work"))
    router.apply(events.submit("c1"))  # offered to a1: one slot of two

    queues, reasons = _gauges(router)

    def away(reason: str) -> float | None:
        return REGISTRY.get_sample_value(
            "relais_router_agents_away", {"tenant": "gauges-away", "reason": reason}
        )

    assert (away("break"), away("after-call-work"), away("training")) == (1, 1, 0)
    assert set(reasons) == {"break", "lunch", "training", "after-call-work"}
    # a1 holds 1 of 2 slots; a3's after-call work counts 2 of 2 busy; a2's break is out of the pool.
    occupancy = REGISTRY.get_sample_value("relais_router_agent_occupancy", {"tenant": "gauges-away"})
    assert occupancy == 3 / 4
    assert queues == ["general"]

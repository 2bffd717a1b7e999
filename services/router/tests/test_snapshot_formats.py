"""Snapshots written by earlier versions of the router load and replay.

`data/snapshot-before-clocks.json` was written by the router of commit a5ea0a1, before the response
clocks existed: one conversation assigned to alice, one offered to bob, one waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from relais_contracts.agents import OfferCreated
from relais_router.adapters.snapshots import decode, encode

if TYPE_CHECKING:
    from conftest import Events

pytestmark = pytest.mark.unit

BEFORE_CLOCKS = Path(__file__).parent / "data" / "snapshot-before-clocks.json"


def test_a_snapshot_from_before_the_clocks_restores_with_clocks_and_replays(
    new_events: type[Events],
) -> None:
    offset, routers = decode(BEFORE_CLOCKS.read_bytes())
    router = routers["acme"]
    assert offset == 42
    assigned = router.assignments["c-1"]
    # Whether alice answered was never recorded: no response clock; resolution counts from assignment.
    assert assigned.clocks == {"resolution": assigned.assigned_at}
    assert router.next_deadline() == router.clock  # reviewed by the next event
    assert {a.away_reason for a in router.agents.values()} == {None}

    events = new_events(tenant="acme", start=datetime(2026, 3, 2, 9, 1, tzinfo=UTC))
    # The log after the snapshot, under a configuration with response targets.
    router.apply(
        events.configure(
            {
                "offer_timeout_s": 60,
                "queues": {
                    "general": {"response": {"next_response_s": 120, "resolution_s": 7200}},
                    "care": {"skills": {"care": 2}},
                },
            }
        )
    )
    router.apply(events.customer_wrote("c-1"))
    assert set(assigned.clocks) == {"resolution", "next-response"}
    router.apply(events.replied("c-1", "alice"))
    assert [f for f in router.facts if f[0] == "next_response"] == [("next_response", "general", 1.0)]
    offer = next(o for o in router.offers.values() if o.item.conversation_id == "c-2")
    router.apply(events.accept(offer.offer_id, "bob", "c-2"))
    assert set(router.assignments["c-2"].clocks) == {"first-response", "resolution"}
    outputs = router.apply(events.complete("c-1", "alice"))
    offered = [o.event.data for o in outputs if isinstance(o.event, OfferCreated)]
    assert [(o.conversation_id, o.agent_id) for o in offered] == [("c-3", "alice")]

    # Saved again, it is a current snapshot: loading it changes nothing, adds no timer.
    again = decode(encode(43, {"acme": router}))[1]["acme"]
    assert again.timers.heap == router.timers.heap
    assert again.assignments["c-2"].clocks == router.assignments["c-2"].clocks
    assert encode(43, {"acme": again}) == encode(43, {"acme": router})

"""Response-time clocks of assigned conversations, silent agents and agents who go offline."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from router_outputs import of_type, run

from relais_contracts import Outgoing
from relais_contracts.agents import ClockChanged, ConversationTaken, OfferCreated
from relais_contracts.conversation import Assigned, ClockBreached, Queued, Reassigned, Released
from relais_router.adapters.snapshots import decode, encode
from relais_router.domain import TenantRouter
from relais_router.domain.view import view_json

if TYPE_CHECKING:
    from conftest import Events

pytestmark = pytest.mark.unit


def assign(router: TenantRouter, events: Events, conversation_id: str) -> str:
    """Submit the conversation and have its offer accepted; returns the agent."""
    router.apply(events.submit(conversation_id))
    offer = next(o for o in router.offers.values() if o.item.conversation_id == conversation_id)
    outputs = router.apply(events.accept(offer.offer_id, offer.agent_id, conversation_id))
    assert of_type(outputs, Assigned)
    return offer.agent_id


def configured(router: TenantRouter, events: Events, **queue: Any) -> list[Outgoing]:
    return router.apply(events.configure({"queues": {"general": queue}}))


def test_first_response_warns_the_desk_then_stops_at_the_reply(router: TenantRouter, events: Events) -> None:
    configured(router, events, response={"first_response_s": 100, "warning_at": 0.5})
    router.apply(events.presence("a1"))
    assign(router, events, "c1")
    events.wait(40)
    assert not of_type(router.apply(events.tick()), ClockChanged)  # 42 s: before the warning
    events.wait(10)
    warned = of_type(router.apply(events.tick()), ClockChanged)
    assert [(c.data.clock, c.data.state) for c in warned] == [("first-response", "warning")]
    assert warned[0].data.agent_id == "a1"
    router.facts.clear()
    stopped = of_type(router.apply(events.replied("c1", "a1")), ClockChanged)
    assert [(c.data.clock, c.data.state) for c in stopped] == [("first-response", "stopped")]
    assert [f for f in router.facts if f[0] == "first_response"] == [("first_response", "general", 53.0)]
    events.wait(500)
    assert not of_type(router.apply(events.tick()), ClockBreached)  # answered: no breach later


def test_a_reply_by_someone_else_does_not_stop_the_clock(router: TenantRouter, events: Events) -> None:
    configured(router, events, response={"first_response_s": 30})
    router.apply(events.presence("a1"))
    assign(router, events, "c1")
    router.apply(events.replied("c1", "intruder"))
    events.wait(40)
    assert [b.data.clock for b in of_type(router.apply(events.tick()), ClockBreached)] == ["first-response"]


def test_a_breach_raises_priority_and_alerts_the_supervisor(router: TenantRouter, events: Events) -> None:
    configured(
        router,
        events,
        response={"first_response_s": 30, "on_breach": ["raise-priority", "alert-supervisor"]},
    )
    router.apply(events.presence("a1"))
    assign(router, events, "c1")
    priority = router.assignments["c1"].item.priority
    events.wait(40)
    outputs = router.apply(events.tick())
    (breach,) = of_type(outputs, ClockBreached)
    assert breach.data.model_dump() == {
        "clock": "first-response",
        "agent_id": "a1",
        "queue": "general",
        "target_s": 30,
        "actions": ("raise-priority", "alert-supervisor"),
    }
    assert [(c.data.state) for c in of_type(outputs, ClockChanged)] == ["breached"]
    assert router.assignments["c1"].item.priority == priority + 100
    view = router.view(10)
    assert [(a.conversation_id, a.agent_id, a.clock) for a in view.alerts] == [("c1", "a1", "first-response")]
    router.apply(events.presence("a2", "away", away_reason="break"))
    router.apply(events.submit("c2"))  # waits: a1 is full, a2 away
    # What the shell writes for the read API is this very view, byte for byte, built without models.
    assert view_json(router, 10) == router.view(10).model_dump_json().encode()
    router.apply(events.replied("c1", "a1"))
    assert router.view(10).alerts == []  # answered: off the supervisor's list


def test_next_response_breach_offers_the_conversation_to_another_agent(
    router: TenantRouter, events: Events
) -> None:
    configured(router, events, response={"next_response_s": 60, "on_breach": ["offer-to-another"]})
    router.apply(events.presence("a1"))
    assign(router, events, "c1")
    router.apply(events.replied("c1", "a1"))
    router.apply(events.presence("a2"))
    events.wait(300)
    assert not router.apply(events.tick())  # the customer has not written: nothing runs
    router.apply(events.customer_wrote("c1"))
    events.wait(30)
    router.apply(events.customer_wrote("c1"))  # a second message does not restart the clock
    events.wait(31)
    outputs = router.apply(events.tick())
    assert [b.data.clock for b in of_type(outputs, ClockBreached)] == ["next-response"]
    assert [(t.data.agent_id, t.data.reason) for t in of_type(outputs, ConversationTaken)] == [
        ("a1", "breach")
    ]
    assert [(r.data.from_agent_id, r.data.reason) for r in of_type(outputs, Reassigned)] == [("a1", "breach")]
    assert [r.data.reason for r in of_type(outputs, Released)] == ["reassigned"]
    (offer,) = of_type(outputs, OfferCreated)
    assert offer.data.agent_id == "a2"
    assert offer.data.packet.transcript  # the whole packet goes with it
    assert router.agents["a1"].load == {}


def test_clocks_count_business_hours_only_when_the_queue_says_so(events: Events) -> None:
    # Events start Wednesday 1 Jan 2025 09:00 UTC; the queue is open 09:00-10:00 UTC on weekdays.
    hours = {"weekly": {d: ["09:00-10:00"] for d in ("mon", "tue", "wed", "thu", "fri")}}
    router = TenantRouter("acme")
    configured(router, events, hours=hours, response={"first_response_s": 3600, "business_hours": True})
    router.apply(events.presence("a1"))
    assign(router, events, "c1")  # at 09:00:04
    events.wait(3600)  # 10:00:09: the queue closed after 56 minutes of open time
    assert not of_type(router.apply(events.tick()), ClockBreached)
    deadline = router.next_deadline()
    assert deadline == datetime(2025, 1, 2, 9, 0, 4, tzinfo=UTC).timestamp()  # the 4 min left, Thursday
    plain = TenantRouter("acme")
    other = type(events)(prefix="p")
    configured(plain, other, hours=hours, response={"first_response_s": 3600})
    plain.apply(other.presence("a1"))
    assign(plain, other, "c1")
    other.wait(3600)
    assert of_type(plain.apply(other.tick()), ClockBreached)  # every second counts


def test_a_configuration_change_mid_conversation_applies_to_the_running_clock(
    router: TenantRouter, events: Events
) -> None:
    configured(router, events, response={"first_response_s": 600})
    router.apply(events.presence("a1"))
    assign(router, events, "c1")
    events.wait(100)
    # Counted from the assignment: the new target is already missed when it comes in force.
    outputs = configured(router, events, response={"first_response_s": 60})
    assert [b.data.target_s for b in of_type(outputs, ClockBreached)] == [60]
    configured(router, events, response={"first_response_s": 60, "resolution_s": 1000})
    events.wait(1000)
    assert [b.data.clock for b in of_type(router.apply(events.tick()), ClockBreached)] == ["resolution"]


def test_a_silent_agent_loses_the_conversation_after_reassign_after(
    router: TenantRouter, events: Events
) -> None:
    configured(router, events, reassign_after_s=120)
    router.apply(events.presence("a1"))
    assign(router, events, "c1")
    router.apply(events.replied("c1", "a1"))
    router.apply(events.presence("a2"))
    router.apply(events.customer_wrote("c1"))
    events.wait(100)
    assert not of_type(router.apply(events.tick()), Reassigned)
    events.wait(30)
    outputs = router.apply(events.tick())
    assert [(r.data.from_agent_id, r.data.reason) for r in of_type(outputs, Reassigned)] == [("a1", "silent")]
    assert [(t.data.agent_id, t.data.conversation_id) for t in of_type(outputs, ConversationTaken)] == [
        ("a1", "c1")
    ]
    assert of_type(outputs, Queued)
    assert [o.data.agent_id for o in of_type(outputs, OfferCreated)] == ["a2"]


def test_an_agent_going_offline_loses_their_conversations(router: TenantRouter, events: Events) -> None:
    router.apply(events.presence("a1", capacity={"*": 2}))
    assign(router, events, "c1")
    assign(router, events, "c2")
    router.apply(events.presence("a2", capacity={"*": 2}))
    outputs = router.apply(events.presence("a1", "offline"))
    assert [r.data.reason for r in of_type(outputs, Released)] == ["agent-offline", "agent-offline"]
    assert sorted(o.data.conversation_id for o in of_type(outputs, OfferCreated)) == ["c1", "c2"]
    assert not any(a.agent_id == "a1" for a in router.assignments.values())


def test_away_keeps_the_conversations_and_shows_the_reason(router: TenantRouter, events: Events) -> None:
    router.apply(events.presence("a1"))
    assign(router, events, "c1")
    router.apply(events.presence("a1", "away", away_reason="break"))
    assert router.assignments["c1"].agent_id == "a1"
    (agent,) = router.view(10).agents
    assert (agent.state, agent.away_reason) == ("away", "break")
    router.apply(events.presence("a1"))
    assert router.view(10).agents[0].away_reason is None


def test_clocks_survive_a_snapshot_and_decide_the_same(router: TenantRouter, events: Events) -> None:
    configured(router, events, response={"first_response_s": 60, "next_response_s": 60}, reassign_after_s=300)
    router.apply(events.presence("a1"))
    router.apply(events.presence("a2"))
    assign(router, events, "c1")
    events.wait(50)
    router.apply(events.tick())  # warned
    _, restored = decode(encode(0, {"acme": router}))
    copy = restored["acme"]
    rest = [events.tick(), events.replied("c1", "a1"), events.customer_wrote("c1"), events.tick()]
    events.wait(400)
    rest.append(events.tick())
    assert [o.event for o in run(router, rest)] == [o.event for o in run(copy, rest)]

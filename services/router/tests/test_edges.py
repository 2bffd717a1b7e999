"""Edges of routing that the scenario tests pass through only in passing: what the metrics count on
each path an offer can end by, whom each event is addressed to, limits and lookups of the supervisor's
view, stale timers after a reconfiguration, overflow stage by stage, reservations that run out.

Each test asserts what a desk, a customer, a supervisor or the metrics see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from router_outputs import of_type, offers, run

from relais_contracts import derive_key, topics
from relais_contracts.agents import AgentStatusChanged, ClockChanged, OfferRescinded
from relais_contracts.conversation import ClockBreached, Dequeued, Released, WaitUpdated
from relais_router.domain import TenantRouter
from relais_router.domain.statistics import SERVICE_LEVEL_WINDOW, QueueStatistics
from relais_router.domain.timers import Timers
from relais_router.domain.view import view_json

if TYPE_CHECKING:
    from conftest import Events

pytestmark = pytest.mark.unit


def offer_of(router: TenantRouter, conversation_id: str) -> tuple[str, str]:
    offer = next(o for o in router.offers.values() if o.item.conversation_id == conversation_id)
    return offer.offer_id, offer.agent_id


def ended_offers(router: TenantRouter) -> list[tuple[str, str, str]]:
    """The facts of the offers metric other than offers made and accepted."""
    return [f for f in router.facts if f[0] == "offers" and f[2] not in ("created", "accepted")]  # type: ignore[misc]


def test_a_rejected_offer_is_counted_once_under_its_queue(router: TenantRouter, events: Events) -> None:
    run(router, [events.presence("a1"), events.submit("c1", queue="sales")])
    offer_id, agent = offer_of(router, "c1")
    router.apply(events.reject(offer_id, agent, "c1"))
    assert ended_offers(router) == [("offers", "sales", "rejected")]


def test_offers_taken_from_an_agent_going_away_are_counted_and_told_to_that_agent(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.presence("a1", capacity={"*": 2}), events.submit("c1", queue="sales")])
    outputs = router.apply(events.presence("a1", "away", away_reason="lunch"))
    assert ended_offers(router) == [("offers", "sales", "rescinded")]
    (rescinded,) = [o for o in outputs if isinstance(o.event, OfferRescinded)]
    assert (rescinded.topic, rescinded.key, rescinded.event.subject) == (topics.AGENTS, "a1", "c1")


def test_an_offer_taken_back_by_a_supervisor_is_counted_and_the_desk_told_why(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.presence("a1"), events.submit("c1", queue="sales")])
    outputs = router.apply(events.take_back("c1"))
    assert ended_offers(router) == [("offers", "sales", "rescinded")]
    assert [(r.data.agent_id, r.data.reason) for r in of_type(outputs, OfferRescinded)] == [
        ("a1", "taken back by a supervisor")
    ]


def test_a_customer_leaving_during_an_offer_frees_exactly_one_slot(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.presence("a1"), events.submit("c1")])
    router.apply(events.cancel("c1"))
    assert router.view(10).agents[0].load == {}
    # One slot: of the next two conversations the agent is offered one, the other waits.
    outputs = run(router, [events.submit("c2"), events.submit("c3")])
    assert offers(outputs) == [("c2", "a1")]


def test_the_disposition_of_a_completed_conversation_is_on_its_release(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.presence("a1"), events.submit("c1")])
    offer_id, agent = offer_of(router, "c1")
    router.apply(events.accept(offer_id, agent, "c1"))
    outputs = router.apply(events.complete("c1", "a1", disposition="resolved"))
    assert [(r.data.reason, r.data.disposition) for r in of_type(outputs, Released)] == [
        ("completed", "resolved")
    ]


def test_a_supervisor_setting_a_silent_agent_away_shows_them_away(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.configure({"max_missed_offers": 1, "offer_timeout_s": 10}), events.presence("a1")])
    router.apply(events.submit("c1"))
    events.wait(15)
    router.apply(events.tick())
    assert router.view(10).agents[0].state == "not-responding"
    outputs = router.apply(events.set_presence("a1", "away", away_reason="coaching"))
    view = router.view(10).agents[0]
    assert (view.state, view.away_reason) == ("away", "coaching")
    (status,) = [o for o in outputs if isinstance(o.event, AgentStatusChanged)]
    assert (status.key, status.event.data.status, status.event.data.reason) == ("a1", "away", "coaching")


def test_the_view_shows_at_most_the_waiting_items_asked_for_and_each_queues_own_targets(
    router: TenantRouter, events: Events
) -> None:
    config = {"queues": {"general": {"target_answer_s": 60, "target_level": 0.9}}}
    run(router, [events.configure(config), events.submit("c1"), events.submit("c2"), events.submit("c3")])
    (general,) = router.view(2).queues
    assert [w.conversation_id for w in general.waiting_items] == ["c1", "c2"]
    assert (general.target_answer_s, general.target_level) == (60, 0.9)
    assert view_json(router, 2) == router.view(2).model_dump_json().encode()


def test_a_clock_alert_shows_how_long_the_agent_has_held_the_conversation(
    router: TenantRouter, events: Events
) -> None:
    config = {"queues": {"general": {"response": {"first_response_s": 30}}}}
    run(router, [events.configure(config), events.presence("a1"), events.submit("c1")])
    offer_id, agent = offer_of(router, "c1")
    router.apply(events.accept(offer_id, agent, "c1"))
    assigned_at = router.clock
    events.wait(40)
    router.apply(events.tick())
    (alert,) = router.view(10).alerts
    assert alert.held_s == router.clock - assigned_at == 41


def test_a_max_wait_timer_of_an_earlier_configuration_does_not_dequeue_early(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.configure({"queues": {"general": {"max_wait_s": 60}}}), events.submit("c1")])
    enqueued = router.clock
    router.apply(events.configure({"queues": {"general": {"max_wait_s": 600}}}))
    events.wait(100)  # the first configuration's deadline has passed
    assert not of_type(router.apply(events.tick()), Dequeued)
    events.wait(600 - (router.clock - enqueued))
    outputs = router.apply(events.tick())
    assert [(d.data.queue, d.data.reason) for d in of_type(outputs, Dequeued)] == [("general", "max-wait")]
    # Dequeued unanswered: it counts against the queue's service level.
    assert router.view(10).queues[0].service_level == 0.0


def test_an_overflow_timer_of_a_rule_since_removed_does_nothing(router: TenantRouter, events: Events) -> None:
    config = {"queues": {"general": {"overflow": [{"after_s": 10, "move_to": "b"}]}, "b": {}}}
    run(router, [events.configure(config), events.submit("c1")])
    router.apply(events.configure({"queues": {"b": {}}}))
    events.wait(20)
    router.apply(events.tick())
    waiting = {q.queue: [w.conversation_id for w in q.waiting_items] for q in router.view(10).queues}
    assert waiting["general"] == ["c1"]


def test_work_moved_by_overflow_takes_the_new_queues_priority_and_its_first_rule(
    router: TenantRouter, events: Events
) -> None:
    config = {
        "queues": {
            "a": {"priority": 1, "overflow": [{"after_s": 10, "move_to": "b"}]},
            "b": {"priority": 5, "overflow": [{"after_s": 10, "move_to": "c"}]},
            "c": {},
        }
    }
    run(router, [events.configure(config), events.submit("c1", queue="a", priority=2)])
    events.wait(12)
    router.apply(events.tick())
    waiting = {q.queue: q.waiting_items for q in router.view(10).queues}
    assert [(w.conversation_id, w.priority) for w in waiting["b"]] == [("c1", 7)]  # b's 5 and its own 2
    events.wait(12)
    router.apply(events.tick())
    waiting = {q.queue: q.waiting_items for q in router.view(10).queues}
    assert [w.conversation_id for w in waiting["c"]] == ["c1"]


def test_widening_rules_apply_one_stage_at_a_time(router: TenantRouter, events: Events) -> None:
    # Queue a needs skill z; after 10 s agents of b may take it too, after 20 s agents of c.
    config = {
        "queues": {
            "a": {
                "skills": {"z": 1},
                "overflow": [{"after_s": 10, "add_agents_of": "b"}, {"after_s": 20, "add_agents_of": "c"}],
            },
            "b": {"skills": {"x": 1}},
            "c": {"skills": {"y": 1}},
        }
    }
    run(
        router,
        [events.configure(config), events.presence("cy", skills={"y": 1}), events.submit("c1", queue="a")],
    )
    events.wait(12)
    assert not offers(router.apply(events.tick()))  # b's agents only: none is free
    events.wait(10)
    assert offers(router.apply(events.tick())) == [("c1", "cy")]


def test_work_with_a_reserved_agent_can_overflow(router: TenantRouter, events: Events) -> None:
    config = {
        "queues": {"general": {"sticky_window_s": 60, "overflow": [{"after_s": 10, "move_to": "b"}]}, "b": {}}
    }
    run(router, [events.configure(config), events.submit("c1", preferred_agent_id="a1")])
    events.wait(12)
    router.apply(events.tick())
    waiting = {q.queue: q.waiting_items for q in router.view(10).queues}
    assert [(w.conversation_id, w.preferred_agent) for w in waiting["b"]] == [("c1", "a1")]


def test_once_a_reservation_ran_out_its_agent_takes_the_most_urgent_work_first(
    router: TenantRouter, events: Events
) -> None:
    config = {"queues": {"general": {"sticky_window_s": 30}}}
    run(router, [events.configure(config), events.presence("a1"), events.submit("c0")])
    offer_id, agent = offer_of(router, "c0")
    router.apply(events.accept(offer_id, agent, "c0"))
    router.apply(events.submit("c1", preferred_agent_id="a1"))  # reserved for a1, who is busy
    events.wait(40)
    router.apply(events.tick())  # the reservation runs out
    router.apply(events.submit("c2", priority=50))
    # a1 is free again: the more urgent c2 comes first; c1 is no longer reserved for them.
    assert offers(router.apply(events.complete("c0", "a1"))) == [("c2", "a1")]


def test_a_breach_raises_the_priority_the_work_already_had(router: TenantRouter, events: Events) -> None:
    config = {
        "queues": {
            "general": {
                "priority": 10,
                "response": {"first_response_s": 30, "on_breach": ["raise-priority"], "raise_priority_by": 5},
            }
        }
    }
    run(router, [events.configure(config), events.presence("a1"), events.submit("c1", priority=3)])
    offer_id, agent = offer_of(router, "c1")
    router.apply(events.accept(offer_id, agent, "c1"))
    events.wait(40)
    router.apply(events.tick())
    assert ("breach", "general", "first-response") in router.facts  # the breaches metric
    router.apply(events.set_presence("a1", "offline"))  # back to the queue with what the breach raised
    (general,) = router.view(10).queues
    assert [(w.conversation_id, w.priority) for w in general.waiting_items] == [("c1", 18)]


def test_a_breach_that_moves_the_conversation_ends_its_clocks_with_that_agent(
    router: TenantRouter, events: Events
) -> None:
    response = {"first_response_s": 30, "resolution_s": 30, "on_breach": ["offer-to-another"]}
    run(router, [events.configure({"queues": {"general": {"response": response}}}), events.presence("a1")])
    router.apply(events.submit("c1"))
    offer_id, agent = offer_of(router, "c1")
    router.apply(events.accept(offer_id, agent, "c1"))
    events.wait(40)
    outputs = router.apply(events.tick())
    assert [b.data.clock for b in of_type(outputs, ClockBreached)] == ["first-response"]


def test_a_breach_that_keeps_the_agent_lets_the_other_clocks_run_on(
    router: TenantRouter, events: Events
) -> None:
    response = {"first_response_s": 30, "resolution_s": 100}
    run(router, [events.configure({"queues": {"general": {"response": response}}}), events.presence("a1")])
    router.apply(events.submit("c1"))
    offer_id, agent = offer_of(router, "c1")
    router.apply(events.accept(offer_id, agent, "c1"))
    events.wait(40)
    assert [b.data.clock for b in of_type(router.apply(events.tick()), ClockBreached)] == ["first-response"]
    events.wait(70)
    assert [b.data.clock for b in of_type(router.apply(events.tick()), ClockBreached)] == ["resolution"]


def test_a_clock_warning_goes_to_the_agents_desk_about_the_conversation_with_its_due_time(
    router: TenantRouter, events: Events
) -> None:
    response = {"first_response_s": 100, "warning_at": 0.5}
    run(router, [events.configure({"queues": {"general": {"response": response}}}), events.presence("a1")])
    router.apply(events.submit("c1"))
    offer_id, agent = offer_of(router, "c1")
    router.apply(events.accept(offer_id, agent, "c1"))
    assigned_at = router.clock
    events.wait(60)
    (warning,) = [o for o in router.apply(events.tick()) if isinstance(o.event, ClockChanged)]
    assert (warning.topic, warning.key, warning.event.subject) == (topics.AGENTS, "a1", "c1")
    assert warning.event.data.state == "warning"
    assert warning.event.data.due_at is not None
    assert warning.event.data.due_at.timestamp() == assigned_at + 100


def test_a_reply_reports_the_open_time_it_took_when_the_queue_counts_business_hours(
    router: TenantRouter, events: Events
) -> None:
    # Events start Wednesday 1 Jan 2025 09:00 UTC; the queue is open 09:00-10:00 UTC on weekdays.
    hours = {"weekly": {d: ["09:00-10:00"] for d in ("mon", "tue", "wed", "thu", "fri")}}
    queue = {"hours": hours, "response": {"first_response_s": 7200, "business_hours": True}}
    run(
        router, [events.configure({"queues": {"general": queue}}), events.presence("a1"), events.submit("c1")]
    )
    offer_id, agent = offer_of(router, "c1")
    router.apply(events.accept(offer_id, agent, "c1"))
    assigned_at = router.clock  # Wednesday 09:00:04
    events.wait(24 * 3600)  # Thursday, 09:00:05 when the reply comes
    router.facts.clear()
    router.apply(events.replied("c1", "a1"))
    thursday = router.clock - (assigned_at + 24 * 3600 - 4)
    assert router.facts == [("first_response", "general", (3600 - 4) + thursday)]


def test_a_queue_with_no_outcome_yet_meets_its_service_level_and_a_mixed_one_is_the_share_answered() -> None:
    stats = QueueStatistics()
    assert stats.service_level("general") == 1.0
    stats.outcome("general", 20, answered_in=5)
    stats.outcome("general", 20, answered_in=None)
    stats.outcome("general", 20, answered_in=30)
    stats.outcome("general", 20, answered_in=20)
    assert stats.service_level("general") == 0.5
    # The level is over the last SERVICE_LEVEL_WINDOW outcomes: an old miss drops out.
    for _ in range(SERVICE_LEVEL_WINDOW):
        stats.outcome("general", 20, answered_in=1)
    assert stats.service_level("general") == 1.0


def test_an_expected_wait_needs_two_departures_and_follows_their_rate() -> None:
    stats = QueueStatistics()
    stats.departed("general", 100.0)
    assert stats.expected_wait("general", 1, 110.0) is None  # one departure: no rate yet
    stats.departed("general", 110.0)
    # Two departures in the 20 s since the first: one every 10 s, so the third in line waits 30 s.
    assert stats.expected_wait("general", 3, 120.0) == 30


def test_the_service_level_is_judged_against_the_queues_own_target(
    router: TenantRouter, events: Events
) -> None:
    config = {"queues": {"sales": {"target_answer_s": 60}}}
    run(router, [events.configure(config), events.presence("a1", "away"), events.submit("c1", queue="sales")])
    events.wait(30)  # more than the default target of 20 s, within the queue's 60
    router.apply(events.presence("a1"))
    accepted(router, events, "c1")
    assert {q.queue: q.service_level for q in router.view(10).queues}["sales"] == 1.0


def accepted(router: TenantRouter, events: Events, conversation_id: str) -> float:
    """Accept the conversation's open offer; returns when it was assigned."""
    offer_id, agent = offer_of(router, conversation_id)
    router.apply(events.accept(offer_id, agent, conversation_id))
    return router.clock


def test_an_accepted_offer_is_counted_with_the_wait_it_ended(router: TenantRouter, events: Events) -> None:
    run(router, [events.presence("a1", "away"), events.submit("c1", queue="sales")])
    enqueued = router.clock
    events.wait(8)
    router.apply(events.presence("a1"))
    router.facts.clear()
    waited = accepted(router, events, "c1") - enqueued
    assert [f for f in router.facts if f[0] in ("offers", "time_to_assign") and f[2] != "created"] == [
        ("offers", "sales", "accepted"),
        ("time_to_assign", "sales", waited),
    ]
    router.apply(events.submit("c2", queue="sales"))
    router.apply(events.cancel("c2"))  # one answered in time, one left: half the service level
    assert {q.queue: q.service_level for q in router.view(10).queues}["sales"] == 0.5


def test_accepting_an_offer_ends_the_agents_run_of_missed_offers(
    router: TenantRouter, events: Events
) -> None:
    config = {"max_missed_offers": 2, "offer_timeout_s": 10, "decline_cooldown_s": 0}
    run(router, [events.configure(config), events.presence("a1", capacity={"*": 3}), events.submit("c1")])
    events.wait(15)
    router.apply(events.tick())  # one offer missed
    router.apply(events.submit("c2"))
    accepted(router, events, "c2")
    events.wait(15)
    router.apply(events.tick())  # c1's second offer missed: one in a row since the acceptance
    assert router.view(10).agents[0].state == "available"


def test_the_agents_remembered_per_customer_are_bounded_and_the_least_recent_forgotten_first(
    router: TenantRouter, events: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("relais_router.domain.engine.STICKY_CUSTOMERS", 2)
    run(router, [events.configure({"queues": {"general": {"sticky_window_s": 60}}}), events.presence("a1")])
    for n, customer in enumerate(("x", "y", "x", "z")):  # x comes back before z: y is the least recent
        router.apply(events.submit(f"c{n}", customer_id=customer))
        accepted(router, events, f"c{n}")
        router.apply(events.complete(f"c{n}", "a1"))
    router.apply(events.presence("a1", "away"))
    run(router, [events.submit(f"again-{c}", customer_id=c) for c in ("x", "y", "z")])
    (general,) = router.view(10).queues
    assert [(w.conversation_id, w.preferred_agent) for w in general.waiting_items] == [
        ("again-x", "a1"),
        ("again-y", None),
        ("again-z", "a1"),
    ]


def test_old_work_of_another_queue_overtakes_newer_work_of_higher_priority_by_aging(
    router: TenantRouter, events: Events
) -> None:
    # Aging 1 a minute: c1 (priority 0) waits 5 minutes more than c2 (priority 1), so it is more urgent.
    config = {"queues": {"a": {"aging_per_minute": 1}, "b": {"aging_per_minute": 1}}}
    run(router, [events.configure(config), events.presence("a1", "away"), events.submit("c1", queue="a")])
    events.wait(300)
    run(router, [events.submit("c2", queue="b", priority=1)])
    assert offers(router.apply(events.presence("a1"))) == [("c1", "a1")]
    router.apply(events.cancel("c2"))
    # Without the wait, the higher priority comes first.
    run(
        router,
        [
            events.presence("a2", "away"),
            events.submit("c3", queue="a"),
            events.submit("c4", queue="b", priority=1),
        ],
    )
    assert offers(router.apply(events.presence("a2"))) == [("c4", "a2")]


def test_a_silent_agent_is_judged_on_the_reply_awaited_not_on_how_long_they_have_held_the_conversation(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.configure({"queues": {"general": {"reassign_after_s": 120}}}), events.presence("a1")])
    router.apply(events.submit("c1"))
    assigned_at = accepted(router, events, "c1")
    router.apply(events.replied("c1", "a1"))
    events.wait(200)
    assert not of_type(router.apply(events.tick()), Released)  # answered: held long, but not silent
    router.apply(events.customer_wrote("c1"))
    wrote_at = router.clock
    events.wait(120 - 1)  # the tick comes one step later: exactly 120 s after the message
    outputs = router.apply(events.tick())
    assert router.clock - wrote_at == 120
    assert assigned_at < wrote_at
    assert [r.data.reason for r in of_type(outputs, Released)] == ["reassigned"]


def test_a_resolution_target_alone_is_watched(router: TenantRouter, events: Events) -> None:
    run(
        router,
        [
            events.configure({"queues": {"general": {"response": {"resolution_s": 50}}}}),
            events.presence("a1"),
        ],
    )
    router.apply(events.submit("c1"))
    accepted(router, events, "c1")
    events.wait(60)
    assert [b.data.clock for b in of_type(router.apply(events.tick()), ClockBreached)] == ["resolution"]


def test_after_a_warning_the_next_deadline_is_the_breach(router: TenantRouter, events: Events) -> None:
    response = {"resolution_s": 100, "warning_at": 0.5}
    run(router, [events.configure({"queues": {"general": {"response": response}}}), events.presence("a1")])
    router.apply(events.submit("c1"))
    assigned_at = accepted(router, events, "c1")
    router.apply(events.replied("c1", "a1"))
    events.wait(60)
    assert [c.data.state for c in of_type(router.apply(events.tick()), ClockChanged)] == ["warning"]
    assert router.next_deadline() == assigned_at + 100
    router.apply(events.replied("c1", "a1"))  # the clocks are reviewed again, the warning already given
    assert router.next_deadline() == assigned_at + 100


def test_a_clock_counting_business_hours_warns_after_open_time_too(
    router: TenantRouter, events: Events
) -> None:
    # Events start Wednesday 1 Jan 2025 09:00 UTC; the queue is open 09:00-10:00 UTC on weekdays.
    hours = {"weekly": {d: ["09:00-10:00"] for d in ("mon", "tue", "wed", "thu", "fri")}}
    queue = {
        "hours": hours,
        "response": {"first_response_s": 7200, "business_hours": True, "warning_at": 0.5},
    }
    run(
        router, [events.configure({"queues": {"general": queue}}), events.presence("a1"), events.submit("c1")]
    )
    accepted(router, events, "c1")
    events.wait(2 * 3600)  # 11:00 on Wednesday: two hours have passed, but only one of open time
    assert not of_type(router.apply(events.tick()), ClockChanged)
    events.wait(22 * 3600)  # Thursday 09:00: the hour of open time is reached
    assert [c.data.state for c in of_type(router.apply(events.tick()), ClockChanged)] == ["warning"]


def test_an_offer_is_counted_and_its_time_to_first_offer_reported_once(
    router: TenantRouter, events: Events
) -> None:
    run(
        router,
        [events.presence("a1", "away"), events.presence("a2", "away"), events.submit("c1", queue="sales")],
    )
    enqueued = router.clock
    events.wait(8)
    router.facts.clear()
    router.apply(events.presence("a1"))
    first = router.clock - enqueued
    offer_id, _ = offer_of(router, "c1")
    router.apply(events.reject(offer_id, "a1", "c1"))
    router.apply(events.presence("a2"))  # offered again, to a2: not a first offer
    assert [f for f in router.facts if f[0] == "time_to_offer" or f[2] == "created"] == [
        ("time_to_offer", "sales", first),
        ("offers", "sales", "created"),
        ("offers", "sales", "created"),
    ]


def test_offer_ids_are_derived_from_tenant_conversation_and_the_event_that_made_them(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.submit("c1"), events.submit("c2")])
    arrival = events.presence("a1", capacity={"*": 2})
    router.apply(arrival)
    ids = {o.item.conversation_id: o.offer_id for o in router.offers.values()}
    assert ids == {c: derive_key("offer", "acme", c, arrival.uid) for c in ("c1", "c2")}
    router.apply(events.reject(ids["c1"], "a1", "c1"))
    run(router, [events.presence("a2")])
    (again,) = [o.offer_id for o in router.offers.values() if o.item.conversation_id == "c1"]
    assert again != ids["c1"]  # the same conversation offered again: another offer


def test_an_agent_lowering_their_capacity_gives_back_the_newest_offers_beyond_it(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.presence("a1", capacity={"chat": 3}), events.submit("c1"), events.submit("c2")])
    router.facts.clear()
    outputs = router.apply(events.presence("a1", capacity={"chat": 1}))
    assert [(r.data.conversation_id, r.data.reason) for r in of_type(outputs, OfferRescinded)] == [
        ("c2", "agent capacity lowered")
    ]
    assert ended_offers(router) == [("offers", "general", "rescinded")]


def test_a_total_capacity_reached_but_not_exceeded_keeps_the_offers(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.presence("a1", capacity={"*": 3}, total=3), events.submit("c1"), events.submit("c2")])
    outputs = router.apply(events.presence("a1", capacity={"*": 3}, total=2))
    assert not of_type(outputs, OfferRescinded)
    outputs = router.apply(events.presence("a1", capacity={"*": 3}, total=1))
    assert [r.data.conversation_id for r in of_type(outputs, OfferRescinded)] == ["c2"]


def test_a_presence_without_a_name_keeps_the_name_and_only_away_has_a_reason(
    router: TenantRouter, events: Events
) -> None:
    router.apply(events.presence("a1", "away", away_reason="lunch"))
    nameless = events.presence("a1", away_reason="lunch")  # available: the reason does not apply
    router.apply(nameless.model_copy(update={"data": nameless.data.model_copy(update={"name": None})}))
    (agent,) = router.view(10).agents
    assert (agent.name, agent.state, agent.away_reason) == ("Agent a1", "available", None)


def test_an_agent_whose_skills_change_is_eligible_for_exactly_the_queues_they_now_qualify_for(
    router: TenantRouter, events: Events
) -> None:
    config = {"queues": {"x": {"skills": {"x": 1}}, "y": {"skills": {"y": 1}}}}
    run(router, [events.configure(config), events.presence("a1", "away", skills={"x": 2})])
    run(router, [events.submit("c1", queue="x"), events.submit("c2", queue="y")])
    assert {q.queue: q.eligible_agents for q in router.view(10).queues} == {"x": 0, "y": 0}
    # Back with other skills: the work of the queue they no longer qualify for is not theirs.
    assert offers(router.apply(events.presence("a1", skills={"y": 2}))) == [("c2", "a1")]
    assert {q.queue: q.eligible_agents for q in router.view(10).queues} == {"x": 0, "y": 1}


def test_an_agent_who_changed_presence_many_times_is_still_offered_work(
    router: TenantRouter, events: Events
) -> None:
    # Each change leaves an entry in the class's ranking; past a bound the ranking is rebuilt.
    run(router, [events.submit("c0"), events.cancel("c0")])  # the class exists from now on
    for n in range(80):
        router.apply(events.presence("a1", capacity={"*": 1 + n % 2}))
        router.apply(events.presence("a2", capacity={"*": 1 + n % 2}))
    outputs = run(router, [events.submit("c1"), events.submit("c2")])
    assert sorted(agent for _, agent in offers(outputs)) == ["a1", "a2"]


def test_work_reserved_for_an_agent_comes_first_when_they_are_free_again(
    router: TenantRouter, events: Events
) -> None:
    config = {"queues": {"general": {"sticky_window_s": 120}}}
    run(router, [events.configure(config), events.presence("a1"), events.submit("c0")])
    accepted(router, events, "c0")
    run(router, [events.submit("c1", preferred_agent_id="a1"), events.submit("c2", priority=50)])
    assert offers(router.apply(events.complete("c0", "a1"))) == [("c1", "a1")]


def test_a_reconfiguration_adds_the_queues_new_priority_to_the_customers_own(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.submit("c1", priority=2)])
    router.apply(events.configure({"queues": {"general": {"priority": 5}}}))
    assert [(w.conversation_id, w.priority) for w in router.view(10).queues[0].waiting_items] == [("c1", 7)]


def test_a_waiting_customer_hears_of_a_change_at_each_interval_and_nothing_when_nothing_changed(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.configure({"wait_update_interval_s": 30}), events.submit("c1"), events.submit("c2")])
    events.wait(30)
    router.apply(events.tick())  # c2's position has not changed: no update
    router.apply(events.cancel("c1"))  # c2 moves up; it hears at its next interval
    events.wait(30)
    updates = of_type(router.apply(events.tick()), WaitUpdated)
    assert [(u.subject, u.data.position) for u in updates] == [("c2", 1)]
    events.wait(30)
    assert not of_type(router.apply(events.tick()), WaitUpdated)


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (["proficiency"], "a3"),  # the most proficient in the queue's skill
        (["idle"], "a2"),  # never offered anything, so idle the longest
        (["occupancy"], "a2"),  # a1 and a3 hold a conversation out of two slots
    ],
)
def test_the_tenants_agent_order_picks_the_agent(
    router: TenantRouter, events: Events, order: list[str], expected: str
) -> None:
    config = {"agent_order": order, "queues": {"general": {"skills": {"s": 1}}, "other": {}}}
    run(router, [events.configure(config)])
    for agent, proficiency in (("a1", 1), ("a2", 2), ("a3", 5)):
        router.apply(events.presence(agent, "away", capacity={"*": 2}, skills={"s": proficiency}))
    for agent, conversation in (("a1", "o1"), ("a3", "o3")):
        router.apply(events.presence(agent, capacity={"*": 2}, skills={"s": dict(a1=1, a3=5)[agent]}))
        router.apply(events.submit(conversation, queue="other"))
        accepted(router, events, conversation)
        router.apply(events.presence(agent, "away", capacity={"*": 2}, skills={"s": dict(a1=1, a3=5)[agent]}))
    for agent, proficiency in (("a1", 1), ("a2", 2), ("a3", 5)):
        router.apply(events.presence(agent, capacity={"*": 2}, skills={"s": proficiency}))
    assert offers(router.apply(events.submit("c1"))) == [("c1", expected)]


def test_agents_equal_by_the_order_are_taken_by_id(router: TenantRouter, events: Events) -> None:
    run(router, [events.configure({"agent_order": ["occupancy"]})])
    for _ in range(3):  # a1 changes presence more often than a2: its entries are more recent
        router.apply(events.presence("a1"))
    router.apply(events.presence("a2"))
    assert offers(router.apply(events.submit("c1"))) == [("c1", "a1")]


def test_expected_waits_use_the_last_departures_only_and_need_time_between_them() -> None:
    stats = QueueStatistics()
    for n in range(10):  # ten slow departures long ago, then fifty at one a second
        stats.departed("general", float(n * 10))
    for n in range(50):
        stats.departed("general", 100.0 + n)
    # The last 50 departures only, from 100 s: 50 in 50 s at 150 s, one a second.
    assert stats.expected_wait("general", 5, 150.0) == 5
    quick = QueueStatistics()
    quick.departed("general", 100.0)
    quick.departed("general", 100.0)
    assert quick.expected_wait("general", 1, 100.0) is None  # no time between them: no rate
    assert quick.expected_wait("general", 3, 100.5) == 1  # two in half a second: four a second
    assert quick.expected_wait("general", 9, 102.0) == 9  # two in two seconds: one a second


def test_language_tags_match_on_their_primary_language_whatever_the_separator(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.presence("a1", languages=("pt_BR",)), events.presence("a2", languages=("de",))])
    assert offers(router.apply(events.submit("c1", language="pt-PT"))) == [("c1", "a1")]


def test_a_customers_own_skills_are_required_at_least_at_novice_level(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.presence("a0"), events.presence("a1", "away", skills={"vip": 1})])
    router.apply(events.presence("a0", "away"))
    router.apply(events.submit("c1", skills=("vip",)))
    assert not router.offers
    assert offers(router.apply(events.presence("a0"))) == []  # no vip skill
    assert offers(router.apply(events.presence("a1", skills={"vip": 1}))) == [("c1", "a1")]


def test_lowering_a_skill_goes_down_to_the_proficiency_the_rule_names(
    router: TenantRouter, events: Events
) -> None:
    overflow = [
        {"after_s": 10, "lower_skill": "s", "to_proficiency": 2},
        {"after_s": 20, "lower_skill": "z", "to_proficiency": 1},
    ]
    config = {"queues": {"general": {"skills": {"s": 4}, "overflow": overflow}}}
    run(router, [events.configure(config), events.presence("a1", skills={"s": 1}), events.submit("c1")])
    events.wait(12)
    assert not offers(router.apply(events.tick()))  # s 1 is still below 2
    router.apply(events.presence("a2", skills={"s": 2}))
    assert [(o.item.conversation_id, o.agent_id) for o in router.offers.values()] == [("c1", "a2")]
    events.wait(20)
    router.apply(events.tick())  # a rule lowering a skill the queue does not ask for changes nothing


def test_equal_urgency_goes_to_the_work_that_waited_longest(router: TenantRouter, events: Events) -> None:
    # Aging 60 a minute, one a second: c1 (priority 0) and c2 (priority 100, 100 s later) tie.
    config = {"queues": {"general": {"aging_per_minute": 60}, "b": {"aging_per_minute": 60}}}
    run(router, [events.configure(config), events.presence("a1", "away"), events.presence("a2", "away")])
    router.apply(events.submit("c1"))
    events.wait(99)
    router.apply(events.submit("c2", priority=100))
    assert offers(router.apply(events.presence("a1"))) == [("c1", "a1")]


def test_a_queue_first_seen_counts_its_eligible_agents(router: TenantRouter, events: Events) -> None:
    router.apply(events.presence("a1"))
    router.apply(events.submit("c1"))
    assert router.view(10).queues[0].eligible_agents == 1
    router.apply(events.submit("c2", queue="new"))
    assert {q.queue: q.eligible_agents for q in router.view(10).queues} == {"general": 1, "new": 1}


def test_a_preferred_agent_without_a_sticky_window_is_offered_like_anyone(
    router: TenantRouter, events: Events
) -> None:
    router.apply(events.presence("a1"))
    assert offers(router.apply(events.submit("c1", preferred_agent_id="a1"))) == [("c1", "a1")]


def test_work_for_a_channel_kind_its_queue_does_not_serve_goes_to_the_default_queue(
    router: TenantRouter, events: Events
) -> None:
    config = {"queues": {"voice": {"channels": ["voice"], "priority": 9}, "general": {"priority": 1}}}
    run(
        router,
        [
            events.configure(config),
            events.submit("c1", queue="voice"),
        ],
    )
    waiting = {
        q.queue: [(w.conversation_id, w.priority) for w in q.waiting_items] for q in router.view(10).queues
    }
    assert waiting["general"] == [("c1", 1)]  # a web chat is chat work


def test_closed_hours_move_the_work_to_the_closed_queue_with_its_priority(
    router: TenantRouter, events: Events
) -> None:
    # Events start Wednesday 1 Jan 2025 09:00 UTC; the queue opens only on Mondays.
    hours = {"weekly": {"mon": ["09:00-17:00"]}, "closed_action": "move", "closed_queue": "night"}
    config = {"queues": {"general": {"hours": hours}, "night": {"priority": 4}}}
    run(router, [events.configure(config), events.submit("c1")])
    waiting = {
        q.queue: [(w.conversation_id, w.priority) for w in q.waiting_items] for q in router.view(10).queues
    }
    assert waiting["night"] == [("c1", 4)]


def test_open_hours_do_not_dequeue(router: TenantRouter, events: Events) -> None:
    # Events start Wednesday 1 Jan 2025 09:00 UTC: open.
    hours = {"weekly": {"wed": ["09:00-17:00"]}, "closed_action": "dequeue"}
    run(router, [events.configure({"queues": {"general": {"hours": hours}}})])
    assert not of_type(router.apply(events.submit("c1")), Dequeued)


def test_a_customer_returning_exactly_at_the_end_of_the_memory_keeps_their_agent(
    router: TenantRouter, events: Events
) -> None:
    config = {"sticky_memory_s": 100, "queues": {"general": {"sticky_window_s": 60}}}
    run(router, [events.configure(config), events.presence("a1"), events.submit("c1", customer_id="x")])
    assigned_at = accepted(router, events, "c1")
    router.apply(events.complete("c1", "a1"))
    router.apply(events.presence("a1", "away"))
    events.wait(100 - (router.clock - assigned_at) - 1)
    router.apply(events.submit("c2", customer_id="x"))
    assert router.clock - assigned_at == 100
    assert [w.preferred_agent for w in router.view(10).queues[0].waiting_items] == ["a1"]


def test_work_leaving_or_ending_frees_one_slot_of_an_agent_holding_two(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.presence("a1", capacity={"*": 3}), events.submit("c1"), events.submit("c2")])
    accepted(router, events, "c1")
    router.apply(events.cancel("c2"))  # the customer of the open offer leaves
    assert router.view(10).agents[0].load == {"chat": 1}
    router.apply(events.submit("c3"))
    accepted(router, events, "c3")
    router.apply(events.complete("c1", "a1"))
    assert router.view(10).agents[0].load == {"chat": 1}


def test_an_agent_who_lost_a_queues_skill_is_not_offered_work_reserved_for_them_there(
    router: TenantRouter, events: Events
) -> None:
    config = {"queues": {"x": {"skills": {"x": 1}, "sticky_window_s": 120}}}
    run(router, [events.configure(config), events.presence("a1", capacity={"*": 2}, skills={"x": 1})])
    router.apply(events.submit("c0", queue="x"))
    accepted(router, events, "c0")
    router.apply(events.presence("a1", capacity={"*": 2}))  # no longer has skill x, still free
    # A transfer to them, say: reserved for a1, but a1 may not take queue x's work any more.
    assert offers(router.apply(events.submit("c1", queue="x", preferred_agent_id="a1"))) == []
    assert offers(router.apply(events.presence("a1", capacity={"*": 2}))) == []  # free again: still not
    assert offers(router.apply(events.presence("a1", capacity={"*": 2}, skills={"x": 1}))) == [("c1", "a1")]


def test_a_reservation_run_out_gives_no_precedence_after_a_reconfiguration(
    router: TenantRouter, events: Events
) -> None:
    config = {"queues": {"general": {"sticky_window_s": 60}}}
    run(router, [events.configure(config), events.presence("a1"), events.submit("c0")])
    accepted(router, events, "c0")
    router.apply(events.submit("c1", preferred_agent_id="a1"))
    events.wait(61)
    router.apply(events.tick())  # the reservation has run out: c1 is anyone's work now
    router.apply(events.submit("c2", priority=50))
    # The indexes are rebuilt from the waiting work: c1 must not be indexed as reserved again.
    router.apply(events.configure({**config, "wait_update_interval_s": 45}))
    assert offers(router.apply(events.complete("c0", "a1"))) == [("c2", "a1")]


def test_an_agent_is_offered_work_right_after_the_change_that_rebuilt_their_ranking(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.submit("c0"), events.cancel("c0")])  # the class exists from now on
    (cls,) = router.indexes.classes.values()
    # Each change of a1 leaves an entry in the class's ranking, until a change rebuilds it.
    for _ in range(200):
        before = len(cls.ranked)
        router.apply(events.presence("a1"))
        if len(cls.ranked) < before:
            break
    assert len(cls.ranked) == 1, "the ranking was never rebuilt"
    assert offers(router.apply(events.submit("c1"))) == [("c1", "a1")]


@pytest.mark.parametrize(("order", "expected"), [(["idle"], "a2"), (["occupancy"], "a1")])
def test_idle_and_occupancy_are_each_their_own_order(
    router: TenantRouter, events: Events, order: list[str], expected: str
) -> None:
    run(router, [events.configure({"agent_order": order}), events.presence("a1", "away", capacity={"*": 2})])
    # a2 was offered work first and still holds it; a1 was offered work later and is done with it.
    router.apply(events.presence("a2", capacity={"*": 2}))
    router.apply(events.submit("o2"))
    accepted(router, events, "o2")
    router.apply(events.presence("a2", "away", capacity={"*": 2}))
    router.apply(events.presence("a1", capacity={"*": 2}))
    router.apply(events.submit("o1"))
    accepted(router, events, "o1")
    router.apply(events.complete("o1", "a1"))
    router.apply(events.presence("a2", capacity={"*": 2}))
    assert offers(router.apply(events.submit("c1"))) == [("c1", expected)]


def test_a_rule_lowering_a_skill_the_queue_does_not_ask_for_changes_nothing(
    router: TenantRouter, events: Events
) -> None:
    overflow = [{"after_s": 10, "lower_skill": "z", "to_proficiency": 1}]
    config = {"queues": {"general": {"skills": {"s": 4}, "overflow": overflow}}}
    run(router, [events.configure(config), events.presence("a1", skills={"s": 3}), events.submit("c1")])
    events.wait(12)
    assert not offers(router.apply(events.tick()))  # overflowed: s 4 is still asked for
    assert offers(router.apply(events.presence("a2", skills={"s": 4}))) == [("c1", "a2")]


def test_timers_due_at_the_same_time_fire_in_the_order_they_were_set() -> None:
    timers = Timers()
    for kind, ref in (("wait", "c3"), ("reserve", "c2"), ("offer", "c1")):
        timers.add(5.0, kind, ref)
    assert [(kind, ref) for _, _, kind, ref, _ in timers.due(5.0)] == [
        ("wait", "c3"),
        ("reserve", "c2"),
        ("offer", "c1"),
    ]
    assert timers.seq == 3


def test_a_reconfiguration_counts_the_eligible_agents_again(router: TenantRouter, events: Events) -> None:
    config = {"queues": {"x": {"skills": {"x": 1}}}}
    run(router, [events.configure(config), events.presence("a1", skills={"x": 1})])
    assert {q.queue: q.eligible_agents for q in router.view(10).queues}["x"] == 1
    router.apply(events.configure({"queues": {"x": {"skills": {"y": 1}}}}))
    assert {q.queue: q.eligible_agents for q in router.view(10).queues}["x"] == 0


def test_the_routers_time_is_the_log_time_it_is_given_not_the_senders(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.configure({"offer_timeout_s": 30}), events.presence("a1")])
    submitted = events.submit("c1")
    logged = submitted.time.timestamp() + 500  # the record reached the log long after it was sent
    router.apply(submitted, at=logged)
    assert router.clock == logged
    assert router.next_deadline() == logged + 30  # the offer expires 30 s after the log time


def test_departures_read_from_a_snapshot_keep_only_the_last_window() -> None:
    # Ten slow departures long ago, then fifty at one a second, as a snapshot holds them.
    departures = [float(n * 10) for n in range(10)] + [100.0 + n for n in range(50)]
    stats = QueueStatistics(departures={"general": departures})
    assert stats.expected_wait("general", 5, 150.0) == 5  # the last 50 only: one a second


def test_outcomes_read_from_a_snapshot_keep_only_the_last_window() -> None:
    outcomes = [False] * 10 + [True] * SERVICE_LEVEL_WINDOW  # ten misses, then a full window answered
    assert QueueStatistics(outcomes={"general": outcomes}).service_level("general") == 1.0


def test_an_earlier_reservations_timer_does_not_end_a_later_one(router: TenantRouter, events: Events) -> None:
    config = {"transfer_reserve_s": 60, "queues": {"general": {"sticky_window_s": 100}}}
    run(router, [events.configure(config), events.presence("a1"), events.presence("a2", "away")])
    router.apply(events.submit("c1", preferred_agent_id="a1"))  # reserved for a1 for 100 s
    accepted(router, events, "c1")
    events.wait(50)
    router.apply(events.transfer("c1", "a1", to_agent="a2"))  # reserved for a2 until 60 s from now
    router.apply(events.presence("a3"))
    events.wait(50)
    assert offers(router.apply(events.tick())) == []  # the first reservation's timer: nothing to end
    events.wait(10)
    assert offers(router.apply(events.tick())) == [("c1", "a3")]

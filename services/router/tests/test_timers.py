"""Timed transitions: deadlines set again by a new configuration, and offers that time out.

Each test pins a deadline to the second (nothing at one second before, the effect at the deadline),
so a deadline computed from the wrong instant, or never set, fails it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from router_outputs import of_type, offers, run

from relais_contracts import Outgoing, topics
from relais_contracts.agents import AgentStatusChanged, OfferRescinded
from relais_contracts.conversation import Dequeued
from relais_router.domain import TenantRouter

if TYPE_CHECKING:
    from conftest import Events

pytestmark = pytest.mark.unit


def tick_at(router: TenantRouter, events: Events, at: float) -> list[Outgoing]:
    """A timer tick at exactly `at` (router time): the events fixture adds a second per event."""
    events.wait(at - router.clock - 1)
    outputs = router.apply(events.tick())
    assert router.clock == at
    return outputs


# --- deadlines set again by a new configuration ---------------------------------------------------


def test_a_new_overflow_rule_moves_work_already_waiting_when_its_time_in_the_queue_is_up(
    router: TenantRouter, events: Events
) -> None:
    queues: dict[str, Any] = {"a": {"skills": {"a": 1}}, "b": {"skills": {"b": 1}}}
    run(router, [events.configure({"queues": queues}, digest="v1"), events.presence("b1", skills={"b": 1})])
    run(router, [events.submit("c1", queue="a")])
    queued_at = router.clock
    events.wait(28)
    queues["a"]["overflow"] = [{"after_s": 60, "move_to": "b"}]
    assert offers(run(router, [events.configure({"queues": queues}, digest="v2")])) == []

    assert offers(tick_at(router, events, queued_at + 59)) == []
    assert offers(tick_at(router, events, queued_at + 60)) == [("c1", "b1")]


def test_a_new_maximum_wait_counts_from_the_hand_off_in_the_works_own_queue(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.configure({"queues": {"vip": {}}}, digest="v1"), events.submit("c1", queue="vip")])
    handed_off = router.clock
    events.wait(98)
    vip = {"max_wait_s": 300, "max_wait_message": "please call back"}
    run(router, [events.configure({"queues": {"vip": vip}}, digest="v2")])  # general keeps no maximum

    assert of_type(tick_at(router, events, handed_off + 299), Dequeued) == []
    (dequeued,) = of_type(tick_at(router, events, handed_off + 300), Dequeued)
    assert (dequeued.subject, dequeued.data.queue, dequeued.data.reason, dequeued.data.message) == (
        "c1",
        "vip",
        "max-wait",
        "please call back",
    )
    assert "c1" not in router.waiting


def test_a_longer_decline_cooldown_keeps_the_work_from_the_agent_until_its_new_end(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.configure({"decline_cooldown_s": 30}, digest="v1"), events.presence("a1")])
    run(router, [events.submit("c1")])
    (offer,) = router.offers.values()
    assert offers(router.apply(events.reject(offer.offer_id, "a1", "c1"))) == []
    declined_at = router.clock
    events.wait(8)
    run(router, [events.configure({"decline_cooldown_s": 60}, digest="v2")])

    assert offers(tick_at(router, events, declined_at + 30)) == []  # the old cooldown's end
    assert offers(tick_at(router, events, declined_at + 59)) == []
    assert offers(tick_at(router, events, declined_at + 60)) == [("c1", "a1")]


# --- offers that time out -------------------------------------------------------------------------


def test_an_agent_is_set_not_responding_after_exactly_max_missed_offers_in_a_row(
    router: TenantRouter, events: Events
) -> None:
    config = {"max_missed_offers": 3, "offer_timeout_s": 10, "decline_cooldown_s": 0}
    run(router, [events.configure(config), events.presence("a1"), events.submit("c1")])
    for _ in range(2):
        outputs = tick_at(router, events, router.clock + 10)
        assert [r.data.reason for r in of_type(outputs, OfferRescinded)] == ["timeout"]
        assert offers(outputs) == [("c1", "a1")]  # nobody else: back to a1, who still counts
        assert of_type(outputs, AgentStatusChanged) == []
    (general,) = router.view(10).queues
    assert general.eligible_agents == 1

    outputs = tick_at(router, events, router.clock + 10)

    status = [(o.topic, o.key, o.event.data) for o in outputs if isinstance(o.event, AgentStatusChanged)]
    assert [(topic, key, d.agent_id, d.status, d.reason) for topic, key, d in status] == [
        (topics.AGENTS, "a1", "a1", "not-responding", "3 offers in a row timed out")
    ]
    assert offers(outputs) == []
    assert "c1" in router.waiting
    (general,) = router.view(10).queues
    assert general.eligible_agents == 0  # the supervisor's count drops at once
    assert router.facts.count(("offers", "general", "timeout")) == 3  # the offers metric


def test_a_timed_out_offer_frees_the_agent_for_other_work(router: TenantRouter, events: Events) -> None:
    config = {"offer_timeout_s": 10, "decline_cooldown_s": 60}
    run(router, [events.configure(config), events.presence("a1"), events.submit("c1"), events.submit("c2")])
    assert list(router.waiting) == ["c2"]

    outputs = tick_at(router, events, router.offers[next(iter(router.offers))].expires_at)

    assert [(r.data.conversation_id, r.data.reason) for r in of_type(outputs, OfferRescinded)] == [
        ("c1", "timeout")
    ]
    assert offers(outputs) == [("c2", "a1")]  # c1 is not offered back to a1 during the cooldown
    assert list(router.waiting) == ["c1"]


def test_an_agent_set_not_responding_gives_back_the_offers_not_yet_timed_out(
    router: TenantRouter, events: Events
) -> None:
    config = {"max_missed_offers": 1, "offer_timeout_s": 10}
    run(router, [events.configure(config), events.presence("a1", capacity={"*": 2}), events.submit("c1")])
    first_expires = router.clock + 10
    events.wait(3)
    run(router, [events.submit("c2")])
    assert sorted(o.item.conversation_id for o in router.offers.values()) == ["c1", "c2"]

    outputs = tick_at(router, events, first_expires)

    rescinded = of_type(outputs, OfferRescinded)
    assert [(r.data.conversation_id, r.data.reason) for r in rescinded] == [
        ("c1", "timeout"),
        ("c2", "agent not responding"),
    ]
    assert router.offers == {}
    assert router.agents["a1"].load == {}
    assert offers(run(router, [events.presence("a2")])) == [("c1", "a2")]  # both wait, oldest first

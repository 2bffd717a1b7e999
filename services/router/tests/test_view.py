"""The supervisor's view, built from the core's state: each figure as the desk reads it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from relais_router.domain import TenantRouter
from relais_router.domain.view import build_view

if TYPE_CHECKING:
    from conftest import Events  # a fixture's type; conftest is not importable at run time

pytestmark = pytest.mark.unit


def test_a_router_that_has_seen_nothing_has_no_time_yet() -> None:
    assert build_view(TenantRouter("acme"), 10).as_of is None


def test_the_view_shows_each_queue_agent_and_waiting_item_as_they_are(events: Events) -> None:
    router = TenantRouter("acme")

    def run(*batch: object) -> None:
        for event in batch:
            router.apply(event)  # type: ignore[arg-type]

    # b2 first: agents are listed by id, not by arrival.
    run(events.presence("b2", capacity={"*": 2}, total=2, skills={"billing": 3}, languages=("fr",)))
    run(events.presence("a1"))
    run(events.submit("c1", language="fr"), events.submit("c2"), events.submit("c3", priority=5))
    run(events.submit("c4", preferred_agent_id="a1"), events.submit("c5", language="de", priority=2))
    run(events.submit("c6"))
    events.wait(22)  # c1 is answered past the queue's 20 s target, before any offer expires
    offer = next(o for o in router.offers.values() if o.item.conversation_id == "c1")
    run(events.accept(offer.offer_id, offer.agent_id, "c1"))
    run(events.presence("zz", "away"))

    view = build_view(router, waiting_limit=2)

    assert (view.tenant, view.as_of) == ("acme", "2025-01-01T09:00:32+00:00")
    assert view.away_reasons == ["break", "lunch", "training", "after-call-work"]
    [general] = view.queues
    assert (general.queue, general.target_answer_s, general.target_level) == ("general", 20, 0.8)
    assert (general.waiting, general.longest_wait_s, general.offers) == (3, 26.0, 2)
    assert (general.service_level, general.eligible_agents) == (0.0, 2)
    # Two of the three waiting, by priority then age, numbered from 1.
    assert [i.model_dump() for i in general.waiting_items] == [
        {"conversation_id": "c5", "channel": "webchat", "language": "de", "priority": 2, "position": 1,
         "waited_s": 25.0, "reason": "asked-for-human", "preferred_agent": None},
        {"conversation_id": "c4", "channel": "webchat", "language": None, "priority": 0, "position": 2,
         "waited_s": 26.0, "reason": "asked-for-human", "preferred_agent": "a1"},
    ]  # fmt: skip
    a1, b2, zz = view.agents
    assert (a1.agent_id, a1.name, a1.state, a1.total_capacity) == ("a1", "Agent a1", "available", None)
    assert (a1.offers, a1.conversations, a1.conversation_ids, a1.load) == (0, 1, ["c1"], {"chat": 1})
    assert (b2.agent_id, b2.total_capacity, b2.skills, b2.languages) == ("b2", 2, {"billing": 3}, ["fr"])
    assert (b2.offers, b2.conversations, b2.conversation_ids, b2.occupancy) == (2, 0, [], 1.0)
    assert (zz.agent_id, zz.state, zz.load, zz.occupancy, zz.conversation_ids) == ("zz", "away", {}, 0.0, [])


def test_a_queue_with_nothing_waiting_has_waited_for_nothing(events: Events) -> None:
    router = TenantRouter("acme")
    for event in (events.presence("a1"), events.submit("c1")):
        router.apply(event)
    [general] = build_view(router, 10).queues
    assert (general.waiting, general.longest_wait_s, general.offers, general.waiting_items) == (0, 0.0, 1, [])

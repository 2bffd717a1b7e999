"""A supervisor's actions in the routing core: move, take back, set an agent away or offline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from router_outputs import of_type, offers

from relais_contracts import topics
from relais_contracts.agents import AgentStatusChanged, ConversationTaken, OfferRescinded
from relais_contracts.conversation import Queued, Reassigned, Released, Transferred
from relais_router.domain import TenantRouter

if TYPE_CHECKING:
    from conftest import Events

pytestmark = pytest.mark.unit


def holding(router: TenantRouter, events: Events, conversation_id: str) -> str:
    """Accept the open offer of the conversation; the agent who now holds it."""
    offer = next(o for o in router.offers.values() if o.item.conversation_id == conversation_id)
    router.apply(events.accept(offer.offer_id, offer.agent_id, conversation_id))
    return offer.agent_id


@pytest.fixture
def router(events: Events) -> TenantRouter:
    router = TenantRouter("acme")
    router.apply(
        events.configure(
            {"transfer_reserve_s": 60, "queues": {"billing": {"skills": {"billing": 1}, "max_wait_s": 600}}}
        )
    )
    return router


def test_a_move_to_a_named_agent_takes_it_from_its_agent_who_is_told(
    router: TenantRouter, events: Events
) -> None:
    for agent in ("a1", "a2"):
        router.apply(events.presence(agent))
    router.apply(events.submit("c1"))
    first = holding(router, events, "c1")
    other = "a2" if first == "a1" else "a1"

    outputs = router.apply(events.move("c1", to_agent=other))

    (moved,) = of_type(outputs, Transferred)
    assert (moved.data.from_agent_id, moved.data.to_agent_id, moved.data.by.id) == (first, other, "sam")
    (taken,) = of_type(outputs, ConversationTaken)
    assert (taken.data.agent_id, taken.data.reason, taken.data.by.name) == (first, "supervisor", "Sam")
    assert [o.key for o in outputs if isinstance(o.event, ConversationTaken)] == [first]
    (released,) = of_type(outputs, Released)
    assert (released.data.agent_id, released.data.reason) == (first, "transferred")
    assert offers(outputs) == [("c1", other)]
    assert router.agents[first].load == {}


def test_a_move_to_a_busy_agent_waits_for_them_then_goes_to_anyone(
    router: TenantRouter, events: Events
) -> None:
    for agent in ("a1", "a2", "a3"):
        router.apply(events.presence(agent))
    router.apply(events.submit("c1"))
    router.apply(events.submit("c2"))
    holder = holding(router, events, "c1")
    busy = holding(router, events, "c2")

    outputs = router.apply(events.move("c1", to_agent=busy))
    assert offers(outputs) == []  # a free agent exists, but the work is reserved for the one named
    assert router.waiting["c1"].preferred_agent == busy

    events.wait(61)
    (free,) = {"a1", "a2", "a3"} - {holder, busy}
    assert offers(router.apply(events.tick())) == [("c1", free)]


def test_a_waiting_conversation_moves_queue_keeping_its_wait(router: TenantRouter, events: Events) -> None:
    router.apply(events.submit("c1"))
    enqueued = router.waiting["c1"].enqueued_at
    events.wait(30)

    outputs = router.apply(events.move("c1", to_queue="billing"))

    (queued,) = of_type(outputs, Queued)
    assert queued.data.queue == "billing"
    assert router.waiting["c1"].queue == "billing"
    assert router.waiting["c1"].enqueued_at == enqueued
    (moved,) = of_type(outputs, Transferred)
    assert moved.data.from_agent_id is None
    assert moved.data.to_queue == "billing"
    # Billing needs the skill: a general agent stays idle, a billing one gets it.
    assert offers(router.apply(events.presence("g1"))) == []
    assert offers(router.apply(events.presence("b1", skills={"billing": 2}))) == [("c1", "b1")]


def test_an_offered_conversation_moves_and_its_offer_is_rescinded(
    router: TenantRouter, events: Events
) -> None:
    router.apply(events.presence("a1"))
    router.apply(events.presence("b1", skills={"billing": 2}))
    router.apply(events.submit("c1", queue="billing"))
    (offer,) = router.offers.values()
    router.apply(events.submit("c2"))  # waits: b1's one slot holds the offer, a1 takes general

    outputs = router.apply(events.move("c1", to_agent="a1"))

    (rescinded,) = of_type(outputs, OfferRescinded)
    assert (rescinded.data.offer_id, rescinded.data.agent_id) == (offer.offer_id, offer.agent_id)
    assert offer.offer_id not in router.offers
    assert "c1" in router.waiting  # reserved for a1, who holds c2's offer
    assert router.agents["b1"].load == {}


def test_moving_a_conversation_where_it_already_is_or_that_is_not_routed_does_nothing(
    router: TenantRouter, events: Events
) -> None:
    router.apply(events.presence("a1"))
    router.apply(events.submit("c1"))
    holder = holding(router, events, "c1")
    assert router.apply(events.move("c1", to_agent=holder)) == []
    assert router.apply(events.move("unknown", to_queue="billing")) == []
    assert router.apply(events.take_back("unknown")) == []
    assert router.assignments["c1"].agent_id == holder


def test_take_back_reassigns_to_anyone_but_the_agent(router: TenantRouter, events: Events) -> None:
    for agent in ("a1", "a2"):
        router.apply(events.presence(agent))
    router.apply(events.submit("c1"))
    silent = holding(router, events, "c1")

    outputs = router.apply(events.take_back("c1"))

    (reassigned,) = of_type(outputs, Reassigned)
    assert (reassigned.data.reason, reassigned.data.from_agent_id, reassigned.data.by.id) == (
        "supervisor",
        silent,
        "sam",
    )
    (taken,) = of_type(outputs, ConversationTaken)
    assert taken.data.reason == "supervisor"
    assert taken.data.by.id == "sam"
    (other,) = {"a1", "a2"} - {silent}
    assert offers(outputs) == [("c1", other)]


def test_take_back_of_an_open_offer_gives_it_to_the_next_agent(router: TenantRouter, events: Events) -> None:
    for agent in ("a1", "a2"):
        router.apply(events.presence(agent))
    router.apply(events.submit("c1"))
    (offer,) = router.offers.values()

    outputs = router.apply(events.take_back("c1"))

    assert [e.data.offer_id for e in of_type(outputs, OfferRescinded)] == [offer.offer_id]
    (other,) = {"a1", "a2"} - {offer.agent_id}
    assert offers(outputs) == [("c1", other)]


def test_a_supervisor_sets_an_agent_away_and_the_desk_is_told(router: TenantRouter, events: Events) -> None:
    router.apply(events.presence("a1", capacity={"*": 2}, skills={"billing": 4}))
    router.apply(events.submit("c1"))
    (offer,) = router.offers.values()

    outputs = router.apply(events.set_presence("a1", "away", "training"))

    agent = router.agents["a1"]
    assert (agent.presence, agent.away_reason, agent.capacity, agent.skills) == (
        "away",
        "training",
        {"*": 2},
        {"billing": 4},
    )
    (status,) = of_type(outputs, AgentStatusChanged)
    assert (status.data.status, status.data.reason, status.data.by.id) == ("away", "training", "sam")
    assert [o.topic for o in outputs if isinstance(o.event, AgentStatusChanged)] == [topics.AGENTS]
    assert [e.data.offer_id for e in of_type(outputs, OfferRescinded)] == [offer.offer_id]
    assert "c1" in router.waiting
    assert offers(router.apply(events.submit("c2"))) == []  # away: no more offers


def test_a_supervisor_sets_an_agent_offline_and_their_conversations_go_to_others(
    router: TenantRouter, events: Events
) -> None:
    router.apply(events.presence("a1"))
    router.apply(events.submit("c1"))
    holding(router, events, "c1")
    router.apply(events.presence("a2"))

    outputs = router.apply(events.set_presence("a1", "offline"))

    assert router.agents["a1"].presence == "offline"
    assert [e.data.reason for e in of_type(outputs, Reassigned)] == ["offline"]
    assert offers(outputs) == [("c1", "a2")]
    assert router.apply(events.set_presence("nobody", "offline")) == []


def test_supervisor_actions_replay_to_the_same_decisions(events: Events, new_events: Any) -> None:
    def history(e: Events) -> list[Any]:
        return [
            e.configure({"transfer_reserve_s": 60}),
            e.presence("a1"),
            e.presence("a2"),
            e.submit("c1"),
            e.submit("c2"),
            e.move("c1", to_agent="a2"),
            e.take_back("c2"),
            e.set_presence("a1", "away", "break"),
        ]

    first, second = TenantRouter("acme"), TenantRouter("acme")
    out1 = [o for event in history(new_events()) for o in first.apply(event)]
    out2 = [o for event in history(new_events()) for o in second.apply(event)]
    assert out1 == out2
    assert out1


def test_the_view_lists_the_conversations_each_agent_holds(router: TenantRouter, events: Events) -> None:
    router.apply(events.presence("a1", capacity={"*": 2}))
    router.apply(events.submit("c1"))
    router.apply(events.submit("c2"))
    holding(router, events, "c2")
    holding(router, events, "c1")
    (agent,) = router.view(10).agents
    assert agent.conversation_ids == ["c2", "c1"]  # oldest assignment first


def test_an_agent_whose_offer_is_moved_away_has_exactly_that_slot_back(
    router: TenantRouter, events: Events
) -> None:
    router.apply(events.presence("b1", capacity={"*": 2}, skills={"billing": 2}))
    router.apply(events.submit("c1", queue="billing"))
    router.apply(events.submit("c2", queue="billing"))
    assert router.agents["b1"].load == {"chat": 2}
    router.apply(events.move("c1", to_queue="general"))
    # One of b1's two slots is free again, and only one: of two new billing conversations, one is offered.
    assert router.agents["b1"].load == {"chat": 1}
    outputs = router.apply(events.submit("c3", queue="billing"))
    outputs += router.apply(events.submit("c4", queue="billing"))
    assert offers(outputs) == [("c3", "b1")]

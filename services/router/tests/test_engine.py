"""The routing core, event by event."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pytest

from relais_contracts import Event, topics
from relais_contracts.agents import OfferCreated, OfferRescinded
from relais_contracts.conversation import Assigned, Offered, Queued
from relais_platform.kafka import Outgoing
from relais_router.domain import SOURCE, RouterState, apply

if TYPE_CHECKING:
    from conftest import Events  # a fixture's type; conftest is not importable at run time

pytestmark = pytest.mark.unit


def run(events: Iterable[Event], tenant: str = "acme") -> tuple[RouterState, list[Outgoing]]:
    state = RouterState(tenant=tenant)
    outputs: list[Outgoing] = []
    for event in events:
        state, out = apply(state, event)
        outputs.extend(out)
    return state, outputs


def offers_made(outputs: list[Outgoing]) -> list[OfferCreated]:
    return [o.event for o in outputs if isinstance(o.event, OfferCreated)]


def test_submitted_work_is_queued_then_offered_to_the_available_agent(events: Events) -> None:
    submit = events.submit("c1")
    state, _ = run([events.presence("a1")])
    state, outputs = apply(state, submit)

    assert [type(o.event) for o in outputs] == [Queued, OfferCreated, Offered]
    queued, created, offered = outputs
    assert (queued.topic, queued.key, queued.event.subject) == (topics.CONVERSATIONS, "c1", "c1")
    assert isinstance(queued.event, Queued)
    assert queued.event.data.position == 1
    assert queued.event.data.enqueued_at == submit.time
    assert (created.topic, created.key) == (topics.AGENTS, "a1")
    assert isinstance(created.event, OfferCreated)
    assert created.event.data.packet == submit.data.packet  # the agent sees the transcript
    assert created.event.data.channel == "webchat"
    assert isinstance(offered.event, Offered)
    assert offered.event.data.offer_id == created.event.data.offer_id
    assert [o.event.source for o in outputs] == [SOURCE] * 3
    assert [o.event.causationid for o in outputs] == [submit.id] * 3
    assert state.queue == ()
    assert state.agents["a1"].load == {"webchat": 1}


def test_work_waits_in_arrival_order_when_nobody_is_available(events: Events) -> None:
    state, outputs = run([events.submit("c1"), events.submit("c2"), events.submit("c1")])
    assert [o.event.data.position for o in outputs if isinstance(o.event, Queued)] == [1, 2]
    assert [i.conversation_id for i in state.queue] == ["c1", "c2"]

    state, outputs = apply(state, events.presence("a1"))
    assert [o.data.conversation_id for o in offers_made(outputs)] == ["c1"]  # the oldest first
    assert [i.conversation_id for i in state.queue] == ["c2"]


def test_a_conversation_already_held_is_not_submitted_again(events: Events) -> None:
    state, _ = run([events.presence("a1"), events.submit("c1")])
    assert apply(state, events.submit("c1")) == (state, [])


def test_an_item_is_never_offered_to_two_agents(events: Events) -> None:
    state, outputs = run([events.submit("c1"), events.presence("a1"), events.presence("a2")])
    assert len(offers_made(outputs)) == 1
    assert len(state.offers) == 1


def test_accept_assigns_once(events: Events) -> None:
    state, outputs = run([events.presence("a1"), events.submit("c1")])
    offer = offers_made(outputs)[0].data

    accept = events.accept(offer.offer_id, "a1", "c1")
    state, outputs = apply(state, accept)
    assert len(outputs) == 1
    assigned = outputs[0].event
    assert isinstance(assigned, Assigned)
    assert (assigned.subject, assigned.data.agent_id, assigned.data.offer_id) == ("c1", "a1", offer.offer_id)
    assert assigned.data.agent_name == "Agent a1"
    assert state.assignments["c1"].agent_id == "a1"
    assert state.offers == {}
    assert state.agents["a1"].load == {"webchat": 1}  # the offered slot is now the assigned one
    assert state.agents["a1"].last_assigned_at == accept.time

    again, outputs = apply(state, events.accept(offer.offer_id, "a1", "c1"))
    assert outputs == []
    assert again == state


def test_accepts_of_unknown_or_other_agents_offers_are_ignored(events: Events) -> None:
    state, outputs = run([events.presence("a1"), events.presence("a2"), events.submit("c1")])
    offer = offers_made(outputs)[0].data
    other = "a2" if offer.agent_id == "a1" else "a1"
    for event in (
        events.accept(offer.offer_id, other, "c1"),
        events.accept("no-such-offer", offer.agent_id, "c1"),
        events.accept(offer.offer_id, offer.agent_id, "another-conversation"),
        events.reject(offer.offer_id, other, "c1"),
    ):
        assert apply(state, event) == (state, [])


def test_reject_offers_the_item_to_another_agent(events: Events) -> None:
    state, outputs = run([events.presence("a1"), events.presence("a2"), events.submit("c1")])
    first = offers_made(outputs)[0].data
    state, outputs = apply(state, events.reject(first.offer_id, first.agent_id, "c1"))

    assert [type(o.event) for o in outputs] == [Queued, OfferCreated, Offered]
    second = offers_made(outputs)[0].data
    assert second.agent_id != first.agent_id
    assert second.offer_id != first.offer_id
    assert state.agents[first.agent_id].load == {}
    assert list(state.offers) == [second.offer_id]


def test_rejected_by_everyone_the_item_waits_at_the_front(events: Events) -> None:
    state, outputs = run([events.submit("c0"), events.presence("a1"), events.submit("c1")])
    offer = offers_made(outputs)[0].data
    assert offer.conversation_id == "c0"
    state, outputs = apply(state, events.reject(offer.offer_id, "a1", "c0"))

    # a1 declined c0, so the next item goes to a1 and c0 waits, still first in line.
    assert [o.data.conversation_id for o in offers_made(outputs)] == ["c1"]
    assert [i.conversation_id for i in state.queue] == ["c0"]
    assert state.queue[0].declined_by == ("a1",)


def test_an_agent_going_away_hands_back_its_offers(events: Events) -> None:
    state, outputs = run([events.presence("a1", capacity={"*": 2}), events.submit("c1"), events.submit("c2")])
    assert len(state.offers) == 2
    state, outputs = apply(state, events.presence("a1", "away"))

    rescinded = [o for o in outputs if isinstance(o.event, OfferRescinded)]
    assert [(o.topic, o.key, o.event.data.conversation_id) for o in rescinded] == [
        (topics.AGENTS, "a1", "c1"),
        (topics.AGENTS, "a1", "c2"),
    ]
    assert state.offers == {}
    assert state.agents["a1"].load == {}
    assert [i.conversation_id for i in state.queue] == ["c1", "c2"]

    state, outputs = apply(state, events.presence("a2"))
    assert [o.data.conversation_id for o in offers_made(outputs)] == ["c1"]


def test_rescinded_items_go_before_work_that_arrived_later(events: Events) -> None:
    state, _ = run([events.presence("a1"), events.submit("c1"), events.submit("c2")])
    state, _ = apply(state, events.presence("a1", "offline"))
    assert [i.conversation_id for i in state.queue] == ["c1", "c2"]


def test_capacity_is_respected_per_channel(events: Events) -> None:
    state, outputs = run(
        [
            events.presence("a1", capacity={"webchat": 2, "*": 1}),
            events.submit("c1", "webchat"),
            events.submit("c2", "webchat"),
            events.submit("c3", "webchat"),
            events.submit("c4", "sms"),
            events.submit("c5", "email"),  # sms and email share the "*" slot
        ]
    )
    assert sorted(o.data.conversation_id for o in offers_made(outputs)) == ["c1", "c2", "c4"]
    assert [i.conversation_id for i in state.queue] == ["c3", "c5"]


def test_an_agent_without_capacity_for_a_channel_gets_none_of_it(events: Events) -> None:
    _, outputs = run([events.presence("a1", capacity={"voice": 1}), events.submit("c1", "webchat")])
    assert offers_made(outputs) == []


def test_completion_frees_capacity_for_the_next_item(events: Events) -> None:
    state, outputs = run([events.presence("a1"), events.submit("c1"), events.submit("c2")])
    offer = offers_made(outputs)[0].data
    state, _ = apply(state, events.accept(offer.offer_id, "a1", "c1"))
    assert [i.conversation_id for i in state.queue] == ["c2"]

    assert apply(state, events.complete("c1", "a2")) == (state, [])  # not a2's conversation
    state, outputs = apply(state, events.complete("c1", "a1"))
    assert "c1" not in state.assignments
    assert [o.data.conversation_id for o in offers_made(outputs)] == ["c2"]
    assert state.agents["a1"].load == {"webchat": 1}


def test_the_least_loaded_then_longest_idle_agent_gets_the_offer(events: Events) -> None:
    state, outputs = run(
        [
            events.presence("a2", capacity={"*": 3}),
            events.presence("a1", capacity={"*": 3}),
            events.submit("c1"),
        ]
    )
    first = offers_made(outputs)[0].data
    assert first.agent_id == "a1"  # same load, never assigned: the agent id decides
    state, _ = apply(state, events.accept(first.offer_id, "a1", "c1"))
    state, _ = apply(state, events.complete("c1", "a1"))

    state, outputs = apply(state, events.submit("c2"))
    assert offers_made(outputs)[0].data.agent_id == "a2"  # a1 worked more recently

    state, outputs = apply(state, events.submit("c3"))
    assert offers_made(outputs)[0].data.agent_id == "a1"  # a2 now has the higher load


def test_output_ids_are_derived_from_the_input_event(events: Events) -> None:
    state, _ = run([events.presence("a1")])
    submit = events.submit("c1")
    _, outputs = apply(state, submit)
    _, again = apply(state, submit)
    assert [o.event.id for o in outputs] == [o.event.id for o in again]
    assert len({o.event.id for o in outputs}) == len(outputs)


def test_replaying_the_same_events_gives_the_same_state_and_outputs(events: Events) -> None:
    history: list[Event] = [
        events.presence("a1", capacity={"*": 2}),
        events.submit("c1"),
        events.presence("a2"),
        events.submit("c2", "sms"),
        events.submit("c3"),
    ]
    _, outputs = run(history)
    offer = offers_made(outputs)[0].data
    history += [
        events.reject(offer.offer_id, offer.agent_id, offer.conversation_id),
        events.presence("a2", "away"),
        events.complete("c9", "a1"),
    ]
    first = run(history)
    second = run(history)
    assert first == second
    restored = RouterState.model_validate_json(first[0].model_dump_json())
    assert restored == first[0]
    assert restored.model_dump_json() == first[0].model_dump_json()


def test_events_of_another_tenant_are_refused(events: Events) -> None:
    with pytest.raises(ValueError, match="tenant"):
        apply(RouterState(tenant="other"), events.submit("c1"))

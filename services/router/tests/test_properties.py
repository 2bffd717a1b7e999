"""Properties of the routing core over random event sequences (hypothesis)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relais_contracts import Event
from relais_contracts.agents import OfferCreated
from relais_contracts.conversation import Assigned
from relais_platform.kafka import Outgoing
from relais_router.domain import RouterState, apply

if TYPE_CHECKING:
    from conftest import Events

pytestmark = pytest.mark.unit

AGENTS = ("a1", "a2", "a3")
CONVERSATIONS = ("c1", "c2", "c3", "c4", "c5", "c6")
CHANNELS = ("webchat", "sms", "email")

capacities = st.dictionaries(st.sampled_from(("*", "webchat", "sms")), st.integers(0, 2), max_size=3)
commands = st.lists(
    st.one_of(
        st.tuples(st.just("submit"), st.sampled_from(CONVERSATIONS), st.sampled_from(CHANNELS)),
        st.tuples(
            st.just("presence"), st.sampled_from(AGENTS), st.sampled_from(("available", "away", "offline"))
        ),
        st.tuples(st.just("accept"), st.integers(0, 5), st.booleans()),
        st.tuples(st.just("reject"), st.integers(0, 5), st.booleans()),
        st.tuples(st.just("complete"), st.integers(0, 5), st.booleans()),
    ),
    max_size=60,
)


def concrete(
    events: Events, state: RouterState, command: tuple[Any, ...], capacity: dict[str, dict[str, int]]
) -> Event:
    """Turn a drawn command into an event, aimed at what is open now so answers are mostly valid."""
    kind = command[0]
    if kind == "submit":
        return events.submit(command[1], command[2])
    if kind == "presence":
        return events.presence(command[1], command[2], capacity[command[1]])
    _, pick, wrong = command
    if kind == "complete":
        held = sorted(state.assignments.values(), key=lambda a: a.conversation_id)
        if not held:
            return events.complete("c1", "a1")
        a = held[pick % len(held)]
        return events.complete(a.conversation_id, "a3" if wrong and a.agent_id != "a3" else a.agent_id)
    answer = events.accept if kind == "accept" else events.reject
    offers = sorted(state.offers.values(), key=lambda o: o.offer_id)
    if not offers:
        return answer("no-such-offer", "a1", "c1")
    o = offers[pick % len(offers)]
    agent = next(a for a in AGENTS if a != o.agent_id) if wrong else o.agent_id
    return answer(o.offer_id, agent, o.conversation_id)


def check_invariants(before: RouterState, after: RouterState, outputs: list[Outgoing]) -> None:
    waiting = [i.conversation_id for i in after.queue]
    offered = [o.conversation_id for o in after.offers.values()]
    assigned = list(after.assignments)
    held = waiting + offered + assigned
    assert len(held) == len(set(held)), "a conversation is in two places (or two offers) at once"

    for agent in after.agents.values():
        expected = Counter(o.item.channel for o in after.offers.values() if o.agent_id == agent.id)
        expected.update(a.channel for a in after.assignments.values() if a.agent_id == agent.id)
        assert agent.load == dict(expected)
        for channel in agent.load:
            assert agent.load_for(channel) <= agent.capacity_for(channel)
    for offer in after.offers.values():
        assert after.agents[offer.agent_id].presence == "available"
        assert offer.agent_id not in offer.item.declined_by

    created = [out.event.data for out in outputs if isinstance(out.event, OfferCreated)]
    assert len({c.conversation_id for c in created}) == len(created), "offered twice in one step"
    for out in outputs:
        if isinstance(out.event, Assigned):
            assert out.event.subject not in before.assignments, "assigned twice"
    for c in created:
        # An earlier offer of the same conversation may have just closed (a reject re-offers at once),
        # but none may still be open beside the new one.
        still_open = [
            o
            for o in before.offers.values()
            if o.conversation_id == c.conversation_id and o.offer_id in after.offers
        ]
        assert not still_open, "offered while an earlier offer is still open"

    assert RouterState.model_validate_json(after.model_dump_json()) == after


@settings(max_examples=300, deadline=None)
@given(
    capacity=st.fixed_dictionaries({a: capacities for a in AGENTS}),
    script=commands,
)
def test_invariants_hold_and_replay_is_deterministic(
    new_events: Callable[[], Events], capacity: dict[str, dict[str, int]], script: list[tuple[Any, ...]]
) -> None:
    events = new_events()
    state = RouterState(tenant=events.tenant)
    history: list[Event] = []
    outputs: list[Outgoing] = []
    for command in script:
        event = concrete(events, state, command, capacity)
        after, out = apply(state, event)
        check_invariants(state, after, out)
        history.append(event)
        outputs.extend(out)
        state = after

    ids = [o.event.id for o in outputs]
    assert len(ids) == len(set(ids))

    replayed = RouterState(tenant=events.tenant)
    replayed_outputs: list[Outgoing] = []
    for event in history:
        replayed, out = apply(replayed, event)
        replayed_outputs.extend(out)
    assert replayed == state
    assert replayed.model_dump_json() == state.model_dump_json()
    assert replayed_outputs == outputs

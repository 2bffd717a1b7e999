"""Work handed from one agent to another: an agent's transfer, a supervisor's move and take-back,
and the supervisor's count of the agents eligible for each queue.

What is asserted is what the desks and the customer see: the events published (with every field the
desk or the conversation log shows), who is offered what and when, and the supervisor's view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from router_outputs import of_type, offers, run

from relais_contracts import Outgoing, topics
from relais_contracts.agents import ConversationTaken, OfferCreated, OfferRescinded
from relais_contracts.conversation import Dequeued, Queued, Reassigned, Released, Transferred
from relais_contracts.routing import (
    SupervisorMoveData,
    SupervisorMoveRequested,
    TransferRequested,
    TransferRequestedData,
)
from relais_router.domain import TenantRouter

if TYPE_CHECKING:
    from conftest import Events

pytestmark = pytest.mark.unit


def accept(router: TenantRouter, events: Events, conversation_id: str) -> str:
    offer = next(o for o in router.offers.values() if o.item.conversation_id == conversation_id)
    router.apply(events.accept(offer.offer_id, offer.agent_id, conversation_id))
    assert router.assignments[conversation_id].agent_id == offer.agent_id
    return offer.agent_id


def tick_at(router: TenantRouter, events: Events, at: float) -> list[Outgoing]:
    events.wait(at - router.clock - 1)
    outputs = router.apply(events.tick())
    assert router.clock == at
    return outputs


def transfer(events: Events, conversation_id: str, agent_id: str, note: str, **to: str) -> TransferRequested:
    base = events.transfer(conversation_id, agent_id, **to)
    data = TransferRequestedData(**{**base.data.model_dump(), "note": note})
    return TransferRequested(**{**base.model_dump(exclude={"data"}), "data": data})


def move(events: Events, conversation_id: str, note: str, **to: str) -> SupervisorMoveRequested:
    base = events.move(conversation_id, **to)
    data = SupervisorMoveData(**{**base.data.model_dump(), "note": note})
    return SupervisorMoveRequested(**{**base.model_dump(exclude={"data"}), "data": data})


def agent_view(router: TenantRouter, agent_id: str) -> Any:
    return next(a for a in router.view(10).agents if a.agent_id == agent_id)


# --- an agent's transfer ----------------------------------------------------------------------------


def test_only_the_agent_holding_a_conversation_can_transfer_it(router: TenantRouter, events: Events) -> None:
    run(router, [events.presence("a1"), events.presence("a2"), events.submit("c1")])
    holder = accept(router, events, "c1")
    other = "a2" if holder == "a1" else "a1"
    assert router.apply(events.transfer("c1", other, to_queue="billing")) == []
    assert router.apply(events.transfer("unknown", holder, to_queue="billing")) == []
    assert router.assignments["c1"].agent_id == holder


def test_a_transfer_is_announced_and_the_work_waits_anew_from_the_transfer(
    router: TenantRouter, events: Events
) -> None:
    billing = {"skills": {"billing": 1}, "overflow": [{"after_s": 30, "move_to": "general"}]}
    run(router, [events.configure({"queues": {"billing": billing, "general": {}}}), events.presence("a1")])
    submit = events.submit("c1", channel="email")
    run(router, [submit])
    accept(router, events, "c1")
    events.wait(100)
    run(router, [events.presence("a2", capacity={"email": 1})])
    request = transfer(events, "c1", "a1", "wants a refund", to_queue="billing")

    outputs = router.apply(request)

    assert [type(o.event) for o in outputs][:3] == [Transferred, Released, Queued]
    (moved,) = of_type(outputs, Transferred)
    assert moved.data.model_dump() == {
        "from_agent_id": "a1",
        "to_queue": "billing",
        "to_agent_id": None,
        "note": "wants a refund",
        "by": None,
    }
    (released,) = of_type(outputs, Released)
    assert (released.data.agent_id, released.data.reason, released.data.disposition) == (
        "a1",
        "transferred",
        None,
    )
    (queued,) = of_type(outputs, Queued)
    assert (queued.data.queue, queued.data.position, queued.data.enqueued_at) == ("billing", 1, request.time)
    assert offers(outputs) == []  # nobody has the billing skill
    assert agent_view(router, "a1").load == {}

    # Its overflow counts from the transfer, not from the hand-off 100 s before.
    assert offers(tick_at(router, events, router.clock + 29)) == []
    outputs = tick_at(router, events, request.time.timestamp() + 30)
    (offer,) = of_type(outputs, OfferCreated)
    assert (offer.data.agent_id, offer.data.channel, offer.data.packet) == ("a2", "email", submit.data.packet)
    assert agent_view(router, "a2").load == {"email": 1}


def test_transferred_work_takes_the_priority_of_its_new_queue(router: TenantRouter, events: Events) -> None:
    run(router, [events.configure({"queues": {"billing": {"skills": {"billing": 1}, "priority": 5}}})])
    run(router, [events.presence("b1", skills={"billing": 1}), events.submit("c0", queue="billing")])
    accept(router, events, "c0")
    run(router, [events.submit("c9", queue="billing")])  # waits for b1, at billing's priority 5
    run(router, [events.presence("a1"), events.submit("c1", priority=2)])
    accept(router, events, "c1")

    (queued,) = of_type(router.apply(events.transfer("c1", "a1", to_queue="billing")), Queued)

    assert queued.data.position == 1  # 5 + 2: ahead of c9, which waits longer
    assert offers(router.apply(events.complete("c0", "b1"))) == [("c1", "b1")]


def test_the_transferring_agent_is_not_offered_the_work_back_until_the_cooldown_ends(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.configure({"decline_cooldown_s": 60, "queues": {"vip": {}}}), events.presence("a1")])
    run(router, [events.submit("c1", queue="vip")])
    accept(router, events, "c1")

    outputs = router.apply(events.transfer("c1", "a1"))  # no queue named: back to its own
    transferred_at = router.clock

    assert [q.data.queue for q in of_type(outputs, Queued)] == ["vip"]
    assert offers(outputs) == []  # a1 is free, but passed it on
    assert offers(tick_at(router, events, transferred_at + 59)) == []
    assert offers(tick_at(router, events, transferred_at + 60)) == [("c1", "a1")]


def test_work_transferred_to_a_busy_agent_goes_to_anyone_when_the_reservation_ends(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.configure({"transfer_reserve_s": 60}), events.presence("a1"), events.submit("c1")])
    accept(router, events, "c1")
    run(router, [events.presence("a2"), events.submit("busy")])
    accept(router, events, "busy")  # a2 holds it
    run(router, [events.presence("a3")])

    outputs = router.apply(events.transfer("c1", "a1", to_agent="a2"))
    transferred_at = router.clock

    assert [(t.data.from_agent_id, t.data.to_agent_id) for t in of_type(outputs, Transferred)] == [
        ("a1", "a2")
    ]
    assert offers(outputs) == []  # a3 is free, but the work is kept for a2
    assert offers(tick_at(router, events, transferred_at + 59)) == []
    assert offers(tick_at(router, events, transferred_at + 60)) == [("c1", "a3")]


# --- a supervisor's take-back -------------------------------------------------------------------------


def test_a_taken_back_conversation_is_announced_everywhere_and_its_agent_gets_other_work(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.configure({"decline_cooldown_s": 60}), events.presence("a1", capacity={"*": 2})])
    for conversation in ("c1", "c2"):
        run(router, [events.submit(conversation)])
        accept(router, events, conversation)
    run(router, [events.submit("c3")])  # waits: a1 is full

    take_back = events.take_back("c1")
    outputs = router.apply(take_back)

    (released,) = of_type(outputs, Released)
    assert (released.subject, released.data.agent_id, released.data.reason) == ("c1", "a1", "reassigned")
    (taken,) = [o for o in outputs if isinstance(o.event, ConversationTaken)]
    assert (taken.topic, taken.key, taken.event.subject) == (topics.AGENTS, "a1", "c1")
    assert taken.event.data.model_dump() == {
        "agent_id": "a1",
        "conversation_id": "c1",
        "reason": "supervisor",
        "by": take_back.data.by.model_dump(),
    }
    (reassigned,) = of_type(outputs, Reassigned)
    assert reassigned.data.model_dump() == {
        "from_agent_id": "a1",
        "queue": "general",
        "reason": "supervisor",
        "by": take_back.data.by.model_dump(),
    }
    (queued,) = of_type(outputs, Queued)
    assert (queued.subject, queued.data.queue, queued.data.enqueued_at) == ("c1", "general", take_back.time)
    assert offers(outputs) == [("c3", "a1")]  # the freed slot, not for the work taken from a1
    assert agent_view(router, "a1").load == {"chat": 2}  # c2 and the offer of c3
    assert ("reassigned", "general", "supervisor") in router.facts  # the reassignments metric

    # c1 comes back to a1 only once the cooldown is over.
    run(router, [events.complete("c2", "a1")])
    assert offers(tick_at(router, events, take_back.time.timestamp() + 59)) == []
    assert offers(tick_at(router, events, take_back.time.timestamp() + 60)) == [("c1", "a1")]
    assert agent_view(router, "a1").load == {"chat": 1}  # the offer of c1, of its own channel kind


def test_work_taken_back_keeps_its_priority_and_waits_from_the_take_back(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.presence("a1", languages=("en",)), events.submit("c1", priority=3)])
    accept(router, events, "c1")
    run(router, [events.submit("c2", language="de")])  # waits since before the take-back; a1 has no German

    run(router, [events.take_back("c1")])
    (general,) = router.view(10).queues

    assert [(w.conversation_id, w.priority, w.waited_s) for w in general.waiting_items] == [
        ("c1", 3, 0.0),
        ("c2", 0, 1.0),
    ]
    assert offers(run(router, [events.presence("a2", languages=("en", "de"))])) == [("c1", "a2")]


# --- a supervisor's move ------------------------------------------------------------------------------


def test_a_conversation_moved_from_its_agent_carries_the_note_and_the_desk_is_told(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.presence("a1", capacity={"*": 1}), events.submit("c1", channel="email")])
    accept(router, events, "c1")
    run(router, [events.presence("a2", capacity={"email": 1})])

    outputs = router.apply(move(events, "c1", "a VIP customer", to_agent="a2"))

    (moved,) = of_type(outputs, Transferred)
    assert (moved.data.from_agent_id, moved.data.to_agent_id, moved.data.note) == (
        "a1",
        "a2",
        "a VIP customer",
    )
    (taken,) = [o for o in outputs if isinstance(o.event, ConversationTaken)]
    assert (taken.topic, taken.key, taken.event.subject) == (topics.AGENTS, "a1", "c1")
    assert offers(outputs) == [("c1", "a2")]
    assert (agent_view(router, "a1").load, agent_view(router, "a2").load) == ({}, {"email": 1})


def test_a_conversation_moved_to_another_queue_with_its_own_agent_named_goes_back_to_them(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.configure({"queues": {"billing": {}}}), events.presence("a1"), events.presence("a2")])
    run(router, [events.submit("c1")])
    holder = accept(router, events, "c1")

    outputs = router.apply(events.move("c1", to_queue="billing", to_agent=holder))

    assert [q.data.queue for q in of_type(outputs, Queued)] == ["billing"]
    assert offers(outputs) == [("c1", holder)]  # kept for them, not held off as if moved away from them


def test_an_offer_moved_by_a_supervisor_is_rescinded_with_the_reason_and_counted(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.configure({"queues": {"billing": {"skills": {"billing": 1}}}})])
    run(router, [events.presence("a1"), events.submit("c1")])

    outputs = router.apply(events.move("c1", to_queue="billing"))

    rescinded = [
        (r.data.agent_id, r.data.conversation_id, r.data.reason) for r in of_type(outputs, OfferRescinded)
    ]
    assert rescinded == [("a1", "c1", "moved by a supervisor")]
    assert ("offers", "general", "rescinded") in router.facts  # the offers metric, under the queue it left
    assert [q.data.queue for q in of_type(outputs, Queued)] == ["billing"]


def test_work_moved_to_another_queue_takes_its_priority_and_starts_its_overflow_rules(
    router: TenantRouter, events: Events
) -> None:
    billing = {
        "skills": {"billing": 3},
        "priority": 5,
        "overflow": [{"after_s": 60, "lower_skill": "billing", "to_proficiency": 1}],
    }
    run(router, [events.configure({"queues": {"billing": billing}}), events.submit("c9", queue="billing")])
    run(router, [events.submit("c1", priority=2)])  # nobody is there yet

    (queued,) = of_type(router.apply(events.move("c1", to_queue="billing")), Queued)
    moved_at = router.clock

    assert (queued.data.queue, queued.data.position) == ("billing", 1)  # 5 + 2: ahead of c9
    assert (
        offers(run(router, [events.presence("b1", capacity={"*": 2}, skills={"billing": 1})])) == []
    )  # needs 3 yet
    assert offers(tick_at(router, events, moved_at - 2 + 60)) == [("c9", "b1")]  # c9's own overflow
    assert offers(tick_at(router, events, moved_at + 59)) == []
    assert offers(tick_at(router, events, moved_at + 60)) == [("c1", "b1")]


def test_work_moved_to_a_queue_with_a_maximum_wait_leaves_it_counting_from_the_hand_off(
    router: TenantRouter, events: Events
) -> None:
    billing = {"max_wait_s": 600, "max_wait_message": "we will call you back"}
    run(router, [events.configure({"queues": {"billing": billing}}), events.submit("c1")])
    handed_off = router.clock
    events.wait(100)
    run(router, [events.move("c1", to_queue="billing")])

    assert of_type(tick_at(router, events, handed_off + 599), Dequeued) == []
    (dequeued,) = of_type(tick_at(router, events, handed_off + 600), Dequeued)
    assert (dequeued.subject, dequeued.data.queue, dequeued.data.reason, dequeued.data.message) == (
        "c1",
        "billing",
        "max-wait",
        "we will call you back",
    )


# --- the supervisor's count of eligible agents ------------------------------------------------------


def test_the_view_counts_the_routable_agents_who_meet_each_queues_minimums(
    router: TenantRouter, events: Events
) -> None:
    queues = {"billing": {"skills": {"billing": 2}}, "general": {}, "vip": {"skills": {"vip": 1}}}
    run(router, [events.configure({"queues": queues})])
    run(
        router,
        [
            events.presence("a1", skills={"billing": 2}),  # exactly the minimum
            events.presence("a2", skills={"billing": 1}),  # below it
            events.presence("a3"),
            events.presence("a4", "away", skills={"billing": 5, "vip": 5}),
        ],
    )

    def eligible() -> dict[str, int]:
        return {q.queue: q.eligible_agents for q in router.view(10).queues}

    assert eligible() == {"billing": 1, "general": 4 - 1, "vip": 0}
    run(router, [events.presence("a4", skills={"billing": 5, "vip": 5})])  # back from away
    assert eligible() == {"billing": 2, "general": 4, "vip": 1}


def test_work_taken_back_overflows_counting_from_the_take_back(router: TenantRouter, events: Events) -> None:
    general = {"overflow": [{"after_s": 30, "move_to": "late"}]}
    run(router, [events.configure({"queues": {"general": general, "late": {}}}), events.presence("a1")])
    run(router, [events.submit("c1")])
    accept(router, events, "c1")
    events.wait(100)
    take_back = events.take_back("c1")
    run(router, [take_back])  # a1 may not have it back for the cooldown: it waits

    def waiting() -> dict[str, list[str]]:
        return {q.queue: [w.conversation_id for w in q.waiting_items] for q in router.view(10).queues}

    tick_at(router, events, take_back.time.timestamp() + 29)
    assert waiting() == {"general": ["c1"], "late": []}
    tick_at(router, events, take_back.time.timestamp() + 30)
    assert waiting() == {"general": [], "late": ["c1"]}

"""The routing core, event by event."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from router_outputs import of_type, offers, run

from relais_contracts import Outgoing, derive_id, topics
from relais_contracts.agents import AgentStatusChanged, OfferCreated, OfferRescinded
from relais_contracts.conversation import (
    Assigned,
    Dequeued,
    Offered,
    Queued,
    Released,
    ReturnedToBot,
    Transferred,
    WaitUpdated,
)
from relais_router.adapters.snapshots import decode, encode
from relais_router.domain import SOURCE, TenantRouter, engine

if TYPE_CHECKING:
    from conftest import Events  # a fixture's type; conftest is not importable at run time

pytestmark = pytest.mark.unit


def accept(router: TenantRouter, events: Events, conversation_id: str) -> list[Outgoing]:
    offer = next(o for o in router.offers.values() if o.item.conversation_id == conversation_id)
    return router.apply(events.accept(offer.offer_id, offer.agent_id, conversation_id))


def offer_of(router: TenantRouter, conversation_id: str) -> tuple[str, str]:
    offer = next(o for o in router.offers.values() if o.item.conversation_id == conversation_id)
    return offer.offer_id, offer.agent_id


# --- the basic cycle ------------------------------------------------------------------------------


def test_work_is_queued_then_offered_to_the_available_agent(router: TenantRouter, events: Events) -> None:
    run(router, [events.presence("a1")])
    submit = events.submit("c1")
    outputs = router.apply(submit)

    assert [type(o.event) for o in outputs] == [Queued, OfferCreated, Offered]
    queued, created, offered = outputs
    assert (queued.topic, queued.key, queued.event.subject) == (topics.CONVERSATIONS, "c1", "c1")
    assert queued.event.data.position == 1
    assert queued.event.data.enqueued_at == submit.time
    assert (created.topic, created.key, created.event.subject) == (topics.AGENTS, "a1", "c1")
    assert created.event.data.packet == submit.data.packet  # the agent sees the transcript
    assert (created.event.data.expires_at - submit.time).total_seconds() == 30
    assert offered.event.data.offer_id == created.event.data.offer_id
    assert {o.event.source for o in outputs} == {SOURCE}
    assert {o.event.causationid for o in outputs} == {submit.id}
    assert router.agents["a1"].load == {"chat": 1}


def test_accept_assigns_once_and_stale_answers_change_nothing(router: TenantRouter, events: Events) -> None:
    run(router, [events.presence("a1"), events.presence("a2"), events.submit("c1")])
    offer_id, agent = offer_of(router, "c1")
    other = "a2" if agent == "a1" else "a1"
    for stale in (
        events.accept(offer_id, other, "c1"),
        events.accept("no-such-offer", agent, "c1"),
        events.accept(offer_id, agent, "another-conversation"),
        events.reject(offer_id, other, "c1"),
    ):
        assert router.apply(stale) == []

    outputs = router.apply(events.accept(offer_id, agent, "c1"))
    assert [type(o.event) for o in outputs] == [Assigned]
    assert outputs[0].event.data.agent_name == f"Agent {agent}"
    assert router.assignments["c1"].agent_id == agent
    assert router.apply(events.accept(offer_id, agent, "c1")) == []


def test_a_conversation_already_routed_is_not_submitted_again(router: TenantRouter, events: Events) -> None:
    run(router, [events.submit("c1"), events.presence("a1")])
    assert router.apply(events.submit("c1")) == []
    accept(router, events, "c1")
    assert router.apply(events.submit("c1")) == []


def test_an_item_is_never_offered_to_two_agents(router: TenantRouter, events: Events) -> None:
    outputs = run(router, [events.submit("c1"), events.presence("a1"), events.presence("a2")])
    assert offers(outputs) == [("c1", "a1")]


def test_a_redelivered_event_is_applied_once(router: TenantRouter, events: Events) -> None:
    # Redelivered after the conversation was served and completed: only the event id tells it from a
    # new hand-off, which (below) the router does route again. Effectively once rests on this.
    submit = events.submit("c1")
    run(router, [events.presence("a1"), submit])
    accept(router, events, "c1")
    run(router, [events.complete("c1", "a1")])
    assert router.apply(submit) == []
    assert "c1" not in router.waiting
    assert router.offers == {}

    again = router.apply(events.submit("c1"))  # a new hand-off of the same conversation, a new id
    assert offers(again) == [("c1", "a1")]


def test_the_dedupe_window_forgets_the_oldest_ids_first_and_survives_a_snapshot(
    router: TenantRouter, events: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "DEDUPE_WINDOW", 3)
    first, *rest = [events.presence(f"a{n}") for n in range(5)]
    run(router, [first, *rest])
    assert list(router.seen) == [e.uid for e in rest[-3:]]  # the oldest two forgotten, in order
    restored = decode(encode(0, {router.tenant: router}))[1][router.tenant]
    assert list(restored.seen) == list(router.seen)
    restored.apply(events.presence("a9"))
    assert next(iter(restored.seen)) == rest[-2].uid  # still the oldest that goes next


def test_events_of_another_tenant_are_refused(events: Events) -> None:
    with pytest.raises(ValueError, match="tenant"):
        TenantRouter("other").apply(events.submit("c1"))


# --- priority and the choice of agent ---------------------------------------------------------------


def test_higher_priority_goes_first_and_aging_lets_old_work_catch_up(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.configure({"queues": {"general": {"aging_per_minute": 1}}})])
    run(router, [events.submit("old"), events.submit("vip", priority=5)])
    assert [i.conversation_id for i in router.waiting_in("general")] == ["vip", "old"]

    events.wait(10 * 60)  # "old" has gained 10 points of aging: it now goes before fresh priority-5 work
    run(router, [events.submit("new-vip", priority=5)])
    assert [i.conversation_id for i in router.waiting_in("general")] == ["vip", "old", "new-vip"]
    assert offers(run(router, [events.presence("a1", capacity={"*": 2})])) == [("vip", "a1"), ("old", "a1")]


def test_the_most_proficient_agent_gets_the_offer(router: TenantRouter, events: Events) -> None:
    run(router, [events.configure({"queues": {"billing": {"skills": {"billing": 2}}}})])
    run(
        router,
        [
            events.presence("novice", skills={"billing": 2}),
            events.presence("expert", skills={"billing": 5}),
            events.presence("none", skills={"sales": 5}),
        ],
    )
    assert offers(run(router, [events.submit("c1", queue="billing")])) == [("c1", "expert")]
    assert offers(run(router, [events.submit("c2", queue="billing")])) == [("c2", "novice")]
    assert offers(run(router, [events.submit("c3", queue="billing")])) == []  # "none" lacks the skill


def test_longest_idle_then_lowest_occupancy_break_ties(router: TenantRouter, events: Events) -> None:
    run(router, [events.presence("a2", capacity={"*": 3}), events.presence("a1", capacity={"*": 3})])
    assert offers(run(router, [events.submit("c1")])) == [("c1", "a1")]  # never offered: the id decides
    assert offers(run(router, [events.submit("c2")])) == [("c2", "a2")]  # a1 worked more recently


def test_the_agent_order_is_configurable(router: TenantRouter, events: Events) -> None:
    run(router, [events.configure({"agent_order": ["occupancy", "idle"]})])
    run(router, [events.presence("a1", capacity={"*": 4}), events.presence("a2", capacity={"*": 2})])
    run(router, [events.submit("c1"), events.submit("c2")])  # one each: a1 at 1/4, a2 at 1/2
    assert offers(run(router, [events.submit("c3")])) == [("c3", "a1")]


def test_language_is_matched_when_the_queue_asks_for_it(router: TenantRouter, events: Events) -> None:
    run(router, [events.presence("en", languages=("en",)), events.presence("fr", languages=("fr-FR",))])
    assert offers(run(router, [events.submit("c1", language="FR")])) == [("c1", "fr")]
    assert offers(run(router, [events.submit("c2", language="de")])) == []


def test_capacity_per_channel_kind_and_total(router: TenantRouter, events: Events) -> None:
    run(router, [events.presence("a1", capacity={"chat": 2, "email": 5, "voice": 1}, total=3)])
    outputs = run(
        router,
        [
            events.submit("chat1"),
            events.submit("chat2", "sms"),
            events.submit("chat3", "whatsapp"),
            events.submit("mail1", "email"),
            events.submit("mail2", "email"),
        ],
    )
    assert offers(outputs) == [("chat1", "a1"), ("chat2", "a1"), ("mail1", "a1")]  # total 3 reached
    assert router.agents["a1"].load == {"chat": 2, "email": 1}


def test_an_agent_without_capacity_for_a_kind_gets_none_of_it(router: TenantRouter, events: Events) -> None:
    run(router, [events.presence("a1", capacity={"voice": 1})])
    assert offers(run(router, [events.submit("c1", "webchat")])) == []


# --- offers: reject, timeout, not responding, away ------------------------------------------------


def test_reject_re_offers_to_the_next_agent(router: TenantRouter, events: Events) -> None:
    run(router, [events.presence("a1"), events.presence("a2"), events.submit("c1")])
    offer_id, first = offer_of(router, "c1")
    outputs = router.apply(events.reject(offer_id, first, "c1"))
    assert [type(o.event) for o in outputs] == [OfferCreated, Offered]  # re-offered at once
    assert offers(outputs) == [("c1", "a2")]
    assert router.agents[first].load == {}


def test_a_declined_item_is_not_offered_back_until_the_cooldown_ends(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.configure({"decline_cooldown_s": 60}), events.presence("a1"), events.submit("c1")])
    offer_id, _ = offer_of(router, "c1")
    assert offers(router.apply(events.reject(offer_id, "a1", "c1"))) == []
    assert offers(run(router, [events.submit("c2")])) == [("c2", "a1")]  # other work is fine
    run(router, [events.complete("c2", "a1")])  # not assigned: nothing happens
    accept(router, events, "c2")
    run(router, [events.complete("c2", "a1")])
    assert "c1" in router.waiting
    events.wait(60)
    assert offers(run(router, [events.tick()])) == [("c1", "a1")]


def test_an_offer_times_out_and_goes_to_the_next_agent(router: TenantRouter, events: Events) -> None:
    run(router, [events.configure({"offer_timeout_s": 20}), events.presence("a1"), events.submit("c1")])
    run(router, [events.presence("a2")])
    events.wait(20)
    outputs = run(router, [events.tick()])
    rescinded = of_type(outputs, OfferRescinded)
    assert [(r.data.agent_id, r.data.reason) for r in rescinded] == [("a1", "timeout")]
    assert offers(outputs) == [("c1", "a2")]


def test_too_many_missed_offers_make_an_agent_not_responding(router: TenantRouter, events: Events) -> None:
    run(router, [events.configure({"max_missed_offers": 2, "offer_timeout_s": 10, "decline_cooldown_s": 0})])
    run(router, [events.presence("a1"), events.submit("c1")])
    events.wait(10)
    assert offers(run(router, [events.tick()])) == [("c1", "a1")]  # nobody else: back to a1
    events.wait(10)
    outputs = run(router, [events.tick()])
    status = of_type(outputs, AgentStatusChanged)
    assert [(s.data.agent_id, s.data.status) for s in status] == [("a1", "not-responding")]
    assert offers(outputs) == []
    assert router.agents["a1"].state == "not-responding"
    assert "c1" in router.waiting
    assert offers(run(router, [events.presence("a1")])) == [("c1", "a1")]  # back: routable again


def test_an_agent_going_away_hands_back_its_offers(router: TenantRouter, events: Events) -> None:
    run(router, [events.presence("a1", capacity={"*": 2}), events.submit("c1"), events.submit("c2")])
    outputs = router.apply(events.presence("a1", "away"))
    rescinded = [o for o in outputs if isinstance(o.event, OfferRescinded)]
    assert [(o.topic, o.key, o.event.data.conversation_id) for o in rescinded] == [
        (topics.AGENTS, "a1", "c1"),
        (topics.AGENTS, "a1", "c2"),
    ]
    assert router.offers == {}
    assert router.agents["a1"].load == {}
    assert [i.conversation_id for i in router.waiting_in("general")] == ["c1", "c2"]  # kept their place
    assert offers(run(router, [events.presence("a2")])) == [("c1", "a2")]


# --- completion, transfer, cancel -------------------------------------------------------------------


def test_completion_frees_capacity_for_the_next_item(router: TenantRouter, events: Events) -> None:
    run(router, [events.presence("a1"), events.submit("c1"), events.submit("c2")])
    accept(router, events, "c1")
    assert router.apply(events.complete("c1", "a2")) == []  # not a2's conversation
    outputs = router.apply(events.complete("c1", "a1"))
    released = of_type(outputs, Released)
    assert [(r.subject, r.data.reason) for r in released] == [("c1", "completed")]
    assert offers(outputs) == [("c2", "a1")]


def test_return_to_bot_is_said_by_the_router_and_frees_the_agent(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.presence("a1"), events.submit("c1"), events.submit("c2")])
    accept(router, events, "c1")
    back = events.complete("c1", "a2", reason="returned-to-bot", note="done")
    assert router.apply(back) == []  # only the conversation's agent can hand it back
    outputs = router.apply(events.complete("c1", "a1", reason="returned-to-bot", note="done"))
    assert [type(o.event) for o in outputs][:2] == [ReturnedToBot, Released]
    assert [(r.data.agent_id, r.data.note) for r in of_type(outputs, ReturnedToBot)] == [("a1", "done")]
    assert [r.data.reason for r in of_type(outputs, Released)] == ["returned-to-bot"]
    assert offers(outputs) == [("c2", "a1")]


def test_transfer_to_a_queue_routes_the_work_again(router: TenantRouter, events: Events) -> None:
    run(router, [events.configure({"queues": {"billing": {"skills": {"billing": 1}}}})])
    run(router, [events.presence("a1"), events.presence("b1", skills={"billing": 3}), events.submit("c1")])
    accept(router, events, "c1")
    agent = router.assignments["c1"].agent_id
    outputs = router.apply(events.transfer("c1", agent, to_queue="billing"))
    assert [type(o.event) for o in outputs][:3] == [Transferred, Released, Queued]
    assert router.assignments == {}
    assert offers(outputs) == [("c1", "b1")]


def test_transfer_to_an_agent_reserves_the_work_for_them(router: TenantRouter, events: Events) -> None:
    run(router, [events.configure({"transfer_reserve_s": 60})])
    run(router, [events.presence("a1"), events.presence("a2"), events.presence("a3"), events.submit("c1")])
    accept(router, events, "c1")
    run(router, [events.submit("busy")])  # keeps a2 busy
    outputs = router.apply(events.transfer("c1", "a1", to_agent="a2"))
    assert offers(outputs) == []  # a3 is free, but the work waits for a2
    assert sorted(offers(run(router, [events.reject(*offer_of(router, "busy"), "busy")]))) == [
        ("busy", "a3"),
        ("c1", "a2"),
    ]


def test_a_customer_who_leaves_is_dequeued_and_counted(router: TenantRouter, events: Events) -> None:
    run(router, [events.submit("c1"), events.presence("a1"), events.submit("c2")])
    outputs = router.apply(events.cancel("c2"))
    assert [(d.subject, d.data.reason) for d in of_type(outputs, Dequeued)] == [("c2", "customer-left")]
    assert "c2" not in router.waiting

    outputs = router.apply(events.cancel("c1"))  # offered: the offer is taken back
    assert [r.data.reason for r in of_type(outputs, OfferRescinded)] == ["customer left"]
    assert router.offers == {}
    assert router.agents["a1"].load == {}
    assert list(router.outcomes["general"]) == [False, False]
    assert [f for f in router.facts if f[0] == "abandoned"] == [("abandoned", "general", "customer-left")] * 2


# --- timers: overflow, stickiness, opening hours, wait updates ---------------------------------------


def test_overflow_lowers_a_skill_then_adds_agents_then_moves(router: TenantRouter, events: Events) -> None:
    config = {
        "offer_timeout_s": 600,
        "queues": {
            "premium": {
                "skills": {"premium": 4},
                "overflow": [
                    {"after_s": 30, "lower_skill": "premium", "to_proficiency": 2},
                    {"after_s": 60, "add_agents_of": "general"},
                    {"after_s": 90, "move_to": "backup"},
                ],
            },
            "general": {"skills": {"general": 1}},
            "backup": {"skills": {"backup": 1}},
        },
    }
    run(router, [events.configure(config), events.submit("c1", queue="premium")])
    run(
        router,
        [
            events.presence("junior", skills={"premium": 2}),
            events.presence("generalist", skills={"general": 1}),
        ],
    )
    assert router.offers == {}
    events.wait(30)
    assert offers(run(router, [events.tick()])) == [("c1", "junior")]

    run(router, [events.submit("c2", queue="premium"), events.presence("backup", skills={"backup": 1})])
    events.wait(60)
    assert offers(run(router, [events.tick()])) == [("c2", "generalist")]

    run(router, [events.submit("c3", queue="premium")])
    events.wait(90)
    outputs = run(router, [events.tick()])
    assert offers(outputs) == [("c3", "backup")]


def test_work_is_reserved_for_the_customers_last_agent(router: TenantRouter, events: Events) -> None:
    run(router, [events.configure({"offer_timeout_s": 600, "queues": {"general": {"sticky_window_s": 60}}})])
    run(router, [events.presence("a1"), events.submit("first", customer_id="cust-1")])
    accept(router, events, "first")
    run(router, [events.complete("first", "a1"), events.submit("busy"), events.presence("a2")])
    assert router.assignments == {}
    assert offer_of(router, "busy")[1] == "a1"

    assert offers(run(router, [events.submit("again", customer_id="cust-1")])) == []  # a2 free, but reserved
    assert sorted(offers(run(router, [events.reject(*offer_of(router, "busy"), "busy")]))) == [
        ("again", "a1"),
        ("busy", "a2"),
    ]

    run(router, [events.submit("third", customer_id="cust-1")])  # a1 and a2 busy now
    run(router, [events.presence("a3")])
    assert "third" in router.waiting
    events.wait(60)
    assert offers(run(router, [events.tick()])) == [("third", "a3")]  # the window is over


def test_closed_queue_tells_the_customer(router: TenantRouter, events: Events) -> None:
    hours = {
        "timezone": "Europe/Paris",
        "weekly": {"mon": ["08:00-12:00"]},
        "closed_action": "dequeue",
        "closed_message": "We open Monday at 8.",
    }
    run(router, [events.configure({"queues": {"general": {"hours": hours}}}), events.presence("a1")])
    outputs = run(router, [events.submit("c1")])  # a Wednesday
    assert [(d.data.reason, d.data.message) for d in of_type(outputs, Dequeued)] == [
        ("closed", "We open Monday at 8.")
    ]
    assert offers(outputs) == []


def test_closed_queue_can_move_work_to_another(router: TenantRouter, events: Events) -> None:
    hours = {"weekly": {"mon": ["08:00-12:00"]}, "closed_action": "move", "closed_queue": "partner"}
    config = {"queues": {"general": {"hours": hours}, "partner": {"skills": {"partner": 1}}}}
    run(router, [events.configure(config), events.presence("p1", skills={"partner": 1})])
    assert offers(run(router, [events.submit("c1")])) == [("c1", "p1")]


def test_waiting_work_hears_its_position_and_expected_wait(router: TenantRouter, events: Events) -> None:
    run(router, [events.configure({"wait_update_interval_s": 30}), events.presence("a1")])
    for n in range(3):  # three departures, one every 10 s, give the queue a rate
        run(router, [events.submit(f"done{n}")])
        accept(router, events, f"done{n}")
        events.wait(8)
        run(router, [events.complete(f"done{n}", "a1")])
    run(router, [events.presence("a1", "away")])
    outputs = run(router, [events.submit("c1"), events.submit("c2")])
    told = [(w.subject, w.data.position, w.data.expected_wait_s) for w in of_type(outputs, WaitUpdated)]
    assert [t[:2] for t in told] == [("c1", 1), ("c2", 2)]
    assert all(t[2] is not None and t[2] > 0 for t in told)
    assert told[1][2] > told[0][2]

    events.wait(30)
    again = of_type(run(router, [events.tick()]), WaitUpdated)
    assert {w.subject for w in again} <= {"c1", "c2"}  # only changed estimates are told again
    events.wait(5)
    assert of_type(run(router, [events.tick()]), WaitUpdated) == []  # not before the interval


def test_work_waiting_too_long_is_dequeued(router: TenantRouter, events: Events) -> None:
    run(
        router,
        [events.configure({"queues": {"general": {"max_wait_s": 300, "max_wait_message": "call back"}}})],
    )
    run(router, [events.submit("c1")])
    events.wait(298)
    assert of_type(run(router, [events.tick()]), Dequeued) == []  # 299 s
    events.wait(1)
    assert [d.data.reason for d in of_type(run(router, [events.tick()]), Dequeued)] == ["max-wait"]


def test_a_configuration_is_applied_once_and_reclassifies_waiting_work(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.presence("a1", languages=("en",)), events.submit("c0")])  # a1 is now full
    run(router, [events.submit("c1", language="de"), events.submit("c2", queue="vip")])
    relaxed = {"queues": {"general": {"match_language": False}, "vip": {"priority": 5}}}
    assert offers(run(router, [events.configure(relaxed, digest="v1")])) == []  # nobody is free
    # The waiting work is reclassified: vip goes first although c1 waits longer.
    assert offers(run(router, [events.presence("a2", languages=("en",))])) == [("c2", "a2")]
    assert offers(run(router, [events.presence("a3", languages=("en",))])) == [("c1", "a3")]

    strict = {"queues": {"general": {"match_language": True}}}
    run(router, [events.configure(strict, digest="v2"), events.presence("a4", languages=("en",))])
    assert offers(run(router, [events.submit("c4", language="de")])) == []  # waits for German
    # The digest names the content: the configuration in force, published again (by another replica,
    # or under a new event id), is not applied again.
    assert run(router, [events.configure(relaxed, digest="v2")]) == []
    assert "c4" in router.waiting
    # A configuration that was in force before is applied again when it comes back, and applying it
    # offers at once the work it makes possible.
    assert offers(run(router, [events.configure(relaxed, digest="v1")])) == [("c4", "a4")]


# --- determinism --------------------------------------------------------------------------------------


def test_output_ids_are_derived_from_the_input_event(events: Events) -> None:
    # Two routers with different histories (as a replica that replayed from a snapshot and one that
    # replayed from the start) give the same event the same output ids: the n-th output of an event
    # is derive_id(its source, its id, n), never a count kept by the router.
    busy, fresh = TenantRouter("acme"), TenantRouter("acme")
    run(busy, [events.presence("a0", "away"), events.submit("c0"), events.cancel("c0"), events.tick()])
    presence, submit = events.presence("a1"), events.submit("c1")
    outputs = [run(router, [presence, submit]) for router in (busy, fresh)]
    ids = [[o.event.id for o in out] for out in outputs]
    assert ids[0] == ids[1] != []
    from_submit = [o for o in outputs[0] if o.event.causationid == submit.id]
    assert [o.event.id for o in from_submit] == [derive_id(submit.source, submit.id, n) for n in range(3)]


def test_a_snapshot_restores_a_router_that_decides_the_same(router: TenantRouter, events: Events) -> None:
    general = {"sticky_window_s": 30, "overflow": [{"after_s": 10, "move_to": "b"}]}
    run(
        router,
        [
            events.configure({"queues": {"general": general, "b": {}}}),
            events.presence("a1", capacity={"*": 2}),
            events.submit("c1", customer_id="x"),
            events.submit("c2"),
            events.submit("c3", language="fr"),
            events.presence("a2", skills={"s": 2}, languages=("fr",)),
        ],
    )
    restored = decode(encode(0, {"acme": router}))[1]["acme"]
    assert encode(0, {"acme": restored}) == encode(0, {"acme": router})
    events.wait(45)
    rest = [events.tick(), events.submit("c4"), events.presence("a1", "away"), events.cancel("c2")]
    assert run(restored, rest) == run(router, rest)
    assert encode(0, {"acme": restored}) == encode(0, {"acme": router})


def test_a_reconfiguration_does_not_make_overflow_skip_a_queues_own_wait(
    router: TenantRouter, events: Events
) -> None:
    config = {
        "queues": {
            "a": {"overflow": [{"after_s": 60, "move_to": "b"}]},
            "b": {"overflow": [{"after_s": 600, "move_to": "c"}]},
            "c": {},
        }
    }
    run(router, [events.configure(config, digest="v1"), events.submit("c1", queue="a")])
    run(router, [events.configure({**config, "offer_timeout_s": 60}, digest="v2")])  # a second timer
    events.wait(60)
    run(router, [events.tick()])
    assert router.waiting["c1"].queue == "b"  # moved once, and waits b's 600 s before c
    events.wait(300)
    run(router, [events.tick()])
    assert router.waiting["c1"].queue == "b"


def test_a_refused_configuration_changes_nothing_and_can_be_sent_again(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.submit("c1")])
    bad = events.configure({"queues": {"a": {"skills": {"x": 9}}}})
    with pytest.raises(ValueError, match="less than or equal to 5"):
        router.apply(bad)
    assert router.config_digest == ""
    with pytest.raises(ValueError, match="less than or equal to 5"):
        router.apply(bad)  # not taken for a duplicate: it fails again, and is dead-lettered


def test_an_agent_lowering_their_capacity_gives_back_the_newest_offers(
    router: TenantRouter, events: Events
) -> None:
    run(router, [events.presence("a1", capacity={"*": 3}), events.submit("c1"), events.submit("c2")])
    run(router, [events.submit("c3")])
    outputs = router.apply(events.presence("a1", capacity={"*": 1}))
    assert [r.data.conversation_id for r in of_type(outputs, OfferRescinded)] == ["c3", "c2"]
    assert [o.item.conversation_id for o in router.offers.values()] == ["c1"]
    assert router.agents["a1"].load == {"chat": 1}

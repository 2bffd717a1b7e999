"""The fold that turns one conversation's events into its fact (pure)."""

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from relais_context_store.domain.facts import FactState, Recomputation, fold
from relais_contracts import decode
from relais_contracts.conversation import ConversationEvent
from relais_contracts.facts import ConversationFact

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 3, 9, tzinfo=UTC)  # a Tuesday


class Log:
    """One conversation's events as the services write them, `s` seconds after T0."""

    def __init__(self, conversation: str = "conv-1", tenant: str = "acme") -> None:
        self.conversation, self.tenant = conversation, tenant
        self.events: list[ConversationEvent] = []

    def add(self, s: float, kind: str, **data: Any) -> "Log":
        record = {
            "specversion": "1.0",
            "id": f"{self.conversation}-e{len(self.events)}",
            "source": "test",
            "type": f"relais.conversation.{kind}",
            "time": (T0 + timedelta(seconds=s)).isoformat(),
            "tenant": self.tenant,
            "subject": self.conversation,
            "data": {k: v for k, v in data.items() if v is not None},
        }
        event = decode(json.dumps(record))
        assert isinstance(event, ConversationEvent)
        self.events.append(event)
        return self

    def opened(self, s: float, channel: str = "webchat") -> "Log":
        return self.add(s, "opened", channel=channel, address="visitor-1")

    def message(self, s: float, channel: str = "webchat", language: str | None = None) -> "Log":
        n = len(self.events)
        return self.add(
            s, "message.received", message_id=f"m{n}", channel=channel, address="visitor-1", text="hi",
            external_id=f"x{n}", language=language,
        )  # fmt: skip

    def reply(self, s: float, kind: str = "bot", agent: str | None = None) -> "Log":
        author = {"kind": kind, "name": agent or "Relais", "id": agent}
        return self.add(s, "reply.posted", message_id=f"r{len(self.events)}", author=author, text="hello")

    def handoff(self, s: float, reason: str = "customer-request", queue: str = "billing") -> "Log":
        packet = {"reason": reason, "summary": "wants a person", "queue": queue, "language": "fr"}
        return self.add(s, "handoff.requested", packet=packet)

    def queued(self, s: float, queue: str = "billing") -> "Log":
        return self.add(
            s, "queued", queue=queue, position=1, enqueued_at=(T0 + timedelta(seconds=s)).isoformat()
        )

    def offered(self, s: float, agent: str) -> "Log":
        return self.add(s, "offered", offer_id=f"o{len(self.events)}", agent_id=agent)

    def assigned(self, s: float, agent: str) -> "Log":
        return self.add(s, "assigned", offer_id=f"o{len(self.events)}", agent_id=agent, agent_name=agent)

    def released(
        self, s: float, agent: str, reason: str = "completed", disposition: str | None = None
    ) -> "Log":
        return self.add(s, "released", agent_id=agent, reason=reason, disposition=disposition)

    def closed(self, s: float) -> "Log":
        return self.add(s, "closed", reason="inactivity")


def run(events: Iterable[ConversationEvent], state: FactState | None = None) -> list[ConversationFact]:
    state = state or FactState()
    facts = []
    for event in events:
        state, fact = fold(state, event)
        if fact is not None:
            facts.append(fact)
    return facts


def test_a_conversation_the_bot_served_alone_gets_one_fact_at_its_close() -> None:
    log = Log().opened(0).message(0, language="fr").reply(2).message(30).reply(31).closed(1830)
    [fact] = run(log.events)
    d = fact.data
    assert (fact.subject, fact.tenant, fact.time) == ("conv-1", "acme", T0 + timedelta(seconds=1830))
    assert (d.ended_by, d.revision, d.handed_over, d.bot_outcome) == ("close", 1, False, "contained")
    assert (d.opened_at, d.closed_at) == (T0, T0 + timedelta(seconds=1830))
    assert (d.channels, d.languages, d.first_response_s) == (("webchat",), ("fr",), 2.0)
    assert (d.customer_messages, d.bot_replies, d.agent_replies) == (2, 2, 0)
    assert d.handoff_reason is d.queue is d.wait_to_offer_s is d.wait_to_accept_s is d.handle_s is None
    assert (d.agents, d.transfers, d.abandoned) == ((), 0, False)


def test_a_handed_over_conversation_gets_its_waits_and_handle_time_at_the_wrap_up() -> None:
    log = (
        Log().opened(0, "sms").message(0, "sms").reply(1).message(10, "sms").handoff(11, "frustration")
        .queued(11).offered(41, "alice").assigned(56, "alice").reply(86, "agent", "alice")
        .message(100, "whatsapp").reply(120, "agent", "alice").released(356, "alice", disposition="refund")
    )  # fmt: skip
    [fact] = run([*log.events, *log.closed(2156).events[-1:]])
    d = fact.data
    assert (d.ended_by, d.closed_at, d.revision) == ("wrap-up", T0 + timedelta(seconds=356), 1)
    assert (d.handed_over, d.bot_outcome, d.handoff_reason, d.queue) == (
        True,
        "handed-over",
        "frustration",
        "billing",
    )
    assert (d.wait_to_offer_s, d.wait_to_accept_s) == (30.0, 45.0)
    assert (d.first_response_s, d.agent_first_response_s, d.handle_s) == (1.0, 30.0, 300.0)
    assert (d.agents, d.disposition, d.channels, d.languages) == (
        ("alice",),
        "refund",
        ("sms", "whatsapp"),
        ("fr",),
    )
    assert (d.customer_messages, d.bot_replies, d.agent_replies, d.abandoned) == (3, 1, 2, False)


def test_a_transfer_counts_both_agents_both_queues_and_the_time_each_held_it() -> None:
    log = (
        Log().opened(0).message(0).handoff(1, queue="general").queued(1, "general").offered(5, "alice")
        .assigned(10, "alice").add(70, "transferred", from_agent_id="alice", to_queue="billing")
        .released(70, "alice", reason="transferred").queued(70, "billing").offered(80, "bob")
        .assigned(90, "bob").add(100, "reassigned", from_agent_id="bob", queue="billing", reason="silent")
        .released(100, "bob", reason="reassigned").queued(100, "billing").assigned(110, "carol")
        .released(150, "carol", disposition="solved")
    )  # fmt: skip
    [fact] = run(log.events)
    d = fact.data
    assert (d.transfers, d.reassignments, d.agents) == (1, 1, ("alice", "bob", "carol"))
    assert (d.queue, d.queues) == ("general", ("general", "billing"))
    assert (d.wait_to_offer_s, d.wait_to_accept_s, d.handle_s) == (4.0, 9.0, 60.0 + 10.0 + 40.0)


def test_a_customer_who_leaves_the_queue_has_abandoned() -> None:
    log = (
        Log().opened(0).message(0).handoff(1).queued(1)
        .add(60, "customer.left", channel="webchat", address="v")
        .add(60, "dequeued", queue="billing", reason="customer-left").closed(1860)
    )  # fmt: skip
    [fact] = run(log.events)
    d = fact.data
    assert (d.abandoned, d.dequeue_reason, d.ended_by, d.handed_over) == (
        True,
        "customer-left",
        "close",
        True,
    )
    assert d.wait_to_offer_s is d.wait_to_accept_s is d.handle_s is None


def test_a_conversation_closed_while_waiting_has_abandoned_and_one_closed_while_held_stops_the_clock() -> (
    None
):
    waiting = Log().opened(0).message(0).handoff(1).queued(1).closed(1801)
    assert run(waiting.events)[0].data.abandoned is True
    held = Log().opened(0).message(0).handoff(1).queued(1).assigned(5, "alice").closed(1805)
    [fact] = run(held.events)
    assert (fact.data.abandoned, fact.data.handle_s, fact.data.disposition) == (False, 1800.0, None)


def test_a_conversation_that_goes_on_after_its_wrap_up_gets_a_second_revision_with_a_new_id() -> None:
    log = (
        Log().opened(0).message(0).handoff(1).queued(1).assigned(5, "alice").released(65, "alice")
        .message(100).reply(101).closed(1900)
    )  # fmt: skip
    first, second = run(log.events)
    assert (first.data.revision, second.data.revision) == (1, 2)
    assert (first.data.ended_by, second.data.ended_by) == ("wrap-up", "close")
    assert (first.data.customer_messages, second.data.customer_messages) == (1, 2)
    assert first.id != second.id


def test_nothing_after_the_close_changes_the_fact_and_nothing_a_fact_ignores_writes_a_revision() -> None:
    log = Log().opened(0).message(0).reply(1).closed(1801)
    log.add(1801, "dequeued", queue="general", reason="customer-left").message(1900)
    assert len(run(log.events)) == 1
    wrapped = Log().opened(0).message(0).handoff(1).assigned(5, "a").released(9, "a")
    wrapped.add(20, "delivery.updated", message_id="r1", status="read").closed(1810)
    assert len(run(wrapped.events)) == 1


def test_a_bot_that_never_answered_leaves_the_conversation_unanswered() -> None:
    [fact] = run(Log().opened(0).message(0).closed(1800).events)
    assert (fact.data.bot_outcome, fact.data.first_response_s) == ("unanswered", None)


def test_the_same_log_folds_to_the_same_facts_with_the_same_ids_and_a_stored_state_resumes_the_fold() -> None:
    log = Log().opened(0).message(0).handoff(1).queued(1).offered(3, "a").assigned(4, "a").released(9, "a")
    once, again = run(log.events), run(log.events)
    assert [f.model_dump() for f in once] == [f.model_dump() for f in again]
    state = FactState()
    for event in log.events[:4]:
        state, _ = fold(state, event)
    resumed = run(log.events[4:], FactState.model_validate_json(state.model_dump_json()))
    assert [f.model_dump() for f in resumed] == [f.model_dump() for f in once]
    other = Log("conv-2").opened(0).message(0).closed(1800)
    assert run(other.events)[0].id != once[0].id


def test_an_event_stamped_before_the_one_it_follows_counts_as_no_time() -> None:
    log = Log().opened(0).message(0).handoff(10).queued(10).offered(8, "a").assigned(9, "a").released(20, "a")
    [fact] = run(log.events)
    assert (fact.data.wait_to_offer_s, fact.data.wait_to_accept_s) == (0.0, 0.0)


def test_a_recomputation_folds_interleaved_conversations_once_per_event_id_as_the_materializer_does() -> None:
    one = (
        Log("conv-1").opened(0).message(0).handoff(1).queued(1).assigned(5, "a").released(65, "a").closed(99)
    )
    two = Log("conv-2").opened(0).message(0).reply(1).closed(1801)
    expected = run(one.events) + run(two.events)
    recomputation = Recomputation()
    interleaved = [e for pair in zip(one.events, two.events, strict=False) for e in pair] + one.events[4:]
    duplicated = [*interleaved[:5], *interleaved[:5], *interleaved[5:], two.events[-1]]
    found = [f for e in duplicated if (f := recomputation.add(e)) is not None]
    assert sorted(f.model_dump_json() for f in found) == sorted(f.model_dump_json() for f in expected)


def test_the_fold_leaves_the_state_it_was_given_as_it_was() -> None:
    log = Log().opened(0).message(0).handoff(1).queued(1).assigned(5, "a")
    state = FactState()
    for event in log.events[:-1]:
        state, _ = fold(state, event)
    before = state.model_dump_json()
    after, _ = fold(
        state, Log().add(9, "transferred", from_agent_id="a", to_queue="vip").queued(9, "vip").events[1]
    )
    assert state.model_dump_json() == before
    assert (after.queues, state.queues) == (["billing", "vip"], ["billing"])


def test_a_fact_points_back_to_the_event_that_ended_the_conversation_and_its_correlation() -> None:
    log = Log().opened(0).message(0).reply(1)
    log.events.append(log.closed(1801).events.pop().model_copy(update={"correlationid": "corr-7"}))
    [fact] = run(log.events)
    assert (fact.causationid, fact.correlationid) == (log.events[-1].id, "corr-7")


def test_a_hold_shorter_than_a_second_counts_its_fraction() -> None:
    log = Log().opened(0).message(0).handoff(1).queued(1).assigned(5, "a").released(5.25, "a")
    [fact] = run(log.events)
    assert fact.data.handle_s == 0.25


def test_a_state_stored_after_a_fact_resumes_to_the_next_revision() -> None:
    log = Log().opened(0).message(0).handoff(1).queued(1).assigned(5, "a").released(65, "a")
    state = FactState()
    for event in log.events:
        state, _ = fold(state, event)
    stored = FactState.model_validate_json(state.model_dump_json())
    later = Log().message(100).reply(101, "bot").closed(2000).events
    assert [f.data.revision for f in run(later, stored)] == [2]


# -- each event's share of the fact (from the surviving mutants of `make mutate`)


def test_a_channel_switch_adds_its_channel() -> None:
    log = Log().opened(0).message(0).add(5, "channel.switched", from_channel="webchat", channel="email",
                                         address="c@example.com").closed(1805)  # fmt: skip
    assert run(log.events)[0].data.channels == ("webchat", "email")


def test_a_return_to_the_bot_stops_the_handle_clock_and_the_wait() -> None:
    log = (
        Log().opened(0).message(0).handoff(1).queued(1).assigned(5, "a")
        .add(65, "returned_to_bot", agent_id="a").closed(2000)
    )  # fmt: skip
    [fact] = run(log.events)
    assert (fact.data.handle_s, fact.data.abandoned) == (60.0, False)


def test_a_customer_who_leaves_while_waiting_has_abandoned_even_if_an_agent_takes_it_later() -> None:
    log = (
        Log().opened(0).message(0).handoff(1).queued(1)
        .add(30, "customer.left", channel="webchat", address="v").assigned(31, "a").released(40, "a")
    )  # fmt: skip
    assert run(log.events)[0].data.abandoned is True
    held = (
        Log().opened(0).message(0).handoff(1).queued(1).assigned(5, "a")
        .add(30, "customer.left", channel="webchat", address="v").released(40, "a")
    )  # fmt: skip
    assert run(held.events)[0].data.abandoned is False


def test_every_handoff_is_counted_and_the_waits_run_from_the_first() -> None:
    log = (
        Log().opened(0).message(0).handoff(1).queued(3).offered(10, "a").assigned(12, "a")
        .add(20, "returned_to_bot", agent_id="a").handoff(30).queued(30).assigned(40, "b").released(50, "b")
    )  # fmt: skip
    [fact] = run(log.events)
    assert (fact.data.handoffs, fact.data.wait_to_offer_s, fact.data.wait_to_accept_s) == (2, 9.0, 11.0)


@pytest.mark.parametrize(
    "last",
    [
        lambda log: log.handoff(1),  # handed over, never queued
        lambda log: log.handoff(1).queued(1).assigned(5, "a").add(9, "transferred", from_agent_id="a",
                                                                   to_queue="vip"),
        lambda log: log.handoff(1).queued(1).assigned(5, "a").add(9, "reassigned", from_agent_id="a",
                                                                   queue="billing", reason="silent"),
    ],
    ids=["handoff", "transfer", "reassignment"],
)  # fmt: skip
def test_a_close_while_on_the_way_to_an_agent_is_an_abandon(last: Callable[[Log], Log]) -> None:
    log = last(Log().opened(0).message(0)).closed(1800)
    assert run(log.events)[0].data.abandoned is True


def test_transfers_and_reassignments_are_counted_each() -> None:
    log = Log().opened(0).message(0).handoff(1).queued(1)
    for n, agent in enumerate(["a", "b", "c"]):
        log.assigned(10 * n + 5, agent).add(10 * n + 9, "transferred", from_agent_id=agent, to_queue="vip")
    for n, agent in enumerate(["d", "e"]):
        log.assigned(100 + 10 * n, agent).add(105 + 10 * n, "reassigned", from_agent_id=agent, queue="vip",
                                               reason="silent")  # fmt: skip
    [fact] = run(log.assigned(200, "f").released(210, "f").events)
    assert (fact.data.transfers, fact.data.reassignments) == (3, 2)


def test_only_a_dequeue_because_the_customer_left_is_an_abandon() -> None:
    left = Log().opened(0).message(0).handoff(1).queued(1)
    left.add(60, "dequeued", queue="billing", reason="customer-left").closed(1860)
    assert run(left.events)[0].data.abandoned is True
    timed_out = Log().opened(0).message(0).handoff(1).queued(1)
    timed_out.add(60, "dequeued", queue="billing", reason="max-wait").closed(1860)
    assert run(timed_out.events)[0].data.abandoned is False


def test_after_the_close_even_routing_news_and_a_second_close_write_nothing() -> None:
    log = Log().opened(0).message(0).reply(1).closed(1801).queued(1802).assigned(1803, "a").closed(1900)
    assert len(run(log.events)) == 1


def test_a_facts_id_is_pinned() -> None:
    # From the conversation and the revision: a rebuild by the next release must give the same id.
    [fact] = run(Log().opened(0).message(0).closed(1800).events)
    assert fact.id == "e2bedfc2-ba20-516a-b057-2ce09f63583a"

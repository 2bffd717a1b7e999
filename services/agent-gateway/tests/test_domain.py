"""The pure decisions: which inbox an event goes to, and which event a desk action becomes."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from relais_agent_gateway.auth import Agent
from relais_agent_gateway.domain.actions import (
    SOURCE,
    NotYours,
    Refused,
    note_added,
    offer_answered,
    presence_changed,
    reply_posted,
    transfer_requested,
    work_completed,
)
from relais_agent_gateway.domain.inbox import InboxUpdate, OfferRecord, project
from relais_agent_gateway.protocol import (
    AcceptOffer,
    AddNote,
    AssignedMessage,
    ConversationMessage,
    ConversationUpdated,
    DeliveryMessage,
    NoteMessage,
    OfferMessage,
    OfferRescindedMessage,
    PostReply,
    RejectOffer,
    ReleasedMessage,
    ReturnToBot,
    SetPresence,
    StatusMessage,
    Transfer,
    WrapUp,
)
from relais_contracts import topics
from relais_contracts.agents import (
    AgentStatusChanged,
    AgentStatusChangedData,
    OfferCreated,
    OfferCreatedData,
    OfferRescinded,
    OfferRescindedData,
)
from relais_contracts.conversation import (
    Assigned,
    AssignedData,
    ChannelSwitched,
    ChannelSwitchedData,
    Closed,
    ClosedData,
    CustomerLeft,
    CustomerLeftData,
    CustomerMessage,
    CustomerMessageData,
    DeliveryStatus,
    DeliveryStatusData,
    HandoffPacket,
    NoteAdded,
    NoteData,
    Queued,
    QueuedData,
    Released,
    ReleasedData,
    ReplyAuthor,
    ReplyData,
    ReplyPosted,
    TranscriptEntry,
)
from relais_contracts.routing import (
    OfferAccepted,
    OfferRejected,
    PresenceChanged,
    TransferRequested,
    WorkCompleted,
)

pytestmark = pytest.mark.unit

T0 = datetime(2025, 1, 1, 12, tzinfo=UTC)
ALICE = Agent(id="a-1", tenant="acme", name="Alice", roles=("agent",), expires_at=2_000_000_000)
PACKET = HandoffPacket(
    reason="asked_for_human",
    summary="Wants a refund",
    transcript=(TranscriptEntry(message_id="m-0", author_kind="customer", text="refund please", at=T0),),
)
ENVELOPE = {"source": "test", "time": T0, "tenant": "acme"}


def offer_created() -> OfferCreated:
    data = OfferCreatedData(
        offer_id="o-1", agent_id="a-1", conversation_id="c-1", channel="sms", packet=PACKET, expires_at=T0
    )
    return OfferCreated(id="e-1", **ENVELOPE, data=data)


def test_offer_created_opens_the_offer_and_goes_to_its_agent() -> None:
    update = project(offer_created())
    assert update.agent_id == "a-1"
    assert update.open_offer == OfferRecord("o-1", "acme", "a-1", "c-1")
    assert update.message == OfferMessage(
        offer_id="o-1", conversation_id="c-1", channel="sms", expires_at=T0, packet=PACKET, at=T0
    )


def test_offer_rescinded_closes_the_offer() -> None:
    data = OfferRescindedData(offer_id="o-1", agent_id="a-1", conversation_id="c-1", reason="timeout")
    update = project(OfferRescinded(id="e-2", **ENVELOPE, data=data))
    assert update == InboxUpdate(
        agent_id="a-1",
        message=OfferRescindedMessage(offer_id="o-1", conversation_id="c-1", reason="timeout", at=T0),
        closed_offer="o-1",
    )


def test_assigned_records_the_assignment_and_closes_the_offer() -> None:
    data = AssignedData(offer_id="o-1", agent_id="a-1", agent_name="Alice")
    update = project(Assigned(id="e-3", subject="c-1", **ENVELOPE, data=data))
    assert update == InboxUpdate(
        agent_id="a-1",
        message=AssignedMessage(offer_id="o-1", conversation_id="c-1", agent_name="Alice", at=T0),
        closed_offer="o-1",
        assignment=("c-1", "a-1"),
    )


def customer_message() -> CustomerMessage:
    data = CustomerMessageData(
        message_id="m-1",
        channel="sms",
        address="+33600000000",
        customer_name="Bob",
        text="hi",
        external_id="x",
    )
    return CustomerMessage(id="e-4", subject="c-1", **ENVELOPE, data=data)


def test_customer_message_goes_to_the_assignee() -> None:
    update = project(customer_message(), assignee="a-1")
    assert update == InboxUpdate(
        agent_id="a-1",
        message=ConversationMessage(
            conversation_id="c-1",
            message=TranscriptEntry(
                message_id="m-1", author_kind="customer", author_name="Bob", channel="sms", text="hi", at=T0
            ),
        ),
    )


def test_bot_reply_goes_to_the_assignee() -> None:
    data = ReplyData(message_id="m-2", author=ReplyAuthor(kind="bot", name="Relais"), text="One moment")
    update = project(ReplyPosted(id="e-5", subject="c-1", **ENVELOPE, data=data), assignee="a-1")
    assert isinstance(update.message, ConversationMessage)
    assert update.agent_id == "a-1"
    assert (update.message.message.author_kind, update.message.message.author_name) == ("bot", "Relais")


def test_messages_of_unassigned_conversations_go_nowhere() -> None:
    assert project(customer_message(), assignee=None) == InboxUpdate()


def test_other_events_change_nothing() -> None:
    data = QueuedData(queue="general", position=1, enqueued_at=T0)
    assert project(Queued(id="e-6", subject="c-1", **ENVELOPE, data=data), assignee="a-1") == InboxUpdate()


def test_presence_is_the_token_agent_s_on_the_tenant_s_routing_key() -> None:
    command = SetPresence(type="presence", presence="available", capacity={"*": 3})
    out = presence_changed(ALICE, command, event_id="e-7", time=T0)
    assert (out.topic, out.key) == (topics.ROUTING, "acme")
    assert isinstance(out.event, PresenceChanged)
    assert (out.event.id, out.event.source, out.event.tenant, out.event.time) == ("e-7", SOURCE, "acme", T0)
    data = out.event.data
    assert (data.agent_id, data.name, data.capacity) == ("a-1", "Alice", {"*": 3})


def test_presence_without_capacity_keeps_the_contract_default() -> None:
    out = presence_changed(ALICE, SetPresence(type="presence", presence="away"), event_id="e", time=T0)
    assert isinstance(out.event, PresenceChanged)
    assert out.event.data.capacity == {"*": 1}


OFFER = OfferRecord("o-1", "acme", "a-1", "c-1")


def test_accepting_an_own_offer() -> None:
    out = offer_answered(ALICE, AcceptOffer(type="accept", offer_id="o-1"), OFFER, event_id="e-8", time=T0)
    assert (out.topic, out.key) == (topics.ROUTING, "acme")
    assert isinstance(out.event, OfferAccepted)
    assert out.event.tenant == "acme"
    assert (out.event.data.agent_id, out.event.data.conversation_id) == ("a-1", "c-1")


def test_rejecting_carries_the_reason() -> None:
    command = RejectOffer(type="reject", offer_id="o-1", reason="busy")
    out = offer_answered(ALICE, command, OFFER, event_id="e-9", time=T0)
    assert isinstance(out.event, OfferRejected)
    assert out.event.data.reason == "busy"


@pytest.mark.parametrize(
    "offer",
    [None, OfferRecord("o-1", "acme", "a-2", "c-1"), OfferRecord("o-1", "globex", "a-1", "c-1")],
    ids=["unknown", "another-agent", "another-tenant"],
)
def test_answering_an_offer_that_is_not_yours(offer: OfferRecord | None) -> None:
    with pytest.raises(NotYours):
        offer_answered(ALICE, AcceptOffer(type="accept", offer_id="o-1"), offer, event_id="e", time=T0)


def test_reply_in_an_own_conversation_is_keyed_by_conversation() -> None:
    command = PostReply(type="reply", conversation_id="c-1", text="Hello Bob")
    out = reply_posted(ALICE, command, "a-1", event_id="e-10", time=T0)
    assert (out.topic, out.key) == (topics.CONVERSATIONS, "c-1")
    assert isinstance(out.event, ReplyPosted)
    assert (out.event.subject, out.event.tenant, out.event.data.message_id, out.event.data.text) == (
        "c-1",
        "acme",
        "e-10",
        "Hello Bob",
    )
    assert out.event.data.author == ReplyAuthor(kind="agent", name="Alice", id="a-1")


@pytest.mark.parametrize("assignee", [None, "a-2"])
def test_reply_in_a_conversation_that_is_not_yours(assignee: str | None) -> None:
    command = PostReply(type="reply", conversation_id="c-1", text="Hello")
    with pytest.raises(NotYours):
        reply_posted(ALICE, command, assignee, event_id="e", time=T0)


def test_presence_carries_the_token_s_skills_and_languages() -> None:
    bob = ALICE.model_copy(update={"skills": {"billing": 4}, "languages": ("fr",)})
    out = presence_changed(bob, SetPresence(type="presence", presence="available"), event_id="e", time=T0)
    assert isinstance(out.event, PresenceChanged)
    assert (out.event.data.skills, out.event.data.languages) == ({"billing": 4}, ("fr",))


def test_a_note_stays_in_the_conversation_log_and_names_its_author() -> None:
    out = note_added(
        ALICE, AddNote(type="note", conversation_id="c-1", text="VIP"), "a-1", event_id="n", time=T0
    )
    assert (out.topic, out.key) == (topics.CONVERSATIONS, "c-1")
    assert isinstance(out.event, NoteAdded)
    assert (out.event.data.note_id, out.event.data.text, out.event.data.author.id) == ("n", "VIP", "a-1")


def test_a_transfer_goes_to_the_router_with_its_note() -> None:
    command = Transfer(type="transfer", conversation_id="c-1", to_queue="billing", note="refund")
    out = transfer_requested(ALICE, command, "a-1", event_id="t", time=T0)
    assert (out.topic, out.key) == (topics.ROUTING, "acme")
    assert isinstance(out.event, TransferRequested)
    d = out.event.data
    assert (d.conversation_id, d.agent_id, d.to_queue, d.to_agent_id, d.note) == (
        "c-1",
        "a-1",
        "billing",
        None,
        "refund",
    )


def test_a_transfer_needs_a_destination_other_than_oneself() -> None:
    with pytest.raises(ValidationError, match="to_queue or to_agent_id"):
        Transfer(type="transfer", conversation_id="c-1")
    with pytest.raises(Refused):
        transfer_requested(
            ALICE,
            Transfer(type="transfer", conversation_id="c-1", to_agent_id="a-1"),
            "a-1",
            event_id="t",
            time=T0,
        )


def test_wrap_up_takes_a_known_disposition() -> None:
    codes = ("resolved", "spam")
    out = work_completed(
        ALICE,
        WrapUp(type="wrap_up", conversation_id="c-1", disposition="spam"),
        "a-1",
        codes,
        event_id="w",
        time=T0,
    )
    assert isinstance(out.event, WorkCompleted)
    assert (out.event.data.disposition, out.event.data.reason) == ("spam", "completed")
    unknown = WrapUp(type="wrap_up", conversation_id="c-1", disposition="whatever")
    with pytest.raises(Refused, match="resolved, spam"):
        work_completed(ALICE, unknown, "a-1", codes, event_id="w", time=T0)


def test_return_to_bot_is_a_completion_the_router_turns_into_a_hand_back() -> None:
    command = ReturnToBot(type="return_to_bot", conversation_id="c-1", note="answered")
    out = work_completed(ALICE, command, "a-1", ("resolved",), event_id="r", time=T0)
    assert isinstance(out.event, WorkCompleted)
    assert (out.event.data.reason, out.event.data.note, out.event.data.agent_id) == (
        "returned-to-bot",
        "answered",
        "a-1",
    )


@pytest.mark.parametrize("assignee", [None, "a-2"])
def test_conversation_actions_need_the_conversation_to_be_yours(assignee: str | None) -> None:
    with pytest.raises(NotYours):
        note_added(
            ALICE, AddNote(type="note", conversation_id="c-1", text="x"), assignee, event_id="n", time=T0
        )
    transfer = Transfer(type="transfer", conversation_id="c-1", to_queue="q")
    with pytest.raises(NotYours):
        transfer_requested(ALICE, transfer, assignee, event_id="t", time=T0)
    back = ReturnToBot(type="return_to_bot", conversation_id="c-1")
    with pytest.raises(NotYours):
        work_completed(ALICE, back, assignee, ("resolved",), event_id="r", time=T0)


def test_the_assignee_follows_notes_deliveries_and_channel_changes() -> None:
    author = ReplyAuthor(kind="agent", name="Alice", id="a-1")
    note = NoteAdded(id="e", subject="c-1", **ENVELOPE, data=NoteData(note_id="n", author=author, text="VIP"))
    delivery = DeliveryStatus(
        id="e", subject="c-1", **ENVELOPE, data=DeliveryStatusData(message_id="m", status="read")
    )
    switched = ChannelSwitched(
        id="e",
        subject="c-1",
        **ENVELOPE,
        data=ChannelSwitchedData(from_channel="webchat", channel="sms", address="+33"),
    )
    updates = [project(event, assignee="a-1") for event in (note, delivery, switched)]
    assert [u.agent_id for u in updates] == ["a-1"] * 3
    assert isinstance(updates[0].message, NoteMessage)
    assert updates[0].message.note.text == "VIP"
    assert isinstance(updates[1].message, DeliveryMessage)
    assert updates[1].message.status == "read"
    assert isinstance(updates[2].message, ConversationUpdated)
    assert updates[2].message.channel == "sms"
    assert project(note, assignee=None) == InboxUpdate()


def test_release_tells_the_agent_and_ends_the_assignment() -> None:
    data = ReleasedData(agent_id="a-1", reason="completed", disposition="resolved")
    update = project(Released(id="e", subject="c-1", **ENVELOPE, data=data))
    assert update.agent_id == "a-1"
    assert update.unassignment == ("c-1", "a-1")
    assert isinstance(update.message, ReleasedMessage)
    assert (update.message.reason, update.message.disposition) == ("completed", "resolved")


def test_not_responding_reaches_the_agent() -> None:
    data = AgentStatusChangedData(agent_id="a-1", status="not-responding", reason="3 offers missed")
    update = project(AgentStatusChanged(id="e", **ENVELOPE, data=data))
    assert update.agent_id == "a-1"
    assert isinstance(update.message, StatusMessage)
    assert update.message.status == "not-responding"


# --- what the desk must be told exactly (found by `make mutate`) -------------------------------------


def test_an_offer_remembers_the_customer_whose_key_seals_the_agents_words() -> None:
    packet = PACKET.model_copy(update={"customer_id": "cust-9"})
    event = offer_created().model_copy(
        update={"data": offer_created().data.model_copy(update={"packet": packet})}
    )
    assert project(event).open_offer == OfferRecord("o-1", "acme", "a-1", "c-1", "cust-9")


def test_sealed_texts_reach_the_desk_sealed_with_their_key() -> None:
    sealed = {"text": "", "text_sealed": "gAAAA-token", "key_id": "k-7"}
    message = customer_message()
    message = message.model_copy(update={"data": message.data.model_copy(update=sealed)})
    author = ReplyAuthor(kind="agent", name="Alice", id="a-1")
    reply = ReplyPosted(
        id="e", subject="c-1", **ENVELOPE, data=ReplyData(message_id="m-2", author=author, **sealed)
    )
    note = NoteAdded(id="e", subject="c-1", **ENVELOPE, data=NoteData(note_id="n", author=author, **sealed))
    for event in (message, reply, note):
        shown = project(event, assignee="a-1").message
        assert isinstance(shown, ConversationMessage | NoteMessage)
        assert (shown.sealed, shown.key_id) == ("gAAAA-token", "k-7"), event.type


def test_the_desk_sees_the_reply_channel_the_note_author_and_why_a_delivery_failed() -> None:
    author = ReplyAuthor(kind="agent", name="Alice", id="a-1")
    data = ReplyData(message_id="m-2", author=author, text="by SMS", channel="sms")
    reply = project(ReplyPosted(id="e", subject="c-1", **ENVELOPE, data=data), assignee="a-1").message
    assert isinstance(reply, ConversationMessage)
    assert reply.message.channel == "sms"
    note = NoteAdded(id="e", subject="c-1", **ENVELOPE, data=NoteData(note_id="n", author=author, text="x"))
    shown_note = project(note, assignee="a-1").message
    assert isinstance(shown_note, NoteMessage)
    assert (shown_note.note.author_id, shown_note.note.author_name) == ("a-1", "Alice")
    failed = DeliveryStatusData(message_id="m", status="failed", reason="no messenger address")
    shown = project(DeliveryStatus(id="e", subject="c-1", **ENVELOPE, data=failed), assignee="a-1").message
    assert shown == DeliveryMessage(
        conversation_id="c-1", message_id="m", status="failed", reason="no messenger address", at=T0
    )


def test_the_assignee_hears_when_the_customer_leaves_and_when_the_conversation_closes() -> None:
    left = CustomerLeft(
        id="e", subject="c-1", **ENVELOPE, data=CustomerLeftData(channel="webchat", address="v")
    )
    closed = Closed(id="e", subject="c-1", **ENVELOPE, data=ClosedData(reason="inactivity"))
    assert project(left, assignee="a-1") == InboxUpdate(
        agent_id="a-1",
        message=ConversationUpdated(conversation_id="c-1", what="customer_left", channel="webchat", at=T0),
    )
    assert project(closed, assignee="a-1") == InboxUpdate(
        agent_id="a-1", message=ConversationUpdated(conversation_id="c-1", what="closed", at=T0)
    )


def test_a_status_change_tells_the_agent_why() -> None:
    data = AgentStatusChangedData(agent_id="a-1", status="not-responding", reason="3 offers missed")
    update = project(AgentStatusChanged(id="e", **ENVELOPE, data=data))
    assert update.message == StatusMessage(status="not-responding", reason="3 offers missed", at=T0)


def test_refusals_say_which_conversation_or_offer_and_why() -> None:
    not_yours = r"^conversation c-1 is not assigned to you$"
    with pytest.raises(NotYours, match=not_yours):
        note_added(ALICE, AddNote(type="note", conversation_id="c-1", text="x"), "a-2", event_id="n", time=T0)
    with pytest.raises(NotYours, match=not_yours):
        reply_posted(
            ALICE, PostReply(type="reply", conversation_id="c-1", text="x"), None, event_id="n", time=T0
        )
    transfer = Transfer(type="transfer", conversation_id="c-1", to_queue="q")
    with pytest.raises(NotYours, match=not_yours):
        transfer_requested(ALICE, transfer, None, event_id="n", time=T0)
    wrap_up = WrapUp(type="wrap_up", conversation_id="c-1", disposition="resolved")
    with pytest.raises(NotYours, match=not_yours):
        work_completed(ALICE, wrap_up, None, ("resolved",), event_id="w", time=T0)
    with pytest.raises(NotYours, match=r"^offer o-1 is not open for you$"):
        offer_answered(ALICE, AcceptOffer(type="accept", offer_id="o-1"), None, event_id="e", time=T0)
    to_oneself = Transfer(type="transfer", conversation_id="c-1", to_agent_id="a-1")
    with pytest.raises(Refused, match=r"^a conversation cannot be transferred to its own agent$"):
        transfer_requested(ALICE, to_oneself, "a-1", event_id="t", time=T0)


def test_a_reply_on_another_channel_and_a_transfer_to_a_colleague_say_so() -> None:
    command = PostReply(type="reply", conversation_id="c-1", text="by SMS", channel="sms")
    out = reply_posted(ALICE, command, "a-1", event_id="e-10", time=T0)
    assert isinstance(out.event, ReplyPosted)
    assert out.event.data.channel == "sms"
    transfer = Transfer(type="transfer", conversation_id="c-1", to_agent_id="a-2")
    moved = transfer_requested(ALICE, transfer, "a-1", event_id="t", time=T0)
    assert isinstance(moved.event, TransferRequested)
    assert (moved.event.data.to_agent_id, moved.event.data.to_queue) == ("a-2", None)


def test_a_wrap_up_goes_to_the_router_on_the_tenants_key() -> None:
    out = work_completed(
        ALICE,
        WrapUp(type="wrap_up", conversation_id="c-1", disposition="resolved"),
        "a-1",
        ("resolved",),
        event_id="w",
        time=T0,
    )
    assert (out.topic, out.key) == (topics.ROUTING, "acme")

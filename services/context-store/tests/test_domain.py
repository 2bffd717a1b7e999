"""The context store's pure core: identities, conversations across channels, timeline, delivery."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relais_context_store.domain.identity import (
    identity_key,
    message_identities,
    normalise_phone,
    resolve_customer,
)
from relais_context_store.domain.resolution import (
    OpenConversation,
    close_for_inactivity,
    new_customer_id,
    resolve_message,
)
from relais_context_store.domain.timeline import (
    NoAddress,
    delivery,
    participants,
    reply_channels,
    reply_destination,
    routing_cancellation,
    undeliverable,
    view_change,
)
from relais_contracts import derive_id, topics
from relais_contracts.channel import (
    CUSTOMER_TEXT_MAX,
    Attachment,
    MessageReceived,
    MessageReceivedData,
    QuickReply,
)
from relais_contracts.conversation import (
    Assigned,
    AssignedData,
    ChannelSwitched,
    Closed,
    ClosedData,
    CustomerLeft,
    CustomerLeftData,
    CustomerMessage,
    DeliveryStatus,
    NoteAdded,
    NoteData,
    Opened,
    ReplyAuthor,
    ReplyData,
    ReplyPosted,
)
from relais_contracts.customers import Identity, IdentityLinked
from relais_contracts.routing import WorkCancelled

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
TIMEOUT = timedelta(hours=1)


def received(
    event_id: str = "in-1",
    text: str = "Bonjour",
    channel: str = "sms",
    address: str = "+33612345678",
    at: datetime = T0,
    identity: dict[str, str] | None = None,
) -> MessageReceived:
    return MessageReceived(
        id=event_id,
        source="test",
        time=at,
        tenant="acme",
        data=MessageReceivedData.model_validate(
            {
                "channel": channel,
                "from": {"address": address, "name": "Camille"},
                "text": text,
                "external_id": "x",
                "identity": identity,
            }
        ),
    )


def identities_of(event: MessageReceived) -> list[Identity]:
    d = event.data
    return message_identities(d.channel, d.from_.address, d.identity, "FR")


def first_message(event: MessageReceived) -> list[Any]:
    customer = resolve_customer(identities_of(event), {}, new_customer_id(event))
    return [o.event for o in resolve_message(event, customer, None, TIMEOUT).outgoing]


# -- identities


def test_phone_numbers_are_normalised_to_e164() -> None:
    assert normalise_phone("06 12 34 56 78", "FR") == "+33612345678"
    assert normalise_phone("+33 (0)6.12.34.56.78", None) == "+33612345678"
    assert normalise_phone("12", "FR") is None


def test_a_message_carries_its_address_and_hints_strongest_first() -> None:
    event = received(
        identity={"email": " Camille@Example.COM ", "phone": "0612345678", "customer_ref": "C-9"}
    )
    keys = [identity_key(i) for i in identities_of(event)]
    # The SMS address and the phone hint are the same phone: one identity.
    assert keys == ["phone:+33612345678", "customer_ref:C-9", "email:camille@example.com"]
    webchat = received(channel="webchat", address="visitor-1")
    assert [identity_key(i) for i in identities_of(webchat)] == ["address:webchat:visitor-1"]


def test_unknown_identities_make_a_new_customer_and_are_linked_to_it() -> None:
    ids = identities_of(received(identity={"email": "c@example.com"}))
    resolution = resolve_customer(ids, {}, "new")
    assert resolution.customer_id == "new"
    assert resolution.new_links == tuple(ids)
    assert resolution.conflicts == ()


def test_a_known_hint_links_a_new_channel_to_the_same_customer() -> None:
    ids = identities_of(received(channel="webchat", address="v-1", identity={"email": "c@example.com"}))
    resolution = resolve_customer(ids, {"email:c@example.com": "cust-1"}, "new")
    assert resolution.customer_id == "cust-1"
    assert [identity_key(i) for i in resolution.new_links] == ["address:webchat:v-1"]


def test_hints_naming_two_customers_are_a_conflict_and_never_merge_them() -> None:
    ids = identities_of(received(identity={"email": "other@example.com"}))
    owners = {"phone:+33612345678": "cust-1", "email:other@example.com": "cust-2"}
    resolution = resolve_customer(ids, owners, "new")
    assert resolution.customer_id == "cust-1"  # the address it came from decides
    assert resolution.new_links == ()
    assert [(c.identity.value, c.other_customer_id) for c in resolution.conflicts] == [
        ("other@example.com", "cust-2")
    ]


# -- conversations


def test_a_first_message_opens_a_conversation_for_a_new_customer() -> None:
    linked, opened, message = first_message(received())
    assert isinstance(linked, IdentityLinked)
    assert isinstance(opened, Opened)
    assert isinstance(message, CustomerMessage)
    assert opened.subject == message.subject
    assert opened.data.customer_id == linked.subject
    assert message.data.text == "Bonjour"
    assert message.causationid == "in-1"


def test_a_message_on_another_channel_joins_the_open_conversation() -> None:
    event = received("in-2", channel="email", address="c@example.com", at=T0 + timedelta(minutes=5))
    customer = resolve_customer(identities_of(event), {"email:c@example.com": "cust-1"}, "new")
    open_now = OpenConversation("conv-1", "sms", "+33612345678", T0, T0)
    resolved = resolve_message(event, customer, open_now, TIMEOUT)
    switched, message = (o.event for o in resolved.outgoing)
    assert isinstance(switched, ChannelSwitched)
    assert (switched.subject, switched.data.from_channel, switched.data.channel) == ("conv-1", "sms", "email")
    assert message.subject == "conv-1"
    assert resolved.open_conversation.channel == "email"
    assert resolved.open_conversation.since == T0


def test_a_message_after_the_inactivity_timeout_closes_and_opens_a_new_conversation() -> None:
    event = received("in-3", at=T0 + TIMEOUT + timedelta(seconds=1))
    customer = resolve_customer(identities_of(event), {"phone:+33612345678": "cust-1"}, "new")
    open_now = OpenConversation("conv-1", "sms", "+33612345678", T0, T0)
    resolved = resolve_message(event, customer, open_now, TIMEOUT)
    closed, opened, message = (o.event for o in resolved.outgoing)
    assert isinstance(closed, Closed)
    assert (closed.subject, closed.data.reason, closed.time) == ("conv-1", "inactivity", T0 + TIMEOUT)
    # The sweep closing the same conversation writes the same event: one close, whoever is first.
    assert closed == close_for_inactivity("acme", open_now, "cust-1", TIMEOUT)
    assert isinstance(opened, Opened)
    assert opened.subject != "conv-1"
    assert message.subject == opened.subject
    assert resolved.closed == "conv-1"


def test_card_numbers_never_reach_the_log() -> None:
    *_, message = first_message(received(text="ma carte 4111 1111 1111 1111 exp 12/27"))
    assert "4111 1111" not in message.data.text
    assert message.data.text.endswith("1111 exp 12/27")
    assert message.data.redactions == ("card",)


def test_resolution_replays_to_the_same_ids() -> None:
    assert first_message(received()) == first_message(received())
    first = first_message(received())
    # After a crash the resolver may already know the conversation: the message keeps its id.
    customer = resolve_customer(
        identities_of(received()), {"phone:+33612345678": first[1].data.customer_id}, "x"
    )
    open_now = OpenConversation(first[1].subject, "sms", "+33612345678", T0, T0)
    again = resolve_message(received(), customer, open_now, TIMEOUT)
    assert again.outgoing[-1].event == first[-1]


# -- timeline and delivery


def reply(channel: str | None = None) -> ReplyPosted:
    return ReplyPosted(
        id="r-1", source="relais/agent-gateway", time=T0, tenant="acme", subject="conv-1",
        data=ReplyData(message_id="r-1", author=ReplyAuthor(kind="agent", name="Alex", id="a-7"), text="Hi",
                       channel=channel),
    )  # fmt: skip


CONVERSATION = {"last_channel": "email", "last_address": "c@example.com", "address:sms": "+33612345678"}


def test_a_reply_goes_out_on_the_channel_the_customer_used_last() -> None:
    channel, address = reply_destination(reply(), CONVERSATION, [])
    send = delivery(reply(), channel, address)
    assert (send.data.channel, send.data.to.address, send.subject) == ("email", "c@example.com", "conv-1")
    assert send.data.author.kind == "agent"
    assert send.id == delivery(reply(), channel, address).id  # deterministic


def test_an_agent_may_choose_the_channel() -> None:
    assert reply_destination(reply("sms"), CONVERSATION, []) == ("sms", "+33612345678")
    phone = [{"kind": "phone", "value": "+33700000000"}]
    assert reply_destination(reply("whatsapp"), CONVERSATION, phone) == ("whatsapp", "+33700000000")
    with pytest.raises(NoAddress):
        reply_destination(reply("messenger"), CONVERSATION, phone)


IDENTITIES = st.lists(
    st.one_of(
        st.fixed_dictionaries({"kind": st.just("phone"), "value": st.just("+33700000000")}),
        st.fixed_dictionaries({"kind": st.just("email"), "value": st.just("c@example.org")}),
        st.fixed_dictionaries({"kind": st.just("customer_ref"), "value": st.just("crm-1")}),
        st.fixed_dictionaries(
            {
                "kind": st.just("address"),
                "value": st.just("x-1"),
                "channel": st.sampled_from(["messenger", "sms"]),
            }
        ),
    ),
    max_size=4,
)
SOME_CHANNELS = ["email", "sms", "whatsapp", "voice", "rcs", "messenger", "webchat", "telegram"]


@given(IDENTITIES, st.sets(st.sampled_from(SOME_CHANNELS)), st.sampled_from(SOME_CHANNELS))
def test_reply_channels_are_exactly_the_channels_a_reply_can_be_delivered_on(
    identities: list[dict[str, Any]], used: set[str], last: str
) -> None:
    conversation = {"last_channel": last, "last_address": "last-addr"} | {f"address:{c}": c for c in used}
    channels = reply_channels(conversation, identities)
    assert last in channels
    for channel in SOME_CHANNELS:
        if channel in channels:
            assert reply_destination(reply(channel), conversation, identities)[0] == channel
        else:
            with pytest.raises(NoAddress):
                reply_destination(reply(channel), conversation, identities)


def test_a_reply_with_no_address_becomes_a_failed_delivery_of_that_reply() -> None:
    failed = undeliverable(reply("messenger"), "the customer has no messenger address")
    assert (failed.topic, failed.key, failed.event.subject) == ("relais.conversations.v1", "conv-1", "conv-1")
    assert isinstance(failed.event, DeliveryStatus)
    assert (failed.event.data.message_id, failed.event.data.status) == ("r-1", "failed")
    assert failed.event.id == undeliverable(reply("messenger"), "again").event.id  # a replay: the same event
    assert failed.event.id != delivery(reply(), "email", "c@example.com").id


def test_every_message_is_a_timeline_entry_and_moves_the_last_channel() -> None:
    *_, message = first_message(received(channel="whatsapp"))
    change = view_change(message)
    assert change.entry is not None
    assert change.entry["text"] == "Bonjour"
    assert change.entry["author_kind"] == "customer"
    assert change.fields["last_channel"] == "whatsapp"


def test_assignment_changes_the_state_and_the_participants() -> None:
    assigned = Assigned(
        id="a-1", source="relais/router", time=T0, tenant="acme", subject="conv-1",
        data=AssignedData(offer_id="o-1", agent_id="agent-7", agent_name="Alex"),
    )  # fmt: skip
    change = view_change(assigned)
    assert change.fields["state"] == "assigned"
    fields = {"customer_id": "c-1", "customer_name": "Camille", **change.fields}
    assert participants(fields) == [
        {"kind": "customer", "id": "c-1", "name": "Camille"},
        {"kind": "agent", "id": "agent-7", "name": "Alex"},
    ]


def test_an_internal_note_is_in_the_timeline_and_is_not_a_message() -> None:
    note = NoteAdded(
        id="n-1", source="relais/agent-gateway", time=T0, tenant="acme", subject="conv-1",
        data=NoteData(note_id="n-1", author=ReplyAuthor(kind="agent", name="Alex", id="agent-7"), text="VIP"),
    )  # fmt: skip
    change = view_change(note)
    assert change.entry is not None
    assert (change.entry["kind"], change.entry["text"], change.entry["author_id"]) == (
        "note",
        "VIP",
        "agent-7",
    )
    # Only indexed messages get delivery reports, and only replies are delivered to the customer.
    assert change.indexed_message is None


def test_leaving_while_routed_cancels_the_routing() -> None:
    left = CustomerLeft(
        id="l-1", source="relais/context-store", time=T0, tenant="acme", subject="conv-1",
        data=CustomerLeftData(channel="webchat", address="v-1"),
    )  # fmt: skip
    cancel = routing_cancellation(left, "waiting")
    assert cancel is not None
    assert isinstance(cancel.event, WorkCancelled)
    assert (cancel.key, cancel.event.data.reason, cancel.event.data.conversation_id) == (
        "acme",
        "customer-left",
        "conv-1",
    )
    assert routing_cancellation(left, "bot") is None


@given(
    identities=st.lists(
        st.builds(
            Identity,
            kind=st.sampled_from(["phone", "email", "customer_ref"]),
            value=st.sampled_from(["a", "b", "c", "d"]),
        ),
        min_size=1,
        max_size=4,
        unique_by=identity_key,
    ),
    owned=st.dictionaries(
        st.sampled_from(["a", "b", "c", "d"]), st.sampled_from(["cust-1", "cust-2", "cust-3"])
    ),
)
def test_resolution_never_merges_and_never_steals_an_identity(
    identities: list[Identity], owned: dict[str, str]
) -> None:
    owners = {identity_key(i): owned[i.value] for i in identities if i.value in owned}
    resolution = resolve_customer(identities, owners, "new")
    owner_of_strongest = next(
        (owners[identity_key(i)] for i in identities if identity_key(i) in owners), "new"
    )
    assert resolution.customer_id == owner_of_strongest
    # Only free identities are linked; every identity of another customer is a conflict, and stays theirs.
    assert all(identity_key(i) not in owners for i in resolution.new_links)
    assert {identity_key(c.identity) for c in resolution.conflicts} == {
        k for k, c in owners.items() if c != resolution.customer_id
    }
    linked = {identity_key(i) for i in resolution.new_links}
    assert linked | set(owners) == {identity_key(i) for i in identities}


# Output ids are pinned: an input redelivered after an upgrade must give the ids the last release gave,
# or consumers would keep both copies of the output.


def test_a_delivery_carries_the_reply_whole_under_a_pinned_id() -> None:
    answer = reply().model_copy(
        update={
            "data": reply().data.model_copy(
                update={"in_reply_to": "m-9", "quick_replies": (QuickReply(title="Yes", payload="yes"),)}
            )
        }
    )
    send = delivery(answer, "email", "c@example.com")
    assert (send.data.in_reply_to, send.data.quick_replies) == (
        "m-9",
        (QuickReply(title="Yes", payload="yes"),),
    )
    assert (send.data.text, send.data.message_id, send.data.author.name) == ("Hi", "r-1", "Alex")
    assert send.id == "1b0eb638-5359-55aa-a29d-8b7996a115f5"


def test_a_failed_delivery_says_why_under_a_pinned_id() -> None:
    failed = undeliverable(reply("messenger"), "the customer has no messenger address")
    assert failed.event.data.reason == "the customer has no messenger address"
    assert failed.event.id == "e8bd9bf9-6ced-532b-b970-24869c58f68c"


def test_a_routed_conversation_that_closes_is_cancelled_with_its_reason_under_a_pinned_id() -> None:
    closed = Closed(
        id="x-1", source="relais/context-store", time=T0, tenant="acme", subject="conv-1",
        data=ClosedData(reason="inactivity"),
    )  # fmt: skip
    cancel = routing_cancellation(closed, "assigned")
    assert cancel is not None
    assert (cancel.topic, cancel.key, cancel.event.data.reason) == (topics.ROUTING, "acme", "closed")
    left = CustomerLeft(
        id="l-1", source="relais/context-store", time=T0, tenant="acme", subject="conv-1",
        data=CustomerLeftData(channel="webchat", address="v-1"),
    )  # fmt: skip
    cancel = routing_cancellation(left, "waiting")
    assert cancel is not None
    assert (cancel.topic, cancel.event.id) == (topics.ROUTING, "d91b41ea-0fb4-58f1-ad02-f0c5494625b7")


def test_an_inactivity_close_names_the_customer_under_an_id_pinned_to_the_conversation() -> None:
    open_now = OpenConversation("conv-1", "sms", "+33612345678", T0, T0)
    closed = close_for_inactivity("acme", open_now, "cust-1", TIMEOUT)
    assert closed.data.customer_id == "cust-1"
    # Every sweep and every message after the timeout, on this release or the next, closes it once.
    assert closed.id == "cb2e43c4-6365-5c3d-8d6d-f5a97e3ed861"


def test_a_channel_without_an_address_is_no_reply_channel() -> None:
    assert reply_channels({"last_channel": "webchat", "last_address": ""}, []) == []
    assert reply_channels({"last_channel": "webchat", "last_address": "v-1"}, []) == ["webchat"]


def test_a_message_exactly_at_the_timeout_still_joins_the_open_conversation() -> None:
    event = received("in-2", at=T0 + TIMEOUT)
    customer = resolve_customer(identities_of(event), {"phone:+33612345678": "cust-1"}, "new")
    open_now = OpenConversation("conv-1", "sms", "+33612345678", T0, T0)
    resolved = resolve_message(event, customer, open_now, TIMEOUT)
    assert [o.event.subject for o in resolved.outgoing] == ["conv-1"]
    assert resolved.closed is None


def test_a_new_customer_and_conversation_get_ids_pinned_to_the_message() -> None:
    # A replay of the message by this release or the next derives the same ones, so it joins them.
    event = received()
    linked, opened, _ = first_message(event)
    customer, conversation = "f6c88783-5403-5fbd-8136-b8990bc528f8", "ce043260-f549-5c9f-a3da-57d116dccf60"
    assert (new_customer_id(event), linked.subject, opened.subject) == (customer, customer, conversation)
    assert [e.id for e in first_message(event)] == [
        "0d647306-a57e-5843-b4bd-9a9a10f6f5bb",
        "a7fbbd88-e3bf-5360-8eb8-109223653ddc",
        "93ceaf31-ddec-5ea7-b5a2-92fde1da6894",
    ]


def test_every_event_of_a_message_carries_the_customer_as_the_channel_gave_them() -> None:
    # A long message in French from a named customer with an identity hint: the conversation is opened
    # with the name and the hint, and the message keeps the name, the language and the length cut.
    event = received("in-9", text="x" * (CUSTOMER_TEXT_MAX + 5), identity={"email": "camille@example.com"})
    event = event.model_copy(update={"data": event.data.model_copy(update={"language": "fr"})})
    customer = resolve_customer(identities_of(event), {}, new_customer_id(event))
    opened, message = (o.event for o in resolve_message(event, customer, None, TIMEOUT).outgoing
                       if isinstance(o.event, Opened | CustomerMessage))  # fmt: skip
    assert (opened.data.customer_name, opened.data.identity) == ("Camille", event.data.identity)
    assert (message.data.customer_name, message.data.language) == ("Camille", "fr")
    assert message.data.truncated_from == CUSTOMER_TEXT_MAX + 5


def test_a_channel_switch_names_the_customer_and_has_an_id_of_its_own() -> None:
    event = received("in-2", channel="email", address="c@example.com", at=T0 + timedelta(minutes=5))
    event = event.model_copy(update={"data": event.data.model_copy(update={"language": "fr"})})
    customer = resolve_customer(identities_of(event), {"email:c@example.com": "cust-1"}, "new")
    open_now = OpenConversation("conv-1", "sms", "+33612345678", T0, T0)
    switched, message = (o.event for o in resolve_message(event, customer, open_now, TIMEOUT).outgoing)
    assert isinstance(switched, ChannelSwitched)
    assert switched.data.customer_id == "cust-1"
    assert switched.id == derive_id("test", "in-2", 2)  # the message is 1, an identity link 3
    assert (message.data.customer_name, message.data.language) == ("Camille", "fr")


def test_the_identity_link_comes_first_on_the_tenants_key_with_everything_it_links() -> None:
    event = received("in-7")
    ids = identities_of(event)
    customer = resolve_customer(ids, {}, new_customer_id(event))
    resolved = resolve_message(event, customer, None, TIMEOUT)
    first, _, message = resolved.outgoing
    assert (first.topic, first.key) == (topics.CONVERSATIONS, "acme")
    assert isinstance(first.event, IdentityLinked)
    opened_id = resolved.open_conversation.conversation_id
    assert (first.event.data.identities, first.event.data.conversation_id) == (tuple(ids), opened_id)
    assert message.event.data.message_id == derive_id("test", "in-7", 1) == message.event.id
    assert resolved.open_conversation == OpenConversation(opened_id, "sms", "+33612345678", T0, T0)
    assert resolved.customer_id == customer.customer_id == new_customer_id(event)


def test_a_conflict_alone_is_linked_on_the_log_too() -> None:
    event = received(identity={"email": "other@example.com"})
    owners = {"phone:+33612345678": "cust-1", "email:other@example.com": "cust-2"}
    customer = resolve_customer(identities_of(event), owners, "new")
    assert (customer.new_links, customer.claims) == ((), ())
    open_now = OpenConversation("conv-1", "sms", "+33612345678", T0, T0)
    (first, *_) = resolve_message(event, customer, open_now, TIMEOUT).outgoing
    assert isinstance(first.event, IdentityLinked)
    assert first.event.data.conflicts == customer.conflicts


def test_a_late_message_leaves_the_open_conversation_as_it_was_and_one_at_the_same_time_moves_it() -> None:
    open_now = OpenConversation("conv-1", "sms", "+33612345678", T0 + timedelta(minutes=5), T0)
    customer = resolve_customer(identities_of(received()), {"phone:+33612345678": "cust-1"}, "new")
    late = received("in-4", channel="email", address="c@example.com", at=T0 + timedelta(minutes=2))
    assert resolve_message(late, customer, open_now, TIMEOUT).open_conversation == open_now
    same = received("in-5", channel="email", address="c@example.com", at=T0 + timedelta(minutes=5))
    moved = resolve_message(same, customer, open_now, TIMEOUT).open_conversation
    assert moved == OpenConversation("conv-1", "email", "c@example.com", T0 + timedelta(minutes=5), T0)


def test_the_message_on_the_log_keeps_its_attachments() -> None:
    event = received("in-8")
    attachment = {"url": "https://files.example/p.png", "content_type": "image/png", "name": "p.png"}
    data = event.data.model_copy(update={"attachments": (Attachment.model_validate(attachment),)})
    event = event.model_copy(update={"data": data})
    customer = resolve_customer(identities_of(event), {}, new_customer_id(event))
    message = resolve_message(event, customer, None, TIMEOUT).message
    assert [a.model_dump() for a in message.data.attachments] == [attachment]


def test_claims_alone_are_linked_on_the_log_with_the_claims() -> None:
    event = received()
    claimed = Identity(kind="email", value="boss@example.com")
    owners = {"phone:+33612345678": "cust-1", "email:boss@example.com": "cust-2"}
    customer = resolve_customer(identities_of(event), owners, "new", claimed=(claimed,))
    assert (customer.new_links, customer.conflicts) == ((), ())
    open_now = OpenConversation("conv-1", "sms", "+33612345678", T0, T0)
    (first, *_) = resolve_message(event, customer, open_now, TIMEOUT).outgoing
    assert isinstance(first.event, IdentityLinked)
    assert [(c.identity, c.other_customer_id) for c in first.event.data.claims] == [(claimed, "cust-2")]
    assert first.event.data.conversation_id == "conv-1"

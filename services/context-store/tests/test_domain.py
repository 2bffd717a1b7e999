"""The context store's pure core: resolving messages to conversations, and what the timeline records."""

from datetime import UTC, datetime

import pytest

from relais_context_store.domain.resolution import resolve_message
from relais_context_store.domain.timeline import delivery, view_change
from relais_contracts.channel import MessageReceived, MessageReceivedData
from relais_contracts.conversation import (
    Assigned,
    AssignedData,
    CustomerMessage,
    Opened,
    ReplyAuthor,
    ReplyData,
    ReplyPosted,
)

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def received(event_id: str = "in-1", text: str = "Bonjour", channel: str = "sms") -> MessageReceived:
    return MessageReceived(
        id=event_id,
        source="test",
        time=T0,
        tenant="acme",
        data=MessageReceivedData.model_validate(
            {
                "channel": channel,
                "from": {"address": "+33612345678", "name": "Camille"},
                "text": text,
                "external_id": "x",
            }
        ),
    )


def test_a_first_message_opens_a_conversation() -> None:
    opened, message = resolve_message(received(), None)
    assert isinstance(opened, Opened)
    assert isinstance(message, CustomerMessage)
    assert opened.subject == message.subject
    assert opened.data.address == "+33612345678"
    assert message.data.text == "Bonjour"
    assert message.causationid == "in-1"


def test_a_next_message_joins_the_open_conversation() -> None:
    (message,) = resolve_message(received("in-2"), "conv-1")
    assert isinstance(message, CustomerMessage)
    assert message.subject == "conv-1"


def test_resolution_replays_to_the_same_ids() -> None:
    assert resolve_message(received(), None) == resolve_message(received(), None)
    first = resolve_message(received(), None)
    # After a crash the index may already point to the conversation: the message keeps its id.
    again = resolve_message(received(), first[0].subject)
    assert again[-1] == first[-1]


def test_a_reply_goes_out_on_the_channel_the_customer_used_last() -> None:
    reply = ReplyPosted(
        id="r-1",
        source="relais/bot",
        time=T0,
        tenant="acme",
        subject="conv-1",
        data=ReplyData(message_id="r-1", author=ReplyAuthor(kind="agent", name="Alex"), text="Hi"),
    )
    send = delivery(reply, "email", "camille@example.com")
    assert (send.data.channel, send.data.to.address, send.subject) == (
        "email",
        "camille@example.com",
        "conv-1",
    )
    assert send.data.author.kind == "agent"
    assert send.id == delivery(reply, "email", "camille@example.com").id  # deterministic


def test_every_message_is_a_timeline_entry_and_moves_the_last_channel() -> None:
    _, message = resolve_message(received(channel="whatsapp"), None)
    change = view_change(message)
    assert change.entry is not None
    assert change.entry["text"] == "Bonjour"
    assert change.entry["author_kind"] == "customer"
    assert change.fields["last_channel"] == "whatsapp"


def test_assignment_changes_the_state() -> None:
    assigned = Assigned(
        id="a-1", source="relais/router", time=T0, tenant="acme", subject="conv-1",
        data=AssignedData(offer_id="o-1", agent_id="agent-7", agent_name="Alex"),
    )  # fmt: skip
    change = view_change(assigned)
    assert change.fields["state"] == "assigned"
    assert change.fields["agent_id"] == "agent-7"

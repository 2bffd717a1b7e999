"""What each conversation event writes into the views the API reads: one row per kind of event, with
every field it sets (a field lost or renamed here is a field the agent desk and the API lose)."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from relais_context_store.domain.resolution import SOURCE, customer_left, delivery_status
from relais_context_store.domain.timeline import (
    CustomerChange,
    ViewChange,
    delivery_summary,
    entry_json,
    participants,
    view_change,
)
from relais_contracts import derive_id, topics
from relais_contracts.channel import DeliveryUpdated, DeliveryUpdatedData, SessionEnded, SessionEndedData
from relais_contracts.conversation import (
    Assigned,
    AssignedData,
    ChannelSwitched,
    ChannelSwitchedData,
    Closed,
    ClosedData,
    ConversationEvent,
    CustomerLeft,
    CustomerLeftData,
    CustomerMessage,
    CustomerMessageData,
    DeliveryStatus,
    DeliveryStatusData,
    Dequeued,
    DequeuedData,
    HandoffPacket,
    HandoffRequested,
    HandoffRequestedData,
    NoteAdded,
    NoteData,
    Offered,
    OfferedData,
    Opened,
    OpenedData,
    Queued,
    QueuedData,
    Released,
    ReleasedData,
    ReplyAuthor,
    ReplyData,
    ReplyPosted,
    ReturnedToBot,
    ReturnedToBotData,
    Transferred,
    TransferredData,
    WaitUpdated,
    WaitUpdatedData,
)

pytestmark = pytest.mark.unit

T = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
AT = "2026-11-24T10:00:00+00:00"
PACKET = HandoffPacket(reason="asked-for-human", summary="wants a refund", queue="billing")


def ev(kind: type[ConversationEvent], data: Any) -> ConversationEvent:
    return kind(id="e-1", source="test", time=T, tenant="acme", subject="c-1", data=data)


def entry(kind: str, **extra: Any) -> dict[str, Any]:
    return {"event_id": "e-1", "kind": kind, "at": AT, **extra}


BOT = ReplyAuthor(kind="bot", name="Relais")
AGENT = ReplyAuthor(kind="agent", name="Alice", id="a-1")

CASES: list[tuple[str, ConversationEvent, ViewChange]] = [
    (
        "opened",
        ev(Opened, OpenedData(channel="sms", address="+336", customer_name="Camille", customer_id="cu-1")),
        ViewChange(
            entry("opened", channel="sms"),
            {
                "tenant": "acme", "id": "c-1", "state": "bot", "opened_at": AT, "channel": "sms",
                "address": "+336", "last_channel": "sms", "last_address": "+336", "address:sms": "+336",
                "customer_id": "cu-1", "customer_name": "Camille", "updated_at": AT,
            },
            customer=CustomerChange("opened", "cu-1", "sms", "+336"),
        ),
    ),
    (
        "opened-anonymous",
        ev(Opened, OpenedData(channel="webchat", address="v-1")),
        ViewChange(
            entry("opened", channel="webchat"),
            {
                "tenant": "acme", "id": "c-1", "state": "bot", "opened_at": AT, "channel": "webchat",
                "address": "v-1", "last_channel": "webchat", "last_address": "v-1", "address:webchat": "v-1",
                "customer_id": "", "customer_name": "", "updated_at": AT,
            },
            customer=CustomerChange("opened", None, "webchat", "v-1"),
        ),
    ),
    (
        "customer-message",
        ev(
            CustomerMessage,
            CustomerMessageData(
                message_id="m-1", channel="sms", address="+336", customer_name="Camille", text="card [card]",
                external_id="x-1", redactions=("card",), truncated_from=9000,
            ),
        ),
        ViewChange(
            entry(
                "message", message_id="m-1", author_kind="customer", author_name="Camille", channel="sms",
                text="card [card]", external_id="x-1", redactions=["card"], truncated_from=9000,
            ),
            {
                "last_channel": "sms", "last_address": "+336", "address:sms": "+336",
                "last_customer_at": AT, "updated_at": AT, "customer_name": "Camille",
            },
            customer=CustomerChange("activity", None, "sms", "+336"),
        ),
    ),
    (
        "customer-message-unnamed",
        ev(
            CustomerMessage,
            CustomerMessageData(message_id="m-1", channel="sms", address="+336", text="hi", external_id="x"),
        ),
        ViewChange(
            entry(
                "message", message_id="m-1", author_kind="customer", author_name=None, channel="sms",
                text="hi", external_id="x", redactions=[],
            ),
            {
                "last_channel": "sms", "last_address": "+336", "address:sms": "+336",
                "last_customer_at": AT, "updated_at": AT,
            },
            customer=CustomerChange("activity", None, "sms", "+336"),
        ),
    ),
    (
        "channel-switched",
        ev(
            ChannelSwitched,
            ChannelSwitchedData(
                from_channel="webchat", channel="email", address="c@x.org", customer_id="cu-1"
            ),
        ),
        ViewChange(
            entry("channel_switched", from_channel="webchat", channel="email"),
            {"last_channel": "email", "last_address": "c@x.org", "address:email": "c@x.org"},
            customer=CustomerChange("activity", "cu-1", "email", "c@x.org"),
        ),
    ),
    (
        "bot-reply",
        ev(ReplyPosted, ReplyData(message_id="r-1", author=BOT, text="Bonjour", in_reply_to="m-1")),
        ViewChange(
            entry(
                "message", message_id="r-1", author_kind="bot", author_name="Relais", author_id=None,
                text="Bonjour", in_reply_to="m-1",
            ),
            {
                "updated_at": AT, "last_bot_at": AT,
                "participant:bot:Relais": '{"kind":"bot","id":null,"name":"Relais"}',
            },
            indexed_message="r-1",
        ),
    ),
    (
        "agent-reply",
        ev(ReplyPosted, ReplyData(message_id="r-2", author=AGENT, text="Hello")),
        ViewChange(
            entry(
                "message", message_id="r-2", author_kind="agent", author_name="Alice", author_id="a-1",
                text="Hello", in_reply_to=None,
            ),
            {"updated_at": AT, "participant:agent:a-1": '{"kind":"agent","id":"a-1","name":"Alice"}'},
            indexed_message="r-2",
        ),
    ),
    (
        "delivery",
        ev(DeliveryStatus, DeliveryStatusData(message_id="r-1", status="read")),
        ViewChange(None, delivery=("r-1", "read", AT)),
    ),
    (
        "note",
        ev(NoteAdded, NoteData(note_id="n-1", author=AGENT, text="VIP")),
        ViewChange(
            entry(
                "note", note_id="n-1", author_kind="agent", author_id="a-1", author_name="Alice", text="VIP"
            ),
            {"updated_at": AT},
        ),
    ),
    (
        "handoff",
        ev(HandoffRequested, HandoffRequestedData(packet=PACKET)),
        ViewChange(
            entry("handoff", reason="asked-for-human", summary="wants a refund", queue="billing"),
            {"state": "waiting", "handoff": PACKET.model_dump_json(), "updated_at": AT},
        ),
    ),
    (
        "queued",
        ev(Queued, QueuedData(queue="billing", position=3, enqueued_at=T)),
        ViewChange(entry("queued", queue="billing", position=3), {"state": "waiting"}),
    ),
    (
        "offered",
        ev(Offered, OfferedData(offer_id="o-1", agent_id="a-1")),
        ViewChange(None, {"state": "offered", "updated_at": AT}),
    ),
    (
        "assigned",
        ev(Assigned, AssignedData(offer_id="o-1", agent_id="a-1", agent_name="Alice")),
        ViewChange(
            entry("assigned", agent_id="a-1", agent_name="Alice"),
            {
                "state": "assigned", "agent_id": "a-1", "updated_at": AT,
                "participant:agent:a-1": '{"kind":"agent","id":"a-1","name":"Alice"}',
            },
        ),
    ),
    (
        "transferred",
        ev(Transferred, TransferredData(from_agent_id="a-1", to_queue="vip", to_agent_id="a-2")),
        ViewChange(
            entry("transferred", to_queue="vip", to_agent_id="a-2"), {"state": "waiting", "updated_at": AT}
        ),
    ),
    (
        "returned-to-bot",
        ev(ReturnedToBot, ReturnedToBotData(agent_id="a-1", note="done")),
        ViewChange(entry("returned_to_bot", agent_id="a-1"), {"state": "bot", "updated_at": AT}),
    ),
    (
        "wrapped-up",
        ev(Released, ReleasedData(agent_id="a-1", reason="completed", disposition="resolved")),
        ViewChange(
            entry("wrapped_up", agent_id="a-1", disposition="resolved"),
            {"state": "wrapped_up", "updated_at": AT},
        ),
    ),
    (
        "released-by-transfer",  # the Transferred event says it; the release itself changes nothing
        ev(Released, ReleasedData(agent_id="a-1", reason="transferred")),
        ViewChange(None),
    ),
    (
        "dequeued",
        ev(Dequeued, DequeuedData(queue="billing", reason="max-wait", message="later")),
        ViewChange(entry("dequeued", queue="billing", reason="max-wait"), {"state": "bot", "updated_at": AT}),
    ),
    (
        "customer-left",
        ev(CustomerLeft, CustomerLeftData(channel="webchat", address="v-1")),
        ViewChange(entry("customer_left", channel="webchat"), {"customer_left_at": AT, "updated_at": AT}),
    ),
    (
        "closed",
        ev(Closed, ClosedData(reason="inactivity", customer_id="cu-1")),
        ViewChange(
            entry("closed", reason="inactivity"),
            {"state": "closed", "closed_at": AT, "closed_reason": "inactivity", "updated_at": AT},
            customer=CustomerChange("closed", "cu-1"),
        ),
    ),
    (
        "wait-updated",  # said to the customer by the bot; nothing in the views
        ev(WaitUpdated, WaitUpdatedData(queue="billing", position=2)),
        ViewChange(None),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("event", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_event_changes_the_views_as_the_api_reads_them(
    event: ConversationEvent, expected: ViewChange
) -> None:
    assert view_change(event) == expected


def test_a_delivery_shows_its_best_report_and_every_report_by_time() -> None:
    reports = {
        "read": "2026-11-24T10:00:05",
        "failed": "2026-11-24T10:00:01",
        "delivered": "2026-11-24T10:00:02",
    }
    assert delivery_summary(reports) == {
        "status": "read",
        "reports": {
            "failed": "2026-11-24T10:00:01",
            "delivered": "2026-11-24T10:00:02",
            "read": "2026-11-24T10:00:05",
        },
    }
    # by time, not by name: "delivered" < "failed" < "read" alphabetically
    assert list(delivery_summary(reports)["reports"]) == ["failed", "delivered", "read"]
    assert delivery_summary({"failed": "t1"})["status"] == "failed"
    assert delivery_summary({"failed": "t1", "delivered": "t2"})["status"] == "delivered"


def test_participants_are_the_customer_then_the_others_by_key() -> None:
    fields = {
        "customer_id": "cu-1",
        "customer_name": "",
        "participant:bot:Relais": '{"kind":"bot","id":null,"name":"Relais"}',
        "participant:agent:a-1": '{"kind":"agent","id":"a-1","name":"Alice"}',
    }
    assert participants(fields) == [
        {"kind": "customer", "id": "cu-1", "name": None},
        {"kind": "agent", "id": "a-1", "name": "Alice"},
        {"kind": "bot", "id": None, "name": "Relais"},
    ]


def test_a_timeline_entry_is_compact_json_that_keeps_non_ascii_text() -> None:
    text = entry_json({"kind": "message", "text": "déjà vu"})
    assert text == '{"kind":"message","text":"déjà vu"}'
    assert json.loads(text)["text"] == "déjà vu"


# --- channel reports turned into conversation events -------------------------------------------------


def test_a_channel_session_end_becomes_the_customer_leaving_their_conversation() -> None:
    ended = SessionEnded(
        id="in-9", source="test/webchat", time=T, tenant="acme",
        data=SessionEndedData.model_validate({"channel": "webchat", "from": {"address": "v-1"}}),
    )  # fmt: skip
    out = customer_left(ended, "c-1")
    assert (out.topic, out.key) == (topics.CONVERSATIONS, "c-1")
    assert isinstance(out.event, CustomerLeft)
    assert (out.event.id, out.event.subject, out.event.tenant, out.event.source) == (
        derive_id("test/webchat", "in-9", 4), "c-1", "acme", SOURCE,
    )  # fmt: skip
    assert (out.event.data.channel, out.event.data.address) == ("webchat", "v-1")


def test_a_channel_delivery_report_becomes_a_delivery_status_of_the_message() -> None:
    report = DeliveryUpdated(
        id="in-8", source="test/sms", time=T, tenant="acme",
        data=DeliveryUpdatedData(external_id="x-7", status="failed", reason="unreachable"),
    )  # fmt: skip
    out = delivery_status(report, "c-1", "r-1")
    assert (out.topic, out.key) == (topics.CONVERSATIONS, "c-1")
    assert isinstance(out.event, DeliveryStatus)
    assert (out.event.id, out.event.subject, out.event.source) == (
        derive_id("test/sms", "in-8", 5),
        "c-1",
        SOURCE,
    )
    assert out.event.data == DeliveryStatusData(
        message_id="r-1", status="failed", reason="unreachable", external_id="x-7"
    )

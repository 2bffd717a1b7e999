"""What the context store tells the router about a conversation an agent holds."""

from datetime import UTC, datetime

import pytest

from relais_context_store.domain.timeline import routing_customer_wrote, view_change
from relais_contracts import topics
from relais_contracts.conversation import (
    ClockBreached,
    ClockBreachedData,
    CustomerMessage,
    CustomerMessageData,
    Reassigned,
    ReassignedData,
)
from relais_contracts.routing import CustomerWrote

pytestmark = pytest.mark.unit

T0 = datetime(2025, 1, 1, 12, tzinfo=UTC)


def message() -> CustomerMessage:
    return CustomerMessage(
        id="m-event-1",
        source="relais/context-store",
        time=T0,
        tenant="acme",
        subject="conv-1",
        data=CustomerMessageData(
            message_id="m-1", channel="webchat", address="v-1", text="still there?", external_id="x-1"
        ),
    )


def test_a_customer_message_to_an_assigned_conversation_reaches_the_router_without_its_words() -> None:
    wrote = routing_customer_wrote(message(), "assigned")
    assert wrote is not None
    assert (wrote.topic, wrote.key) == (topics.ROUTING, "acme")
    assert isinstance(wrote.event, CustomerWrote)
    assert wrote.event.data.model_dump() == {"conversation_id": "conv-1", "message_id": "m-1"}
    assert "still there" not in wrote.event.model_dump_json()
    assert routing_customer_wrote(message(), "assigned").event.id == wrote.event.id  # type: ignore[union-attr]
    # Pinned: the message redelivered after an upgrade must give the id the last release gave.
    assert wrote.event.id == "b614e325-99c8-52f7-8a2d-329d6e52429d"


@pytest.mark.parametrize("state", ["", "bot", "waiting", "offered", "closed"])
def test_no_notice_while_no_agent_holds_the_conversation(state: str) -> None:
    assert routing_customer_wrote(message(), state) is None


def test_a_reassignment_and_a_breach_are_on_the_timeline() -> None:
    envelope = {"source": "relais/router", "time": T0, "tenant": "acme", "subject": "conv-1"}
    reassigned = view_change(
        Reassigned(
            id="r-1", **envelope, data=ReassignedData(from_agent_id="alice", queue="general", reason="silent")
        )
    )
    assert reassigned.entry is not None
    assert (reassigned.entry["kind"], reassigned.entry["from_agent_id"], reassigned.entry["reason"]) == (
        "reassigned",
        "alice",
        "silent",
    )
    assert reassigned.fields == {"state": "waiting", "updated_at": T0.isoformat()}
    breached = view_change(
        ClockBreached(
            id="b-1",
            **envelope,
            data=ClockBreachedData(clock="first-response", agent_id="alice", queue="general", target_s=60),
        )
    )
    assert breached.entry is not None
    assert (breached.entry["kind"], breached.entry["clock"], breached.entry["target_s"]) == (
        "clock_breached",
        "first-response",
        60,
    )
    assert breached.entry["agent_id"] == "alice"
    assert breached.fields == {}  # the conversation stays where it is

"""The desk's side of response-time clocks, reassignment and away reasons (pure functions)."""

from datetime import UTC, datetime

import pytest

from relais_agent_gateway.auth import Agent
from relais_agent_gateway.domain.actions import Refused, presence_changed, reply_noticed, reply_posted
from relais_agent_gateway.domain.inbox import project
from relais_agent_gateway.protocol import ClockMessage, PostReply, SetPresence, TakenMessage
from relais_contracts import topics
from relais_contracts.agents import ClockChanged, ClockChangedData, ConversationTaken, ConversationTakenData
from relais_contracts.routing import AgentReplied, PresenceChanged

pytestmark = pytest.mark.unit

T0 = datetime(2025, 1, 1, 12, tzinfo=UTC)
ALICE = Agent(id="a-1", tenant="acme", name="Alice", roles=("agent",), expires_at=2_000_000_000)
ENVELOPE = {"source": "test", "time": T0, "tenant": "acme"}


def test_a_reply_is_noticed_by_the_router_without_its_words() -> None:
    reply = reply_posted(
        ALICE, PostReply(type="reply", conversation_id="c-1", text="on it"), "a-1", event_id="e-1", time=T0
    )
    notice = reply_noticed(reply)
    assert (notice.topic, notice.key) == (topics.ROUTING, "acme")
    assert isinstance(notice.event, AgentReplied)
    assert notice.event.data.model_dump() == {
        "conversation_id": "c-1",
        "agent_id": "a-1",
        "message_id": "e-1",
    }
    assert "on it" not in notice.event.model_dump_json()
    assert reply_noticed(reply).event.id == notice.event.id  # a resent reply is the same notice


def test_an_away_reason_must_be_one_of_the_tenant_s_and_goes_with_away_only() -> None:
    away = SetPresence(type="presence", presence="away", away_reason="training")
    out = presence_changed(ALICE, away, event_id="e", time=T0, away_reasons=("break", "training"))
    assert isinstance(out.event, PresenceChanged)
    assert out.event.data.away_reason == "training"
    with pytest.raises(Refused, match="not one of break"):
        presence_changed(ALICE, away, event_id="e", time=T0, away_reasons=("break",))
    with pytest.raises(Refused, match="presence 'away' only"):
        presence_changed(
            ALICE,
            SetPresence(type="presence", presence="available", away_reason="break"),
            event_id="e",
            time=T0,
        )
    # The router could not be asked: the reason goes through, the router records it as given.
    assert presence_changed(ALICE, away, event_id="e", time=T0, away_reasons=None).event.data.away_reason  # type: ignore[attr-defined]


def test_clock_warnings_and_taken_conversations_reach_the_agent_s_inbox() -> None:
    warning = ClockChanged(
        id="e-2",
        **ENVELOPE,
        data=ClockChangedData(
            agent_id="a-1", conversation_id="c-1", clock="first-response", state="warning", due_at=T0
        ),
    )
    update = project(warning)
    assert update.agent_id == "a-1"
    assert update.message == ClockMessage(
        conversation_id="c-1", clock="first-response", state="warning", due_at=T0, at=T0
    )
    taken = ConversationTaken(
        id="e-3",
        **ENVELOPE,
        data=ConversationTakenData(agent_id="a-1", conversation_id="c-1", reason="silent"),
    )
    assert project(taken).message == TakenMessage(conversation_id="c-1", reason="silent", at=T0)

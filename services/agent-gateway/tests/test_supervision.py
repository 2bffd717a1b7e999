"""A supervisor's actions as events: checks that refuse precisely, the actor on every event, whispers on
the agent's desk only."""

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from relais_agent_gateway.auth import Agent
from relais_agent_gateway.domain.figures import sample
from relais_agent_gateway.domain.inbox import project
from relais_agent_gateway.domain.supervision import (
    Conflict,
    Invalid,
    MoveRequest,
    PresenceRequest,
    Routing,
    TakeBackRequest,
    Unknown,
    WhisperRequest,
    move_requested,
    presence_set,
    take_back_requested,
    whisper_added,
)
from relais_agent_gateway.protocol import StatusMessage, TakenMessage, WhisperMessage
from relais_contracts import decode, topics
from relais_contracts.agents import (
    AgentStatusChanged,
    AgentStatusChangedData,
    ConversationTaken,
    ConversationTakenData,
)
from relais_contracts.conversation import Actor, WhisperAdded
from relais_contracts.routing import (
    SupervisorMoveRequested,
    SupervisorPresenceSet,
    SupervisorTakeBackRequested,
)

pytestmark = pytest.mark.unit

AT = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
SAM = Agent(id="sam", tenant="acme", name="Sam", roles=("agent", "supervisor"), expires_at=2_000_000_000)
ROUTING = Routing(
    state="assigned",
    assignee="a1",
    queues=frozenset({"general", "billing"}),
    agents=frozenset({"a1", "a2"}),
    away_reasons=("break", "training"),
)


def test_a_move_names_the_supervisor_and_goes_to_the_tenants_routing_partition() -> None:
    out = move_requested(
        SAM, "c1", MoveRequest(to_agent_id="a2", note="VIP"), ROUTING, event_id="e1", time=AT
    )
    assert (out.topic, out.key) == (topics.ROUTING, "acme")
    assert isinstance(out.event, SupervisorMoveRequested)
    assert out.event.data.by == Actor(id="sam", name="Sam")
    assert (out.event.data.conversation_id, out.event.data.to_agent_id, out.event.data.note) == (
        "c1",
        "a2",
        "VIP",
    )
    assert isinstance(decode(out.event.model_dump_json()), SupervisorMoveRequested)  # as the router reads it


@pytest.mark.parametrize(
    ("routing", "request_", "refusal", "says"),
    [
        (Routing(state=None), MoveRequest(to_queue="billing"), Unknown, "no conversation"),
        (Routing(state="bot"), MoveRequest(to_queue="billing"), Conflict, "is bot, not with routing"),
        (ROUTING, MoveRequest(to_queue="nowhere"), Invalid, "no queue 'nowhere'"),
        (ROUTING, MoveRequest(to_agent_id="ghost"), Invalid, "no agent 'ghost'"),
        (ROUTING, MoveRequest(to_agent_id="a1"), Conflict, "is with a1 already"),
    ],
)
def test_a_move_that_cannot_happen_is_refused_with_why(
    routing: Routing, request_: MoveRequest, refusal: type[Exception], says: str
) -> None:
    with pytest.raises(refusal, match=says):
        move_requested(SAM, "c1", request_, routing, event_id="e1", time=AT)


def test_a_move_body_must_name_a_destination_and_nothing_else() -> None:
    with pytest.raises(ValidationError, match="to_queue or to_agent_id"):
        MoveRequest()
    with pytest.raises(ValidationError, match="Extra inputs"):
        MoveRequest.model_validate({"to_queue": "billing", "agent_id": "a1"})


def test_take_back_needs_an_agent_holding_it() -> None:
    out = take_back_requested(SAM, "c1", TakeBackRequest(), ROUTING, event_id="e1", time=AT)
    assert isinstance(out.event, SupervisorTakeBackRequested)
    assert out.event.data.by.id == "sam"
    with pytest.raises(Conflict, match="is waiting: no agent holds it"):
        take_back_requested(SAM, "c1", TakeBackRequest(), Routing(state="waiting"), event_id="e1", time=AT)


def test_presence_is_set_with_one_of_the_tenants_reasons_for_a_known_agent() -> None:
    out = presence_set(
        SAM, "a2", PresenceRequest(presence="away", away_reason="training"), ROUTING, event_id="e", time=AT
    )
    assert isinstance(out.event, SupervisorPresenceSet)
    assert (out.event.data.agent_id, out.event.data.presence, out.event.data.away_reason) == (
        "a2",
        "away",
        "training",
    )
    with pytest.raises(Invalid, match="'nap' is not one of break, training"):
        presence_set(
            SAM, "a2", PresenceRequest(presence="away", away_reason="nap"), ROUTING, event_id="e", time=AT
        )
    with pytest.raises(Unknown, match="no agent 'ghost'"):
        presence_set(SAM, "ghost", PresenceRequest(presence="offline"), ROUTING, event_id="e", time=AT)
    with pytest.raises(ValidationError, match="away reason goes with presence 'away'"):
        PresenceRequest(presence="offline", away_reason="break")
    with pytest.raises(ValidationError, match="presence"):
        PresenceRequest.model_validate({"presence": "available"})


def test_a_whisper_is_for_the_agent_holding_the_conversation_and_reaches_only_their_inbox() -> None:
    out = whisper_added(SAM, "c1", WhisperRequest(text="Offer the refund"), "a1", event_id="w1", time=AT)
    assert (out.topic, out.key) == (topics.CONVERSATIONS, "c1")
    event = out.event
    assert isinstance(event, WhisperAdded)
    assert (event.data.agent_id, event.data.by.name, event.data.text) == ("a1", "Sam", "Offer the refund")

    update = project(event)
    assert update.agent_id == "a1"
    assert isinstance(update.message, WhisperMessage)
    assert update.message.whisper.text == "Offer the refund"
    assert update.message.whisper.by.id == "sam"
    sent = json.loads(update.message.to_json())
    assert sent["type"] == "whisper"
    assert "sealed" not in sent

    with pytest.raises(Conflict, match="nobody to whisper to"):
        whisper_added(SAM, "c1", WhisperRequest(text="hi"), None, event_id="w2", time=AT)


def test_the_desk_is_told_which_supervisor_took_a_conversation_or_set_its_status() -> None:
    envelope = {"id": "x", "source": "relais/router", "time": AT, "tenant": "acme"}
    taken = ConversationTaken(
        **envelope,
        data=ConversationTakenData(
            agent_id="a1", conversation_id="c1", reason="supervisor", by=Actor(id="sam", name="Sam")
        ),
    )
    message = project(taken).message
    assert isinstance(message, TakenMessage)
    assert (message.reason, message.by and message.by.name) == ("supervisor", "Sam")
    status = AgentStatusChanged(
        **envelope,
        data=AgentStatusChangedData(
            agent_id="a1", status="away", reason="break", by=Actor(id="sam", name="Sam")
        ),
    )
    message = project(status).message
    assert isinstance(message, StatusMessage)
    assert (message.status, message.reason, message.by and message.by.id) == ("away", "break", "sam")


def test_a_sample_of_the_figures_counts_the_occupancy_of_the_agents_at_work_only() -> None:
    queues = {
        "as_of": "2026-01-05T10:00:00+00:00",
        "queues": [{"queue": "general", "waiting": 3, "longest_wait_s": 42.26, "service_level": 0.8}],
    }
    agent = {"load": {"chat": 1}, "capacity": {"*": 2}, "total_capacity": None}
    agents = {
        "agents": [
            {**agent, "state": "available"},
            {**agent, "state": "not-responding", "load": {}, "total_capacity": 2, "capacity": {"*": 5}},
            {**agent, "state": "away", "load": {"chat": 2}},  # out of the pool: not counted
        ]
    }
    figures = sample(queues, agents)
    assert figures == {
        "as_of": "2026-01-05T10:00:00+00:00",
        "queues": {"general": {"waiting": 3, "longest_wait_s": 42.3, "service_level": 0.8}},
        "occupancy": 0.25,
    }
    assert sample(queues, {"agents": []})["occupancy"] is None

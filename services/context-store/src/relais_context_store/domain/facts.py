"""Conversation facts: the events of one conversation folded into the record written when it ends.

Pure: `fold(state, event)` takes the conversation's running state and one of its events from the log,
in log order, and returns the new state and the fact to write, if this event ends the conversation. The
same fold runs in the context store's materializer (state in the conversation's view) and in
`relais-facts export --from-log` (state in memory), so a replay or a recomputation gives the same facts,
with the same ids. Times are the events' times, never a clock.

A fact is written at the wrap-up (the router's `released` with reason `completed`) and at the close,
whichever comes first; the other writes a new revision only if the conversation went on in between (the
customer wrote again after the wrap-up, say). Nothing is folded after the close: a message after it
opens another conversation, and the router's late answers to the close change nothing the fact says.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from relais_context_store.domain.resolution import SOURCE
from relais_contracts import derive_key
from relais_contracts.conversation import (
    Assigned,
    ChannelSwitched,
    Closed,
    ConversationEvent,
    CustomerLeft,
    CustomerMessage,
    Dequeued,
    HandoffRequested,
    Offered,
    Opened,
    Queued,
    Reassigned,
    Released,
    ReplyPosted,
    ReturnedToBot,
    Transferred,
)
from relais_contracts.facts import BotOutcome, ConversationFact, ConversationFactData

# Events that change what a fact says; the others (delivery reports, notes, wait updates, clock
# breaches) are not in a fact, so a conversation that only sees them after its fact gets no new one.
_MATERIAL = (
    Opened, CustomerMessage, ChannelSwitched, ReplyPosted, HandoffRequested, Queued, Offered, Assigned,
    Transferred, Reassigned, Released, ReturnedToBot, Dequeued, CustomerLeft,
)  # fmt: skip


_LIST_FIELDS = ("channels", "languages", "queues", "agents")


class FactState(BaseModel):
    """What the fold keeps of a conversation between its events (stored with its view, as JSON)."""

    model_config = ConfigDict(extra="ignore")

    opened_at: datetime | None = None
    channels: list[str] = []
    languages: list[str] = []
    first_customer_at: datetime | None = None
    first_reply_at: datetime | None = None
    handoff_at: datetime | None = None
    handoff_reason: str | None = None
    handoffs: int = 0
    queues: list[str] = []
    first_offer_at: datetime | None = None
    first_assigned_at: datetime | None = None
    first_agent_reply_at: datetime | None = None
    held_since: datetime | None = None  # the current assignment's start
    handle_s: float | None = None
    transfers: int = 0
    reassignments: int = 0
    agents: list[str] = []
    disposition: str | None = None
    waiting: bool = False  # routed and not (yet) with an agent
    abandoned: bool = False
    dequeue_reason: str | None = None
    customer_messages: int = 0
    bot_replies: int = 0
    agent_replies: int = 0
    revision: int = 0  # facts written so far
    changed: bool = False  # something a fact says changed since the last fact
    closed: bool = False


def fold(state: FactState, event: ConversationEvent) -> tuple[FactState, ConversationFact | None]:
    """The state after `event`, and the fact it writes (when it ends the conversation), if any."""
    if state.closed:
        return state, None
    # A shallow copy with its own lists: the caller's state is left as it was, at a tenth of a deep copy.
    s = state.model_copy(update={k: list(getattr(state, k)) for k in _LIST_FIELDS})
    at = event.time
    if isinstance(event, _MATERIAL):
        s.changed = True
    match event:
        case Opened(data=d):
            s.opened_at = at
            _add(s.channels, d.channel)
        case CustomerMessage(data=d):
            s.customer_messages += 1
            s.first_customer_at = s.first_customer_at or at
            _add(s.channels, d.channel)
            if d.language:
                _add(s.languages, d.language)
        case ChannelSwitched(data=d):
            _add(s.channels, d.channel)
        case ReplyPosted(data=d):
            if s.first_customer_at is not None and s.first_reply_at is None:
                s.first_reply_at = at
            if d.author.kind == "bot":
                s.bot_replies += 1
            else:
                s.agent_replies += 1
                if s.first_assigned_at is not None and s.first_agent_reply_at is None:
                    s.first_agent_reply_at = at
        case HandoffRequested(data=d):
            s.handoffs += 1
            s.handoff_at = s.handoff_at or at
            s.handoff_reason = s.handoff_reason or d.packet.reason
            if d.packet.language:
                _add(s.languages, d.packet.language)
            s.waiting = True
        case Queued(data=d):
            s.handoff_at = s.handoff_at or at  # routed with no handover on the log (a transfer's target)
            if not s.queues or s.queues[-1] != d.queue:
                s.queues.append(d.queue)
            s.waiting = True
        case Offered():
            s.first_offer_at = s.first_offer_at or at
        case Assigned(data=d):
            s.first_assigned_at = s.first_assigned_at or at
            _add(s.agents, d.agent_id)
            _hold(s, at)
            s.waiting = False
        case Transferred():
            s.transfers += 1
            _release(s, at)
            s.waiting = True
        case Reassigned():
            s.reassignments += 1
            _release(s, at)
            s.waiting = True
        case Released(data=d):
            _release(s, at)
            if d.reason == "completed":
                s.disposition = d.disposition
                return _write(s, event, "wrap-up")
        case ReturnedToBot():
            _release(s, at)
            s.waiting = False
        case Dequeued(data=d):
            s.dequeue_reason = d.reason
            s.abandoned = s.abandoned or d.reason == "customer-left"
            s.waiting = False
        case CustomerLeft():
            s.abandoned = s.abandoned or s.waiting
        case Closed():
            _release(s, at)
            s.abandoned = s.abandoned or s.waiting
            s.closed = True
            if s.changed or s.revision == 0:
                return _write(s, event, "close")
    return s, None


def _add(values: list[str], value: str) -> None:
    if value not in values:
        values.append(value)


def _hold(s: FactState, at: datetime) -> None:
    if s.held_since is None:
        s.held_since = at
        s.handle_s = s.handle_s or 0.0


def _release(s: FactState, at: datetime) -> None:
    if s.held_since is not None:
        s.handle_s = (s.handle_s or 0.0) + max(0.0, (at - s.held_since).total_seconds())
        s.held_since = None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    # An event stamped before an earlier one on the log (two producers' clocks) counts as no time.
    return max(0.0, (end - start).total_seconds())


def _write(
    s: FactState, event: ConversationEvent, ended_by: Literal["wrap-up", "close"]
) -> tuple[FactState, ConversationFact]:
    s.revision += 1
    s.changed = False
    fact = ConversationFact(
        # From the conversation and the revision alone: a replay, a rebuild or `--from-log` writes the
        # same id, and readers keep one record per id.
        id=derive_key(event.tenant, "fact", event.subject, str(s.revision)),
        source=SOURCE,
        time=event.time,
        tenant=event.tenant,
        subject=event.subject,
        correlationid=event.correlationid,
        causationid=event.id,
        data=ConversationFactData(
            conversation_id=event.subject,
            revision=s.revision,
            ended_by=ended_by,
            opened_at=s.opened_at,
            closed_at=event.time,
            channels=tuple(s.channels),
            languages=tuple(s.languages),
            handed_over=s.handoffs > 0,
            bot_outcome=_bot_outcome(s),
            handoff_reason=s.handoff_reason,
            handoffs=s.handoffs,
            queue=s.queues[0] if s.queues else None,
            queues=tuple(s.queues),
            wait_to_offer_s=_seconds(s.handoff_at, s.first_offer_at),
            wait_to_accept_s=_seconds(s.handoff_at, s.first_assigned_at),
            first_response_s=_seconds(s.first_customer_at, s.first_reply_at),
            agent_first_response_s=_seconds(s.first_assigned_at, s.first_agent_reply_at),
            handle_s=s.handle_s,
            transfers=s.transfers,
            reassignments=s.reassignments,
            agents=tuple(s.agents),
            disposition=s.disposition,
            abandoned=s.abandoned,
            dequeue_reason=s.dequeue_reason,
            customer_messages=s.customer_messages,
            bot_replies=s.bot_replies,
            agent_replies=s.agent_replies,
        ),
    )
    return s, fact


def _bot_outcome(s: FactState) -> BotOutcome:
    if s.handoffs:
        return "handed-over"
    return "contained" if s.bot_replies else "unanswered"


class Recomputation:
    """The fold over many conversations at once, from the conversation log in its order, in memory:
    what `relais-facts export --from-log` runs to recompute facts with the current definition.

    Like the materializer, it folds an event id once per conversation (a replay after a crash leaves
    duplicates on the log) and skips what is not a conversation's event (the customer identity events).
    A closed conversation keeps only its id here: nothing after the close is folded anyway.
    """

    def __init__(self) -> None:
        self._states: dict[tuple[str, str], FactState] = {}
        self._seen: dict[tuple[str, str], set[str]] = {}
        self._closed: set[tuple[str, str]] = set()

    def add(self, event: object) -> ConversationFact | None:
        if not isinstance(event, ConversationEvent):
            return None
        conversation = (event.tenant, event.subject)
        if conversation in self._closed:
            return None
        seen = self._seen.setdefault(conversation, set())
        if event.uid in seen:
            return None
        seen.add(event.uid)
        state, fact = fold(self._states.get(conversation) or FactState(), event)
        if state.closed:
            self._closed.add(conversation)
            self._states.pop(conversation, None)
            self._seen.pop(conversation, None)
        else:
            self._states[conversation] = state
        return fact

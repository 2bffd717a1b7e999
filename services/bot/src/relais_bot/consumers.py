"""The bot's handler of the conversation log: decide per event, publish, then save state.

If the core fails on a customer message (an exception, or no decision within the timeout), the
conversation goes to a person with the reason "bot-failure": the customer never meets silence.

For tenants that seal customer text on the log, messages (and replies, which the transcript keeps) are
opened here, before the core, and the bot's replies and the packets of its hand-offs leave sealed in the
customer's key; an erased customer's bot state is deleted.
"""

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog

from relais_bot.adapters.state import BotStates, Conversation
from relais_bot.domain.policy import Bot, BotState, Decision
from relais_bot.metrics import HANDOFFS, MESSAGES
from relais_contracts import Outgoing
from relais_contracts.conversation import ConversationEvent, CustomerMessage, ReplyPosted
from relais_contracts.customers import CustomerErased
from relais_platform.consumer import Delivery
from relais_platform.kafka import Publishes
from relais_platform.logs import bound_to
from relais_platform.sealing import (
    CustomerKeys,
    seal_handoffs,
    seal_replies,
    unseal_messages,
    unseal_replies,
)

log = structlog.get_logger(__name__)


class ConversationHandler:
    def __init__(
        self, bot: Bot, states: BotStates, keys: CustomerKeys, publisher: Publishes, timeout_s: float
    ) -> None:
        self._bot = bot
        self._states = states
        self._keys = keys
        self._publisher = publisher
        self._timeout_s = timeout_s

    async def __call__(self, batch: Sequence[Delivery]) -> None:
        for erased in (d.event for d in batch if isinstance(d.event, CustomerErased)):
            await self._states.erase(erased.tenant, erased.data.conversation_ids)
        events: list[ConversationEvent] = [d.event for d in batch if isinstance(d.event, ConversationEvent)]
        messages_in = [e for e in events if isinstance(e, CustomerMessage)]
        replies = [e for e in events if isinstance(e, ReplyPosted) and e.data.sealed]
        # Only what was sealed comes back as a new event: the rest is left in place (no uid computed).
        opened: dict[int, ConversationEvent] = {
            id(was): now
            for was, now in zip(messages_in, await unseal_messages(self._keys, messages_in), strict=True)
            if now is not was
        }
        opened.update(
            (id(was), now)
            for was, now in zip(replies, await unseal_replies(self._keys, replies), strict=True)
            if now is not was
        )
        if opened:
            events = [opened.get(id(e), e) for e in events]
        keyed = [((e.tenant, e.subject), e.uid) for e in events]
        done, states = await self._states.load_batch(keyed)
        changed: set[Conversation] = set()
        applied: list[tuple[Conversation, str]] = []
        outgoing: list[Outgoing] = []
        decisions: list[tuple[ConversationEvent, Decision]] = []
        todo: list[tuple[Conversation, ConversationEvent]] = []
        # Counted per batch, one labels() lookup per kind (it validates and locks), not one per message.
        messages: Counter[tuple[str, str, str]] = Counter()
        handoffs: Counter[tuple[str, str]] = Counter()
        for event, (conversation, event_id) in zip(events, keyed, strict=True):
            if event_id in done:
                if isinstance(event, CustomerMessage):
                    messages[(event.tenant, states[conversation].language or "unknown", "ignored")] += 1
                continue  # a replay or a duplicate: already answered
            done.add(event_id)
            todo.append((conversation, event))
            applied.append((conversation, event_id))
        for (conversation, event), decision in zip(todo, await self._decide_all(states, todo), strict=True):
            changed.add(conversation)
            outgoing += decision.outputs
            decisions.append((event, decision))
        # Publish before saving: after a crash in between, the replay re-derives the same output ids.
        customers = {c: customer for c in changed if (customer := states[c].customer_id)}
        outgoing = await seal_replies(self._keys, await seal_handoffs(self._keys, outgoing), customers)
        await self._publisher.publish(outgoing)
        await self._states.save({c: states[c] for c in changed}, applied)
        for event, decision in decisions:
            if decision.outcome:
                messages[(event.tenant, decision.state.language or "unknown", decision.outcome)] += 1
            if decision.reason:
                handoffs[(event.tenant, decision.reason)] += 1
        for (tenant, language, outcome), n in messages.items():
            MESSAGES.labels(tenant, language, outcome).inc(n)
        for (tenant, reason), n in handoffs.items():
            HANDOFFS.labels(tenant, reason).inc(n)

    async def _decide_all(
        self, states: dict[Conversation, BotState], todo: list[tuple[Conversation, ConversationEvent]]
    ) -> list[Decision]:
        """Decide the batch's events in order, each on the state the previous one left, updating `states`.

        The decisions run in one worker thread per batch (not one per message: handing each message to a
        thread and back cost more than most decisions), so that a decision stuck in a model cannot hold
        the consumer: a customer message with no decision `timeout_s` after it was due fails over, and
        the events after it are decided in a new thread.
        """
        decisions: list[Decision] = []
        while len(decisions) < len(todo):
            run = _Run(todo[len(decisions) :])
            job = asyncio.ensure_future(asyncio.to_thread(self._decide_in_thread, states, run))
            # An abandoned run may still fail later; its outcome is of no interest then.
            job.add_done_callback(lambda f: f.cancelled() or f.exception())
            while True:
                with run.lock:
                    due = run.began + self._timeout_s - time.monotonic()
                    if due <= 0:
                        run.abandoned = True
                        decisions += run.decided
                        break
                finished, _ = await asyncio.wait({job}, timeout=due)
                if finished:
                    job.result()  # an exception on an event other than a customer message: a bad event
                    return decisions + run.decided
            conversation, event = todo[len(decisions)]
            with bound_to(event):
                log.error("bot gave no decision in time, handing the conversation over")
            decision = self._bot.fail_over(states[conversation], event)
            states[conversation] = decision.state
            decisions.append(decision)
        return decisions

    def _decide_in_thread(self, states: dict[Conversation, BotState], run: "_Run") -> None:
        for conversation, event in run.todo:
            with run.lock:
                if run.abandoned:
                    return
                run.began = time.monotonic()
            # No logging context bound per event here: it cost more than a quick decision (profile of
            # bench-pipeline), and _decide binds it where it logs.
            decision = self._decide(states[conversation], event)
            with run.lock:
                if run.abandoned:  # too late: the event failed over meanwhile
                    return
                states[conversation] = decision.state
                run.decided.append(decision)

    def _decide(self, state: BotState, event: ConversationEvent) -> Decision:
        if not isinstance(event, CustomerMessage):
            return self._bot.decide(state, event)  # no model runs: a failure here is a bad event
        try:
            return self._bot.decide(state, event)
        except Exception as exc:
            with bound_to(event):
                log.error("bot failed on a message, handing the conversation over", exc_info=exc)
            return self._bot.fail_over(state, event)


@dataclass
class _Run:
    """One worker thread's share of a batch: the events, the decisions made, when the current one began."""

    todo: list[tuple[Conversation, ConversationEvent]]
    decided: list[Decision] = field(default_factory=list)
    began: float = field(default_factory=time.monotonic)
    abandoned: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

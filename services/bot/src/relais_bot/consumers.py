"""The bot's handler of the conversation log: decide per event, publish, then save state.

If the core fails on a customer message (an exception, or no decision within the timeout), the
conversation goes to a person with the reason "bot-failure": the customer never meets silence.

For tenants that seal customer text on the log, messages (and replies, which the transcript keeps) are
opened here, before the core, and the bot's replies and the packets of its hand-offs leave sealed in the
customer's key; an erased customer's bot state is deleted.
"""

import asyncio
from collections.abc import Sequence

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
        opened: dict[str, ConversationEvent] = {
            m.uid: m
            for m in await unseal_messages(self._keys, [e for e in events if isinstance(e, CustomerMessage)])
        }
        replies = [e for e in events if isinstance(e, ReplyPosted) and e.data.sealed]
        opened.update((r.uid, r) for r in await unseal_replies(self._keys, replies))
        events = [opened.get(e.uid, e) for e in events]
        keyed = [((e.tenant, e.subject), e.uid) for e in events]
        done = await self._states.applied(keyed)
        states = await self._states.load(c for c, _ in keyed)
        changed: set[Conversation] = set()
        applied: list[tuple[Conversation, str]] = []
        outgoing: list[Outgoing] = []
        decisions: list[tuple[ConversationEvent, Decision]] = []
        for event, (conversation, event_id) in zip(events, keyed, strict=True):
            if event_id in done:
                if isinstance(event, CustomerMessage):
                    MESSAGES.labels(event.tenant, states[conversation].language or "unknown", "ignored").inc()
                continue  # a replay or a duplicate: already answered
            done.add(event_id)
            with bound_to(event):
                decision = await self._decide(states[conversation], event)
            states[conversation] = decision.state
            changed.add(conversation)
            applied.append((conversation, event_id))
            outgoing += decision.outputs
            decisions.append((event, decision))
        # Publish before saving: after a crash in between, the replay re-derives the same output ids.
        customers = {c: customer for c in changed if (customer := states[c].customer_id)}
        outgoing = await seal_replies(self._keys, await seal_handoffs(self._keys, outgoing), customers)
        await self._publisher.publish(outgoing)
        await self._states.save({c: states[c] for c in changed}, applied)
        for event, decision in decisions:
            if decision.outcome:
                MESSAGES.labels(event.tenant, decision.state.language or "unknown", decision.outcome).inc()
            if decision.reason:
                HANDOFFS.labels(event.tenant, decision.reason).inc()

    async def _decide(self, state: BotState, event: ConversationEvent) -> Decision:
        if not isinstance(event, CustomerMessage):
            return self._bot.decide(state, event)  # no model runs: cheap, and a failure here is a bad event
        try:
            # In a worker thread so that a decision stuck in a model cannot hold the whole consumer.
            return await asyncio.wait_for(asyncio.to_thread(self._bot.decide, state, event), self._timeout_s)
        except Exception as exc:
            log.error("bot failed on a message, handing the conversation over", exc_info=exc)
            return self._bot.fail_over(state, event)

"""The bot's handler of the conversation log: decide per event, publish, then save state."""

from collections.abc import Sequence

from relais_bot.adapters.state import BotStates, Conversation
from relais_bot.domain.policy import decide
from relais_contracts import Outgoing
from relais_contracts.conversation import ConversationEvent
from relais_platform.consumer import Delivery
from relais_platform.kafka import Publishes
from relais_platform.logs import bound_to


class ConversationHandler:
    def __init__(self, states: BotStates, publisher: Publishes) -> None:
        self._states = states
        self._publisher = publisher

    async def __call__(self, batch: Sequence[Delivery]) -> None:
        events = [d.event for d in batch if isinstance(d.event, ConversationEvent)]
        keyed = [((e.tenant, e.subject), e.id) for e in events]
        done = await self._states.applied(keyed)
        states = await self._states.load(c for c, _ in keyed)
        changed: set[Conversation] = set()
        applied: list[tuple[Conversation, str]] = []
        outgoing: list[Outgoing] = []
        for event, (conversation, event_id) in zip(events, keyed, strict=True):
            if event_id in done:
                continue  # a replay or a duplicate: already answered
            done.add(event_id)
            with bound_to(event):
                states[conversation], outputs = decide(states[conversation], event)
            changed.add(conversation)
            applied.append((conversation, event_id))
            outgoing += outputs
        # Publish before saving: after a crash in between, the replay re-derives the same output ids.
        await self._publisher.publish(outgoing)
        await self._states.save({c: states[c] for c in changed}, applied)

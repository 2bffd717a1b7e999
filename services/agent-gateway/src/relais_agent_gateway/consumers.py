"""The inbox consumer: agent and conversation events become entries in the agents' inboxes.

All replicas share one consumer group: each event is projected once into Redis, and whichever
replica holds an agent's socket reads it from there.
"""

from collections.abc import Sequence

from relais_agent_gateway.domain.inbox import FOLLOWED, project
from relais_agent_gateway.views import DeskViews
from relais_contracts import topics
from relais_platform.consumer import Delivery

TOPICS = (topics.AGENTS, topics.CONVERSATIONS)


class InboxProjector:
    def __init__(self, views: DeskViews) -> None:
        self._views = views

    async def handle(self, deliveries: Sequence[Delivery]) -> None:
        # One event at a time, in order: an assignment must be written before the conversation's
        # next message looks it up.
        for delivery in deliveries:
            event = delivery.event
            assignee = (
                await self._views.assignee(event.tenant, event.conversation_id)
                if isinstance(event, FOLLOWED)
                else None
            )
            await self._views.apply(event.tenant, event.id, project(event, assignee))

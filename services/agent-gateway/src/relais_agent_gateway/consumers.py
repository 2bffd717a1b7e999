"""The inbox consumer: agent and conversation events become entries in the agents' inboxes; an erased
customer's entries leave them.

All replicas share one consumer group: each event is projected once into Redis, and whichever
replica holds an agent's socket reads it from there.
"""

from collections.abc import Sequence

import structlog

from relais_agent_gateway.domain.inbox import FOLLOWED, project
from relais_agent_gateway.views import DeskViews
from relais_contracts import topics
from relais_contracts.customers import CustomerErased
from relais_platform.consumer import Delivery
from relais_platform.logs import bound_to

log = structlog.get_logger(__name__)

TOPICS = (topics.AGENTS, topics.CONVERSATIONS)


class InboxProjector:
    def __init__(self, views: DeskViews) -> None:
        self._views = views

    async def handle(self, deliveries: Sequence[Delivery]) -> None:
        """Project a batch in order, in two Redis round trips whatever its size: one read of the
        assignments its conversation events need, one pipeline of writes."""
        events = [d.event for d in deliveries]
        followed = list(
            dict.fromkeys((e.tenant, e.conversation_id) for e in events if isinstance(e, FOLLOWED))
        )
        # The batch's own assignments and releases apply to the events after them, as in the log.
        assignees = await self._views.assignees(followed)
        updates = []
        for event in events:
            conversation = (event.tenant, event.conversation_id) if isinstance(event, FOLLOWED) else None
            update = project(event, assignees.get(conversation) if conversation else None)
            if update.assignment:
                assignees[(event.tenant, update.assignment[0])] = update.assignment[1]
            if (
                update.unassignment
                and assignees.get((event.tenant, update.unassignment[0])) == update.unassignment[1]
            ):
                del assignees[(event.tenant, update.unassignment[0])]
            updates.append((event.tenant, event.uid, update))
        await self._views.apply_all(updates)
        # After the batch's pushes, so an entry of an erased conversation pushed just before is dropped too.
        for erased in (e for e in events if isinstance(e, CustomerErased)):
            dropped = await self._views.erase_conversations(erased.tenant, erased.data.conversation_ids)
            with bound_to(erased):
                log.info("erased customer's inbox entries dropped", entries=dropped)

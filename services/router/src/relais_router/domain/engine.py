"""The routing decisions: `apply(state, event)` returns the tenant's next state and the events to publish.

Pure and deterministic: time comes from the event, ids are derived from the event id, and nothing
iterates a set or depends on dict order, so replaying the same events gives the same state and outputs.
"""

from datetime import UTC, datetime
from typing import Any

from relais_contracts import Event, Outgoing, derive_key, topics
from relais_contracts.agents import OfferCreated, OfferCreatedData, OfferRescinded, OfferRescindedData
from relais_contracts.conversation import (
    Assigned,
    AssignedData,
    ConversationEvent,
    Offered,
    OfferedData,
    Queued,
    QueuedData,
)
from relais_contracts.envelope import CloudEvent
from relais_contracts.routing import (
    OfferAccepted,
    OfferRejected,
    PresenceChanged,
    WorkCompleted,
    WorkSubmitted,
)
from relais_router.domain.model import Agent, Assignment, Offer, RouterState, WorkItem

SOURCE = "relais/router"

# Sorts before any real assignment time: an agent never assigned has been idle the longest.
_NEVER = datetime.min.replace(tzinfo=UTC)


def apply(state: RouterState, event: Event) -> tuple[RouterState, list[Outgoing]]:
    """Apply one routing event; events the router does not handle leave the state as it is."""
    if event.tenant != state.tenant:
        raise ValueError(f"event of tenant {event.tenant!r} applied to the state of {state.tenant!r}")
    step = _Step(state, event)
    match event:
        case WorkSubmitted():
            step.submit(event)
        case PresenceChanged():
            step.presence_changed(event)
        case OfferAccepted():
            step.accept(event)
        case OfferRejected():
            step.reject(event)
        case WorkCompleted():
            step.complete(event)
        case _:
            return state, []
    return step.state(), step.outputs


class _Step:
    """A working copy of one tenant's state while one event is applied, and the outputs in order.

    Containers are copied shallowly and their frozen elements replaced, never changed, so the input
    state is left untouched without a deep copy of every packet and transcript.
    """

    def __init__(self, state: RouterState, event: CloudEvent) -> None:
        self.event = event
        self.tenant = state.tenant
        self.agents = dict(state.agents)
        self.queue = list(state.queue)
        self.offers = dict(state.offers)
        self.assignments = dict(state.assignments)
        self.outputs: list[Outgoing] = []

    def state(self) -> RouterState:
        return RouterState(
            tenant=self.tenant,
            agents=self.agents,
            queue=tuple(self.queue),
            offers=self.offers,
            assignments=self.assignments,
        )

    # --- event handlers -------------------------------------------------------------------------

    def submit(self, event: WorkSubmitted) -> None:
        d = event.data
        if self._holds(d.conversation_id):
            return  # already waiting, offered or assigned: a second handoff changes nothing
        item = WorkItem(
            conversation_id=d.conversation_id, channel=d.channel, packet=d.packet, enqueued_at=event.time
        )
        self.queue.append(item)
        self._emit_queued(item, len(self.queue))
        self._match()

    def presence_changed(self, event: PresenceChanged) -> None:
        d = event.data
        known = self.agents.get(d.agent_id)
        self.agents[d.agent_id] = Agent(
            id=d.agent_id,
            name=d.name if d.name is not None else (known.name if known else None),
            presence=d.presence,
            capacity=dict(sorted(d.capacity.items())),
            skills=dict(sorted(d.skills.items())),
            languages=d.languages,
            load=known.load if known else {},
            last_assigned_at=known.last_assigned_at if known else None,
        )
        if d.presence != "available":
            # An agent who stepped away cannot answer: their offers go back to the head of the queue
            # (they waited longest), for another agent to take. Their assignments stay theirs.
            mine = sorted(
                (o for o in self.offers.values() if o.agent_id == d.agent_id),
                key=lambda o: (o.item.enqueued_at, o.conversation_id),
            )
            for offer in mine:
                self._close(offer)
                self._emit(
                    OfferRescinded,
                    topics.AGENTS,
                    offer.agent_id,
                    OfferRescindedData(
                        offer_id=offer.offer_id,
                        agent_id=offer.agent_id,
                        conversation_id=offer.conversation_id,
                        reason=f"agent {d.presence}",
                    ),
                    subject=offer.conversation_id,
                )
            self._requeue_front([o.item for o in mine])
        self._match()

    def accept(self, event: OfferAccepted) -> None:
        offer = self._answered_offer(event)
        if offer is None or offer.conversation_id in self.assignments:
            return
        self._close(offer, keep_load=True)  # the offered slot becomes the assigned one
        agent = self.agents[offer.agent_id].model_copy(update={"last_assigned_at": event.time})
        self.agents[agent.id] = agent
        self.assignments[offer.conversation_id] = Assignment(
            conversation_id=offer.conversation_id,
            agent_id=agent.id,
            channel=offer.item.channel,
            offer_id=offer.offer_id,
            assigned_at=event.time,
        )
        self._emit(
            Assigned,
            topics.CONVERSATIONS,
            offer.conversation_id,
            AssignedData(offer_id=offer.offer_id, agent_id=agent.id, agent_name=agent.name),
        )

    def reject(self, event: OfferRejected) -> None:
        offer = self._answered_offer(event)
        if offer is None:
            return
        self._close(offer)
        self._requeue_front([offer.item.declined(offer.agent_id)])
        self._match()

    def complete(self, event: WorkCompleted) -> None:
        d = event.data
        assignment = self.assignments.get(d.conversation_id)
        if assignment is None or assignment.agent_id != d.agent_id:
            return  # not this agent's conversation (or already completed): nothing to free
        del self.assignments[d.conversation_id]
        self._free(assignment.agent_id, assignment.channel)
        self._match()

    # --- matching -------------------------------------------------------------------------------

    def _match(self) -> None:
        """Offer waiting items, oldest first, each to the best eligible agent.

        An item nobody can take now does not block the younger ones behind it: an offer only adds
        load, so a later offer can never make an item skipped earlier in this pass eligible.
        """
        waiting = []
        for item in self.queue:
            agent = self._best_agent(item)
            if agent is None:
                waiting.append(item)
            else:
                self._offer(item, agent)
        self.queue = waiting

    def _best_agent(self, item: WorkItem) -> Agent | None:
        eligible = [
            a
            for a in self.agents.values()
            if a.presence == "available" and a.id not in item.declined_by and a.has_room_for(item.channel)
        ]
        # The agent id makes the key total, so the choice never depends on the dict's order.
        return min(
            eligible,
            key=lambda a: (a.total_load, a.last_assigned_at or _NEVER, a.id),
            default=None,
        )

    def _offer(self, item: WorkItem, agent: Agent) -> None:
        offer_id = derive_key("offer", self.tenant, item.conversation_id, self.event.id)
        self.offers[offer_id] = Offer(
            offer_id=offer_id, agent_id=agent.id, item=item, offered_at=self.event.time
        )
        self.agents[agent.id] = agent.with_load(item.channel, +1)
        self._emit(
            OfferCreated,
            topics.AGENTS,
            agent.id,
            OfferCreatedData(
                offer_id=offer_id,
                agent_id=agent.id,
                conversation_id=item.conversation_id,
                channel=item.channel,
                packet=item.packet,
            ),
            subject=item.conversation_id,
        )
        self._emit(
            Offered,
            topics.CONVERSATIONS,
            item.conversation_id,
            OfferedData(offer_id=offer_id, agent_id=agent.id),
        )

    # --- bookkeeping ----------------------------------------------------------------------------

    def _holds(self, conversation_id: str) -> bool:
        return (
            conversation_id in self.assignments
            or any(o.conversation_id == conversation_id for o in self.offers.values())
            or any(i.conversation_id == conversation_id for i in self.queue)
        )

    def _answered_offer(self, event: OfferAccepted | OfferRejected) -> Offer | None:
        """The open offer an answer is about, or None for a stale, unknown or someone else's offer."""
        d = event.data
        offer = self.offers.get(d.offer_id)
        if offer is None or offer.agent_id != d.agent_id or offer.conversation_id != d.conversation_id:
            return None
        return offer

    def _close(self, offer: Offer, *, keep_load: bool = False) -> None:
        del self.offers[offer.offer_id]
        if not keep_load:
            self._free(offer.agent_id, offer.item.channel)

    def _free(self, agent_id: str, channel: str) -> None:
        agent = self.agents.get(agent_id)
        if agent is not None:
            self.agents[agent_id] = agent.with_load(channel, -1)

    def _requeue_front(self, items: list[WorkItem]) -> None:
        self.queue[:0] = items
        for position, item in enumerate(items, start=1):
            # The conversation was "offered": tell it it waits again, and where.
            self._emit_queued(item, position)

    def _emit_queued(self, item: WorkItem, position: int) -> None:
        self._emit(
            Queued,
            topics.CONVERSATIONS,
            item.conversation_id,
            QueuedData(queue=item.packet.queue, position=position, enqueued_at=item.enqueued_at),
        )

    def _emit(
        self, kind: type[CloudEvent], topic: str, key: str, data: Any, *, subject: str | None = None
    ) -> None:
        if issubclass(kind, ConversationEvent):
            subject = key
        envelope = self.event.follow(len(self.outputs), source=SOURCE, subject=subject, data=data)
        self.outputs.append(Outgoing(topic, key, kind(**envelope)))

"""The routing decisions for one tenant: `TenantRouter.apply(event)` returns the events to publish.

A deterministic state machine: time comes from events (timers fire when an event's time passes their
deadline; the shell writes `timer.tick` events to the routing topic when nothing else arrives), output
ids are derived from the input event id, and every choice is made on a total order, never on dict or
set order. Replaying the same events from the same state gives the same state and the same outputs.

Matching is work conserving: after every event, no available agent with free capacity is eligible for
a waiting item. Only two things can create such a pair (work arriving, capacity or eligibility
appearing) and each triggers the matching for exactly the item or the agent concerned.
"""

from collections import OrderedDict, deque
from datetime import UTC, datetime
from typing import Any, Literal

from relais_contracts import Event, Outgoing, derive_key, topics
from relais_contracts.agents import (
    AgentStatusChanged,
    AgentStatusChangedData,
    ConversationTaken,
    ConversationTakenData,
    OfferCreated,
    OfferCreatedData,
    OfferRescinded,
    OfferRescindedData,
)
from relais_contracts.conversation import (
    Actor,
    Assigned,
    AssignedData,
    ConversationEvent,
    Dequeued,
    DequeuedData,
    Offered,
    OfferedData,
    Queued,
    QueuedData,
    Reassigned,
    ReassignedData,
    Released,
    ReleasedData,
    ReturnedToBot,
    ReturnedToBotData,
    Transferred,
    TransferredData,
    WaitUpdated,
    WaitUpdatedData,
)
from relais_contracts.envelope import CloudEvent
from relais_contracts.routing import (
    AgentReplied,
    CustomerWrote,
    OfferAccepted,
    OfferRejected,
    PresenceChanged,
    QueuesConfigured,
    SupervisorMoveRequested,
    SupervisorPresenceSet,
    SupervisorTakeBackRequested,
    TimerTick,
    TransferRequested,
    WorkCancelled,
    WorkCompleted,
    WorkSubmitted,
)
from relais_router.domain import clocks, timers
from relais_router.domain.business_time import Schedule, schedule_of
from relais_router.domain.config import RoutingConfig
from relais_router.domain.eligibility import Eligibility, WorkClass, language_of
from relais_router.domain.model import Agent, Assignment, Offer, WorkItem
from relais_router.domain.statistics import QueueStatistics
from relais_router.domain.timers import Timers
from relais_router.domain.view import TenantView, build_view

SOURCE = "relais/router"
# Event ids remembered to drop a redelivered event (a producer retry, a replayed upstream service).
DEDUPE_WINDOW = 20_000
# Customers whose last agent is remembered for sticky routing (the oldest are forgotten first).
STICKY_CUSTOMERS = 100_000

# A metric fact for the shell: ("offers", queue, outcome) or (a duration's name, queue, seconds).
Fact = tuple[str, str, str | float]


class TenantRouter:
    """Everything the router knows about one tenant, and the decisions taken on it."""

    def __init__(self, tenant: str, config: RoutingConfig | None = None) -> None:
        self.tenant = tenant
        self.config = config or RoutingConfig()
        self.config_digest = ""  # of the last `queues.configured` applied
        self.clock = 0.0
        self.agents: dict[str, Agent] = {}
        self.waiting: dict[str, WorkItem] = {}
        self.offers: dict[str, Offer] = {}
        self.assignments: dict[str, Assignment] = {}
        self.timers = Timers()
        self.stats = QueueStatistics()
        self.last_agent: dict[str, tuple[str, float]] = {}  # customer -> (agent, when assigned)
        # Oldest first. An OrderedDict, not a dict: dropping a dict's first key again and again makes
        # every `next(iter(...))` skip the slots freed before it (20 us an event at this window).
        self.seen: OrderedDict[str, None] = OrderedDict()
        # Facts for the shell's metrics; it drains them after each batch.
        self.facts: list[Fact] = []
        self._event: CloudEvent | None = None
        self._outputs: list[Outgoing] = []
        self.rebuild_indexes()

    def rebuild_indexes(self) -> None:
        """Derive the indexes from the state (after a snapshot load or a reconfiguration)."""
        self.indexes = Eligibility(self.config, self.agents)
        self._schedules: dict[str, Schedule | None] = {}  # queue -> its open time, from the config
        self._offer_of: dict[str, str] = {o.item.conversation_id: o.offer_id for o in self.offers.values()}
        for item in self.waiting.values():
            self.indexes.index(item, self.clock)

    def _class_for(self, item: WorkItem) -> WorkClass:
        return self.indexes.class_for(item)

    def schedule(self, queue: str) -> Schedule | None:
        """The queue's open time (hours and calendar), or None when it is always open."""
        if queue not in self._schedules:
            self._schedules[queue] = schedule_of(self.config, queue)
        return self._schedules[queue]

    # --- applying events --------------------------------------------------------------------------

    def apply(self, event: Event, at: float | None = None) -> list[Outgoing]:
        """Apply one routing event; events the router does not handle change nothing.

        `at` is the router's time for it: the broker's log time of its record (the shell passes it),
        never the sender's `time`, which is data. A replay reads the same log times, so it decides the
        same. Without `at` (tests of the core), the event's time stands in.
        """
        if event.tenant != self.tenant:
            raise ValueError(f"event of tenant {event.tenant!r} applied to the router of {self.tenant!r}")
        if event.uid in self.seen:
            return []
        # Checked before anything changes: a configuration the core refuses leaves the state as it was.
        config = (
            RoutingConfig.model_validate(event.data.config) if isinstance(event, QueuesConfigured) else None
        )
        self._event = event
        self._outputs = []
        self.clock = max(self.clock, event.time.timestamp() if at is None else at)
        timers.fire_due(self)
        match event:
            case WorkSubmitted():
                self._submit(event)
            case PresenceChanged():
                self._presence(event)
            case OfferAccepted():
                self._accept(event)
            case OfferRejected():
                self._reject(event)
            case WorkCompleted():
                self._complete(event)
            case WorkCancelled():
                self._cancel(event)
            case TransferRequested():
                self._transfer(event)
            case SupervisorMoveRequested():
                self._supervisor_move(event)
            case SupervisorTakeBackRequested():
                self._supervisor_take_back(event)
            case SupervisorPresenceSet():
                self._supervisor_presence(event)
            case AgentReplied():
                assignment = self.assignments.get(event.data.conversation_id)
                if assignment is not None and assignment.agent_id == event.data.agent_id:
                    clocks.replied(self, assignment)
            case CustomerWrote():
                if (assignment := self.assignments.get(event.data.conversation_id)) is not None:
                    clocks.customer_wrote(self, assignment)
            case QueuesConfigured() if config is not None and event.data.digest != self.config_digest:
                self.config_digest = event.data.digest
                self._configure(config)
            case TimerTick():
                pass  # the timers it was written for fired above
        # Remembered once applied: an event that failed half-way is not taken for a duplicate.
        self.seen[event.uid] = None
        if len(self.seen) > DEDUPE_WINDOW:
            self.seen.popitem(last=False)
        outputs, self._outputs = self._outputs, []
        return outputs

    def next_deadline(self) -> float | None:
        """When the next timer is due (epoch seconds): the shell writes a tick to the log by then."""
        return self.timers.next_deadline()

    def _submit(self, event: WorkSubmitted) -> None:
        d = event.data
        conv = d.conversation_id
        if conv in self.waiting or conv in self._offer_of or conv in self.assignments:
            return  # already routed: a second hand-off changes nothing
        kind = self.config.kind_of(d.channel)
        queue_name = d.packet.queue
        queue = self.config.queue(queue_name)
        if queue.channels and kind not in queue.channels:
            queue_name = self.config.default_queue
            queue = self.config.queue(queue_name)
        schedule = self.schedule(queue_name)
        if queue.hours is not None and schedule is not None and not schedule.is_open(self.clock):
            if queue.hours.closed_action == "dequeue":
                self._emit(
                    Dequeued,
                    conv,
                    DequeuedData(queue=queue_name, reason="closed", message=queue.hours.closed_message),
                )
                return
            if queue.hours.closed_action == "move" and queue.hours.closed_queue:
                queue_name = queue.hours.closed_queue
                queue = self.config.queue(queue_name)
        preferred = d.preferred_agent_id
        if preferred is None and d.packet.customer_id in self.last_agent:
            agent_id, at = self.last_agent[d.packet.customer_id]
            if self.clock - at <= self.config.sticky_memory_s:
                preferred = agent_id
        item = WorkItem(
            conversation_id=conv,
            channel=d.channel,
            kind=kind,
            packet=d.packet,
            queue=queue_name,
            priority=queue.priority + d.packet.priority,
            enqueued_at=self.clock,
            queued_at=self.clock,
            preferred_agent=preferred,
            reserved_until=self.clock + queue.sticky_window_s if preferred and queue.sticky_window_s else 0.0,
        )
        if item.reserved_until:
            self.timers.add(item.reserved_until, "reserve", conv)
        if queue.max_wait_s is not None:
            self.timers.add(self.clock + queue.max_wait_s, "max-wait", conv)
        self._enqueue(item, tell=True)

    def _presence(self, event: PresenceChanged) -> None:
        d = event.data
        agent = self.agents.get(d.agent_id)
        if agent is None:
            agent = self.agents[d.agent_id] = Agent(id=d.agent_id)
        qualification = (agent.skills, agent.languages)
        agent.name = d.name if d.name is not None else agent.name
        agent.presence = d.presence
        agent.away_reason = d.away_reason if d.presence == "away" else None
        agent.not_responding = False  # setting a presence is a sign of life
        agent.missed = 0
        agent.capacity = dict(sorted(d.capacity.items()))
        agent.total_capacity = d.total_capacity
        agent.skills = dict(sorted(d.skills.items()))
        agent.languages = tuple(sorted({language_of(lang) for lang in d.languages}))
        self.indexes.presence_changed()
        self.indexes.index_agent(
            agent,
            requalify=(agent.skills, agent.languages) != qualification or not self.indexes.knows(agent.id),
        )
        if d.presence == "offline":
            # Nobody answers for an offline agent: their conversations go to others at once.
            for assignment in self._assignments_of(agent.id):
                self._reassign(assignment, "offline")
        if not agent.routable:
            self._return_offers(agent, reason=f"agent {d.presence}")
        else:
            self._trim_offers(agent)
        self._fill(agent)

    def _trim_offers(self, agent: Agent) -> None:
        """An agent who lowered their capacity below what they hold gives back open offers, newest first."""
        newest_first = sorted(
            (o for o in self.offers.values() if o.agent_id == agent.id),
            key=lambda o: (o.offered_at, o.offer_id),
            reverse=True,
        )
        for offer in newest_first:
            kind = offer.item.kind
            over = agent.load_for(kind) > agent.capacity_for(kind) or (
                agent.total_capacity is not None and agent.total_load > agent.total_capacity
            )
            if over:
                self.facts.append(("offers", offer.item.queue, "rescinded"))
                self._rescind(offer, "agent capacity lowered")
                self._take_back(offer)

    def _accept(self, event: OfferAccepted) -> None:
        offer = self._answered(event.data.offer_id, event.data.agent_id, event.data.conversation_id)
        if offer is None:
            return  # stale (timed out, rescinded), unknown or someone else's offer: nothing happens
        item = offer.item
        del self.offers[offer.offer_id]
        del self._offer_of[item.conversation_id]
        agent = self.agents[offer.agent_id]
        agent.missed = 0
        self.assignments[item.conversation_id] = Assignment(
            conversation_id=item.conversation_id,
            agent_id=agent.id,
            kind=item.kind,
            queue=item.queue,
            offer_id=offer.offer_id,
            assigned_at=self.clock,
            item=item,
        )
        if item.customer_id:
            self.last_agent.pop(item.customer_id, None)
            self.last_agent[item.customer_id] = (agent.id, self.clock)
            if len(self.last_agent) > STICKY_CUSTOMERS:
                del self.last_agent[next(iter(self.last_agent))]
        waited = self.clock - item.enqueued_at
        self._outcome(item.queue, answered_in=waited)
        self.facts.append(("offers", item.queue, "accepted"))
        self.facts.append(("time_to_assign", item.queue, waited))
        self._emit(
            Assigned,
            item.conversation_id,
            AssignedData(offer_id=offer.offer_id, agent_id=agent.id, agent_name=agent.name),
        )
        clocks.assigned(self, self.assignments[item.conversation_id])

    def _reject(self, event: OfferRejected) -> None:
        offer = self._answered(event.data.offer_id, event.data.agent_id, event.data.conversation_id)
        if offer is None:
            return
        self.facts.append(("offers", offer.item.queue, "rejected"))
        self._take_back(offer)
        self._fill(self.agents[offer.agent_id])

    def _complete(self, event: WorkCompleted) -> None:
        d = event.data
        assignment = self.assignments.get(d.conversation_id)
        if assignment is None or assignment.agent_id != d.agent_id:
            return  # not this agent's conversation, or already completed
        if d.reason == "returned-to-bot":
            # Said by the router, which owns the assignment, so the bot never takes back a conversation
            # that has meanwhile moved to someone else.
            self._emit(ReturnedToBot, d.conversation_id, ReturnedToBotData(agent_id=d.agent_id, note=d.note))
        self._release(assignment, d.reason, d.disposition)

    def _cancel(self, event: WorkCancelled) -> None:
        conv = event.data.conversation_id
        item = self.waiting.get(conv)
        if item is not None:
            self.indexes.unindex(item)
            del self.waiting[conv]
        elif conv in self._offer_of:
            offer = self.offers.pop(self._offer_of.pop(conv))
            self._rescind(offer, "customer left")
            agent = self.agents[offer.agent_id]
            agent.add_load(offer.item.kind, -1)
            self.indexes.index_agent(agent, requalify=False)
            item = offer.item
            self._fill(agent)
        else:
            return  # not routed, or already with an agent (who wraps it up)
        self._outcome(item.queue, answered_in=None)
        self.facts.append(("abandoned", item.queue, "customer-left"))
        self._emit(Dequeued, conv, DequeuedData(queue=item.queue, reason="customer-left"))

    def _transfer(self, event: TransferRequested) -> None:
        d = event.data
        assignment = self.assignments.get(d.conversation_id)
        if assignment is None or assignment.agent_id != d.agent_id:
            return
        self._emit(
            Transferred,
            d.conversation_id,
            TransferredData(
                from_agent_id=d.agent_id, to_queue=d.to_queue, to_agent_id=d.to_agent_id, note=d.note
            ),
        )
        self._release(assignment, "transferred", None)
        old = assignment.item
        queue_name = d.to_queue or old.queue
        item = WorkItem(
            conversation_id=old.conversation_id,
            channel=old.channel,
            kind=old.kind,
            packet=old.packet,
            queue=queue_name,
            priority=self.config.queue(queue_name).priority + old.packet.priority,
            enqueued_at=self.clock,
            queued_at=self.clock,
            preferred_agent=d.to_agent_id,
            reserved_until=self.clock + self.config.transfer_reserve_s if d.to_agent_id else 0.0,
            declined={d.agent_id: self.clock},  # not back to the agent who passed it on
        )
        if item.reserved_until:
            self.timers.add(item.reserved_until, "reserve", item.conversation_id)
        timers.schedule_cooldown(self, item)
        self._enqueue(item, tell=True)

    # --- supervisor actions -----------------------------------------------------------------------

    def _supervisor_move(self, event: SupervisorMoveRequested) -> None:
        """Move the conversation wherever it is (waiting, offered, assigned) to a queue or a named agent.

        Waiting or offered, the customer's wait goes on (it counts from the hand-off); taken from an
        agent, it is routed anew, as a transfer is, and not back to that agent for the cooldown.
        """
        d = event.data
        conv = d.conversation_id
        assignment = self.assignments.get(conv)
        offer = self.offers.get(self._offer_of.get(conv, ""))
        waiting = self.waiting.get(conv)
        holder = assignment.agent_id if assignment else offer.agent_id if offer else None
        current = (
            assignment.queue
            if assignment
            else offer.item.queue
            if offer
            else waiting.queue
            if waiting
            else None
        )
        if current is None:
            return  # not routed (with the bot, closed, unknown): nothing to move
        if (d.to_queue or current) == current and d.to_agent_id is not None and d.to_agent_id == holder:
            return  # already where it is asked to be
        self._emit(
            Transferred,
            conv,
            TransferredData(
                from_agent_id=assignment.agent_id if assignment else None,
                to_queue=d.to_queue,
                to_agent_id=d.to_agent_id,
                note=d.note,
                by=d.by,
            ),
        )
        queue_name = d.to_queue or current
        if assignment is not None:
            self._emit_to_agent(
                ConversationTaken,
                assignment.agent_id,
                ConversationTakenData(
                    agent_id=assignment.agent_id, conversation_id=conv, reason="supervisor", by=d.by
                ),
                subject=conv,
            )
            self._release(assignment, "transferred", None)
            old = assignment.item
            item = WorkItem(
                conversation_id=conv,
                channel=old.channel,
                kind=old.kind,
                packet=old.packet,
                queue=queue_name,
                priority=self.config.queue(queue_name).priority + old.packet.priority,
                enqueued_at=self.clock,
                queued_at=self.clock,
            )
        elif offer is not None:
            self.facts.append(("offers", offer.item.queue, "rescinded"))
            self._rescind(offer, "moved by a supervisor")
            del self.offers[offer.offer_id]
            del self._offer_of[conv]
            agent = self.agents[offer.agent_id]
            agent.add_load(offer.item.kind, -1)
            self.indexes.index_agent(agent, requalify=False)
            item = offer.item
            self._fill(agent)  # before the item waits again: the agent it was taken from is not offered it
        else:
            assert waiting is not None
            self.indexes.unindex(waiting)
            del self.waiting[conv]
            item = waiting
        item.queue, item.stage, item.queued_at = queue_name, 0, self.clock
        item.priority = self.config.queue(queue_name).priority + item.packet.priority
        item.preferred_agent = d.to_agent_id
        item.reserved_until = self.clock + self.config.transfer_reserve_s if d.to_agent_id else 0.0
        if holder is not None and holder != d.to_agent_id:
            item.declined[holder] = self.clock  # a supervisor moved it away from them
            timers.schedule_cooldown(self, item)
        if item.reserved_until:
            self.timers.add(item.reserved_until, "reserve", conv)
        max_wait_s = self.config.queue(queue_name).max_wait_s
        if max_wait_s is not None:
            self.timers.add(max(self.clock, item.enqueued_at + max_wait_s), "max-wait", conv)
        self._enqueue(item, tell=True)

    def _supervisor_take_back(self, event: SupervisorTakeBackRequested) -> None:
        """Take the conversation from its agent (or an open offer from the agent it was made to) and
        route it again in its queue, to anyone else."""
        d = event.data
        if (assignment := self.assignments.get(d.conversation_id)) is not None:
            self._reassign(assignment, "supervisor", by=d.by)
        elif (offer_id := self._offer_of.get(d.conversation_id)) is not None:
            offer = self.offers[offer_id]
            self.facts.append(("offers", offer.item.queue, "rescinded"))
            self._rescind(offer, "taken back by a supervisor")
            self._take_back(offer)
            self._fill(self.agents[offer.agent_id])

    def _supervisor_presence(self, event: SupervisorPresenceSet) -> None:
        """Set an agent away or offline, keeping their profile; as when they do it themselves, their
        offers go back and, offline, their conversations go to others. Their desk is told by whom."""
        d = event.data
        agent = self.agents.get(d.agent_id)
        if agent is None:
            return  # never seen: nothing to take them out of
        agent.presence = d.presence
        agent.away_reason = d.away_reason if d.presence == "away" else None
        agent.not_responding = False
        agent.missed = 0
        self.indexes.presence_changed()
        self.indexes.index_agent(agent, requalify=False)
        self._emit_to_agent(
            AgentStatusChanged,
            agent.id,
            AgentStatusChangedData(agent_id=agent.id, status=d.presence, reason=d.away_reason, by=d.by),
        )
        if d.presence == "offline":
            for assignment in self._assignments_of(agent.id):
                self._reassign(assignment, "offline")
        self._return_offers(agent, reason=f"set {d.presence} by a supervisor")

    def _configure(self, config: RoutingConfig) -> None:
        self.config = config
        for item in self.waiting.values():
            queue = config.queue(item.queue)
            item.priority = queue.priority + item.packet.priority
            item.stage = min(item.stage, len(queue.overflow))
        self.rebuild_indexes()
        for agent in self.agents.values():
            self.indexes.index_agent(agent, requalify=True)
        for item in list(self.waiting.values()):
            # Deadlines that depend on the configuration are set again by the new one; the timers of
            # the old one that fire meanwhile check the rule in force and do nothing.
            timers.reschedule(self, item)
            self._match_item(item)
        for assignment in self._assignments_by_age():
            clocks.review(self, assignment)

    # --- matching ---------------------------------------------------------------------------------

    def _enqueue(self, item: WorkItem, *, tell: bool) -> None:
        """Work enters (or re-enters) waiting; it is offered at once if an eligible agent is free."""
        self.waiting[item.conversation_id] = item
        self.indexes.index(item, self.clock)
        if tell:
            self._emit(
                Queued,
                item.conversation_id,
                QueuedData(
                    queue=item.queue,
                    position=self._position(item),
                    enqueued_at=datetime.fromtimestamp(item.enqueued_at, UTC),
                ),
            )
        timers.schedule_overflow(self, item)
        if not self._match_item(item):
            if tell:
                self._tell_wait(item)
            timers.wait_timer(self, item)

    def _may_take(self, agent_id: str, item: WorkItem) -> bool:
        """Beyond qualification and room: reservations and recent declines."""
        if item.reserved_until > self.clock and item.preferred_agent != agent_id:
            return False
        declined = item.declined.get(agent_id)
        return declined is None or self.clock - declined >= self.config.decline_cooldown_s

    def _match_item(self, item: WorkItem) -> bool:
        """Offer one waiting item to its best free eligible agent, if there is one."""
        chosen = self.indexes.best_free_agent(item, self.clock, self._may_take)
        if chosen is None:
            return False
        self._offer(item, self.agents[chosen])
        return True

    def _fill(self, agent: Agent) -> None:
        """Offer the agent the most urgent work they may take, until their capacity is used.

        Work reserved for this agent (their returning customers, transfers to them) comes first.
        """
        while agent.routable:
            reserved = [self.waiting[c] for c in self.indexes.reserved_for(agent.id)]
            best = self._most_urgent(agent, reserved)
            if best is None:
                best = self._most_urgent(agent, self.indexes.heads(agent, self.waiting, self._may_take))
            if best is None:
                return
            self._offer(best, agent)

    def _most_urgent(self, agent: Agent, items: list[WorkItem]) -> WorkItem | None:
        urgent: tuple[tuple[float, float, str], WorkItem] | None = None
        for item in items:
            cls = self._class_for(item)
            if agent.id in cls.free and self._may_take(agent.id, item):
                urgency = self._urgency(item, cls)
                if urgent is None or urgency < urgent[0]:
                    urgent = (urgency, item)
        return urgent[1] if urgent else None

    def _urgency(self, item: WorkItem, cls: WorkClass) -> tuple[float, float, str]:
        """Smaller is more urgent: highest effective priority (priority plus aging), then the oldest."""
        effective = item.priority + cls.aging_per_s * (self.clock - item.enqueued_at)
        return (-effective, item.enqueued_at, item.conversation_id)

    def _offer(self, item: WorkItem, agent: Agent) -> None:
        assert self._event is not None
        conv = item.conversation_id
        self.indexes.unindex(item)
        del self.waiting[conv]
        offer_id = derive_key("offer", self.tenant, conv, self._event.uid)
        expires_at = self.clock + self.config.offer_timeout_s
        self.offers[offer_id] = Offer(offer_id, agent.id, item, self.clock, expires_at)
        self._offer_of[conv] = offer_id
        self.timers.add(expires_at, "offer", offer_id)
        agent.add_load(item.kind, +1)
        agent.last_offered_at = self.clock
        self.indexes.index_agent(agent, requalify=False)
        if item.first_offered_at is None:
            item.first_offered_at = self.clock
            self.facts.append(("time_to_offer", item.queue, self.clock - item.enqueued_at))
            self.stats.departed(item.queue, self.clock)
        self.facts.append(("offers", item.queue, "created"))
        self._emit_to_agent(
            OfferCreated,
            agent.id,
            OfferCreatedData(
                offer_id=offer_id,
                agent_id=agent.id,
                conversation_id=conv,
                channel=item.channel,
                packet=item.packet,
                expires_at=datetime.fromtimestamp(expires_at, UTC),
            ),
            subject=conv,
        )
        self._emit(Offered, conv, OfferedData(offer_id=offer_id, agent_id=agent.id))

    # --- bookkeeping ------------------------------------------------------------------------------

    def _answered(self, offer_id: str, agent_id: str, conversation_id: str) -> Offer | None:
        offer = self.offers.get(offer_id)
        if offer is None or offer.agent_id != agent_id or offer.item.conversation_id != conversation_id:
            return None
        return offer

    def _take_back(self, offer: Offer) -> None:
        """A rejected or expired offer: the agent's slot is free, the work waits for the next agent."""
        del self.offers[offer.offer_id]
        del self._offer_of[offer.item.conversation_id]
        agent = self.agents[offer.agent_id]
        agent.add_load(offer.item.kind, -1)
        self.indexes.index_agent(agent, requalify=False)
        item = offer.item
        item.declined[agent.id] = self.clock
        timers.schedule_cooldown(self, item)
        self._enqueue(item, tell=False)
        if item.conversation_id in self.waiting:
            self._emit(
                Queued,
                item.conversation_id,
                QueuedData(
                    queue=item.queue,
                    position=self._position(item),
                    enqueued_at=datetime.fromtimestamp(item.enqueued_at, UTC),
                ),
            )

    def _return_offers(self, agent: Agent, reason: str) -> None:
        mine = sorted(
            (o for o in self.offers.values() if o.agent_id == agent.id),
            key=lambda o: (o.item.enqueued_at, o.item.conversation_id),
        )
        for offer in mine:
            self.facts.append(("offers", offer.item.queue, "rescinded"))
            self._rescind(offer, reason)
            self._take_back(offer)

    def _release(
        self,
        assignment: Assignment,
        reason: Literal["completed", "transferred", "returned-to-bot"],
        disposition: str | None,
    ) -> None:
        del self.assignments[assignment.conversation_id]
        agent = self.agents[assignment.agent_id]
        agent.add_load(assignment.kind, -1)
        self.indexes.index_agent(agent, requalify=False)
        self._emit(
            Released,
            assignment.conversation_id,
            ReleasedData(agent_id=agent.id, reason=reason, disposition=disposition),
        )
        self._fill(agent)

    def _reassign(
        self,
        assignment: Assignment,
        reason: Literal["silent", "offline", "breach", "supervisor"],
        by: Actor | None = None,
    ) -> None:
        """Take the conversation from its agent (who is told) and route it again, with its whole packet;
        the customer hears that someone else takes over."""
        conv = assignment.conversation_id
        del self.assignments[conv]
        agent = self.agents[assignment.agent_id]
        agent.add_load(assignment.kind, -1)
        self.indexes.index_agent(agent, requalify=False)
        self.facts.append(("reassigned", assignment.queue, reason))
        self._emit(
            Released,
            conv,
            ReleasedData(agent_id=agent.id, reason="agent-offline" if reason == "offline" else "reassigned"),
        )
        self._emit_to_agent(
            ConversationTaken,
            agent.id,
            ConversationTakenData(agent_id=agent.id, conversation_id=conv, reason=reason, by=by),
            subject=conv,
        )
        self._emit(
            Reassigned,
            conv,
            ReassignedData(from_agent_id=agent.id, queue=assignment.queue, reason=reason, by=by),
        )
        old = assignment.item
        item = WorkItem(
            conversation_id=conv,
            channel=old.channel,
            kind=old.kind,
            packet=old.packet,
            queue=assignment.queue,
            priority=old.priority,  # with what a breach raised
            enqueued_at=self.clock,
            queued_at=self.clock,
            declined={agent.id: self.clock},  # not back to the agent who let it wait
        )
        timers.schedule_cooldown(self, item)
        self._enqueue(item, tell=True)
        if agent.routable:
            self._fill(agent)

    def _assignments_of(self, agent_id: str) -> list[Assignment]:
        return [a for a in self._assignments_by_age() if a.agent_id == agent_id]

    def _assignments_by_age(self) -> list[Assignment]:
        return sorted(self.assignments.values(), key=lambda a: (a.assigned_at, a.conversation_id))

    def _rescind(self, offer: Offer, reason: str) -> None:
        self._emit_to_agent(
            OfferRescinded,
            offer.agent_id,
            OfferRescindedData(
                offer_id=offer.offer_id,
                agent_id=offer.agent_id,
                conversation_id=offer.item.conversation_id,
                reason=reason,
            ),
            subject=offer.item.conversation_id,
        )

    def _outcome(self, queue: str, answered_in: float | None) -> None:
        self.stats.outcome(queue, self.config.queue(queue).target_answer_s, answered_in)

    # --- position and expected wait ---------------------------------------------------------------

    def _position(self, item: WorkItem) -> int:
        return self.indexes.position(item)

    def expected_wait(self, queue: str, position: int) -> int | None:
        """Seconds until the work at `position` is offered, from the queue's recent departure rate."""
        return self.stats.expected_wait(queue, position, self.clock)

    def _tell_wait(self, item: WorkItem) -> None:
        position = self._position(item)
        told = (position, self.expected_wait(item.queue, position))
        if told == item.last_wait:
            return  # nothing new to tell: no flooding
        item.last_wait = told
        self._emit(
            WaitUpdated,
            item.conversation_id,
            WaitUpdatedData(queue=item.queue, position=told[0], expected_wait_s=told[1]),
        )

    # --- reading the state (the shell's metrics and read API) ---------------------------------------

    @property
    def outcomes(self) -> dict[str, deque[bool]]:
        """Per queue, the recent work answered within its target or not (the service level)."""
        return self.stats.outcomes

    def waiting_in(self, queue: str, limit: int | None = None) -> list[WorkItem]:
        """The queue's waiting work in the order it will be offered (at most `limit` items)."""
        return [self.waiting[c] for c in self.indexes.first_waiting(queue, limit)]

    def queue_names(self) -> list[str]:
        offered = {o.item.queue for o in self.offers.values()}
        return sorted(set(self.config.queues) | self.indexes.indexed_queues() | offered)

    def eligible_agents(self, queue: str) -> int:
        """Routable agents who meet the queue's own skill minimums (before any overflow)."""
        return self.indexes.eligible_agents(queue, self.queue_names)

    def view(self, waiting_limit: int) -> TenantView:
        """The supervisor's view: queues with their figures and first waiting items, agents."""
        return build_view(self, waiting_limit)

    # --- emitting ---------------------------------------------------------------------------------

    def _emit(self, kind: type[ConversationEvent], conversation_id: str, data: Any) -> None:
        self._append(kind, topics.CONVERSATIONS, conversation_id, data, conversation_id)

    def _emit_to_agent(
        self, kind: type[CloudEvent], agent_id: str, data: Any, subject: str | None = None
    ) -> None:
        self._append(kind, topics.AGENTS, agent_id, data, subject)

    def _append(self, kind: type[CloudEvent], topic: str, key: str, data: Any, subject: str | None) -> None:
        assert self._event is not None
        envelope = self._event.follow(len(self._outputs), source=SOURCE, subject=subject, data=data)
        self._outputs.append(Outgoing(topic, key, kind(**envelope)))

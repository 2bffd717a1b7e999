"""The routing decisions for one tenant: `TenantRouter.apply(event)` returns the events to publish.

A deterministic state machine: time comes from events (timers fire when an event's time passes their
deadline; the shell writes `timer.tick` events to the routing topic when nothing else arrives), output
ids are derived from the input event id, and every choice is made on a total order, never on dict or
set order. Replaying the same events from the same state gives the same state and the same outputs.

Matching is work conserving: after every event, no available agent with free capacity is eligible for
a waiting item. Only two things can create such a pair (work arriving, capacity or eligibility
appearing) and each triggers the matching for exactly the item or the agent concerned.
"""

import heapq
import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sortedcontainers import SortedList

from relais_contracts import Event, Outgoing, derive_key, topics
from relais_contracts.agents import (
    AgentStatusChanged,
    AgentStatusChangedData,
    OfferCreated,
    OfferCreatedData,
    OfferRescinded,
    OfferRescindedData,
)
from relais_contracts.conversation import (
    Assigned,
    AssignedData,
    ConversationEvent,
    Dequeued,
    DequeuedData,
    Offered,
    OfferedData,
    Queued,
    QueuedData,
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
    OfferAccepted,
    OfferRejected,
    PresenceChanged,
    QueuesConfigured,
    TimerTick,
    TransferRequested,
    WorkCancelled,
    WorkCompleted,
    WorkSubmitted,
)
from relais_router.domain.config import RoutingConfig
from relais_router.domain.model import Agent, Assignment, Offer, WorkItem

SOURCE = "relais/router"
# Event ids remembered to drop a redelivered event (a producer retry, a replayed upstream service).
DEDUPE_WINDOW = 20_000
# Outcomes kept per queue for the service level and departures for the expected wait.
SERVICE_LEVEL_WINDOW = 200
DEPARTURES_WINDOW = 50
# Customers whose last agent is remembered for sticky routing (the oldest are forgotten first).
STICKY_CUSTOMERS = 100_000

# (queue, language, channel kind, skills the hand-off adds, overflow stage): work with the same class
# is eligible for exactly the same agents, so eligibility is computed once per class, not per item.
ClassKey = tuple[str, str, str, tuple[str, ...], int]
# (due, sequence, kind, reference, overflow stage): the sequence makes the order total.
Timer = tuple[float, int, str, str, int]
# A metric fact for the shell: ("offers", queue, outcome) or (a duration's name, queue, seconds).
Fact = tuple[str, str, str | float]
# (-static priority, enqueued_at, conversation): sorts waiting work in the order it is offered.
Entry = tuple[float, float, str]


@dataclass(slots=True)
class _Class:
    key: ClassKey
    alternatives: list[dict[str, int]]  # an agent qualifies by meeting every minimum of one of these
    language: str
    kind: str
    aging_per_s: float
    waiting: SortedList[Entry] = field(default_factory=SortedList)
    agents: set[str] = field(default_factory=set)  # qualified, whatever their presence and load
    free: set[str] = field(default_factory=set)  # qualified, routable, with room for this kind
    # The free agents best first (a heap of (rank, version, agent)). An agent's entries go stale when
    # the agent changes and a fresh one is pushed; stale entries are dropped when they surface.
    ranked: list[tuple[tuple[Any, ...], int, str]] = field(default_factory=list)

    def qualifies(self, agent: Agent) -> bool:
        if self.language and agent.languages and self.language not in agent.languages:
            return False
        return any(all(agent.skills.get(s, 0) >= m for s, m in alt.items()) for alt in self.alternatives)


@dataclass(slots=True)
class _QueueIndex:
    by_priority: SortedList[Entry] = field(default_factory=SortedList)  # same keys as the classes: positions
    by_age: SortedList[tuple[float, str]] = field(
        default_factory=SortedList
    )  # (enqueued_at, conversation): longest wait


def language_of(tag: str | None) -> str:
    """ "fr-FR" and "FR" are both "fr": agents and customers are matched on the primary language."""
    return (tag or "").split("-")[0].split("_")[0].lower()


class TenantRouter:
    """Everything the router knows about one tenant, and the decisions taken on it."""

    def __init__(self, tenant: str, config: RoutingConfig | None = None) -> None:
        self.tenant = tenant
        self.config = config or RoutingConfig()
        self.config_digest = ""  # of the last `queues.configured` applied
        self.clock = 0.0
        self.seq = 0
        self.agents: dict[str, Agent] = {}
        self.waiting: dict[str, WorkItem] = {}
        self.offers: dict[str, Offer] = {}
        self.assignments: dict[str, Assignment] = {}
        self.timers: list[Timer] = []
        self.departures: dict[str, deque[float]] = {}
        self.outcomes: dict[str, deque[bool]] = {}  # per queue: answered within target?
        self.last_agent: dict[str, tuple[str, float]] = {}  # customer -> (agent, when assigned)
        self.seen: dict[str, None] = {}
        # Facts for the shell's metrics; it drains them after each batch.
        self.facts: list[Fact] = []
        self._event: CloudEvent | None = None
        self._outputs: list[Outgoing] = []
        self.rebuild_indexes()

    # --- indexes (derived from the state above, rebuilt after a snapshot load or a reconfiguration)

    def rebuild_indexes(self) -> None:
        self._classes: dict[ClassKey, _Class] = {}
        self._queues: dict[str, _QueueIndex] = {}
        self._agent_classes: dict[str, set[ClassKey]] = {a: set() for a in self.agents}
        self._offer_of: dict[str, str] = {o.item.conversation_id: o.offer_id for o in self.offers.values()}
        self._reserved: dict[str, set[str]] = {}
        self._versions: dict[str, int] = {}  # bumped when an agent changes: see _Class.ranked
        self._eligible: dict[str, int] | None = None  # see eligible_agents
        for item in self.waiting.values():
            self._index(item)

    def _class_for(self, item: WorkItem) -> _Class:
        queue = self.config.queue(item.queue)
        language = language_of(item.packet.language) if queue.match_language else ""
        extra = tuple(sorted(s for s in item.packet.skills if s not in queue.skills))
        key: ClassKey = (item.queue, language, item.kind, extra, item.stage)
        cls = self._classes.get(key)
        if cls is None:
            base = {**queue.skills, **{s: 1 for s in extra}}
            alternatives = [base]
            for rule in queue.overflow[: item.stage]:
                if rule.lower_skill is not None and rule.lower_skill in base:
                    base[rule.lower_skill] = min(base[rule.lower_skill], rule.to_proficiency or 1)
                if rule.add_agents_of is not None:
                    alternatives.append(dict(self.config.queue(rule.add_agents_of).skills))
            cls = _Class(key, alternatives, language, item.kind, queue.aging_per_minute / 60)
            self._classes[key] = cls
            for agent in self.agents.values():
                if cls.qualifies(agent):
                    cls.agents.add(agent.id)
                    self._agent_classes.setdefault(agent.id, set()).add(key)
                    if agent.routable and agent.has_room(cls.kind):
                        cls.free.add(agent.id)
                        version = self._versions.get(agent.id, 0)
                        heapq.heappush(cls.ranked, (self._rank(agent, cls), version, agent.id))
        return cls

    def _entry(self, item: WorkItem, cls: _Class) -> Entry:
        static = item.priority - cls.aging_per_s * item.enqueued_at
        return (-static, item.enqueued_at, item.conversation_id)

    def _index(self, item: WorkItem) -> None:
        cls = self._class_for(item)
        entry = self._entry(item, cls)
        cls.waiting.add(entry)
        if item.queue not in self._queues:
            self._eligible = None  # a queue not counted yet
        q = self._queues.setdefault(item.queue, _QueueIndex())
        q.by_priority.add(entry)
        q.by_age.add((item.enqueued_at, item.conversation_id))
        if item.preferred_agent and item.reserved_until > self.clock:
            self._reserved.setdefault(item.preferred_agent, set()).add(item.conversation_id)

    def _unindex(self, item: WorkItem) -> None:
        cls = self._class_for(item)
        entry = self._entry(item, cls)
        cls.waiting.remove(entry)
        q = self._queues[item.queue]
        q.by_priority.remove(entry)
        q.by_age.remove((item.enqueued_at, item.conversation_id))
        if item.preferred_agent:
            self._reserved.get(item.preferred_agent, set()).discard(item.conversation_id)

    def _index_agent(self, agent: Agent, *, requalify: bool) -> None:
        """Bring the agent's entries in the classes up to date after a change of skills, presence or load."""
        if requalify:
            for key in self._agent_classes.pop(agent.id, set()):
                self._classes[key].agents.discard(agent.id)
                self._classes[key].free.discard(agent.id)
            keys = {k for k, c in self._classes.items() if c.qualifies(agent)}
            self._agent_classes[agent.id] = keys
            for key in keys:
                self._classes[key].agents.add(agent.id)
        version = self._versions[agent.id] = self._versions.get(agent.id, 0) + 1
        for key in self._agent_classes.get(agent.id, ()):
            cls = self._classes[key]
            if agent.routable and agent.has_room(cls.kind):
                cls.free.add(agent.id)
                heapq.heappush(cls.ranked, (self._rank(agent, cls), version, agent.id))
                if len(cls.ranked) > 4 * len(cls.free) + 64:
                    cls.ranked = [
                        (self._rank(self.agents[a], cls), self._versions.get(a, 0), a) for a in cls.free
                    ]
                    heapq.heapify(cls.ranked)
            else:
                cls.free.discard(agent.id)

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
        self._fire_timers()
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
            case QueuesConfigured() if config is not None and event.data.digest != self.config_digest:
                self.config_digest = event.data.digest
                self._configure(config)
            case TimerTick():
                pass  # the timers it was written for fired above
        # Remembered once applied: an event that failed half-way is not taken for a duplicate.
        self.seen[event.uid] = None
        if len(self.seen) > DEDUPE_WINDOW:
            del self.seen[next(iter(self.seen))]
        outputs, self._outputs = self._outputs, []
        return outputs

    def next_deadline(self) -> float | None:
        """When the next timer is due (epoch seconds): the shell writes a tick to the log by then."""
        return self.timers[0][0] if self.timers else None

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
        if queue.hours is not None and not queue.hours.is_open(self._now()):
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
            self._timer(item.reserved_until, "reserve", conv)
        if queue.max_wait_s is not None:
            self._timer(self.clock + queue.max_wait_s, "max-wait", conv)
        self._enqueue(item, tell=True)

    def _presence(self, event: PresenceChanged) -> None:
        d = event.data
        agent = self.agents.get(d.agent_id)
        if agent is None:
            agent = self.agents[d.agent_id] = Agent(id=d.agent_id)
        qualification = (agent.skills, agent.languages)
        agent.name = d.name if d.name is not None else agent.name
        agent.presence = d.presence
        agent.not_responding = False  # setting a presence is a sign of life
        agent.missed = 0
        agent.capacity = dict(sorted(d.capacity.items()))
        agent.total_capacity = d.total_capacity
        agent.skills = dict(sorted(d.skills.items()))
        agent.languages = tuple(sorted({language_of(lang) for lang in d.languages}))
        self._eligible = None
        self._index_agent(
            agent,
            requalify=(agent.skills, agent.languages) != qualification or agent.id not in self._agent_classes,
        )
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
            self._unindex(item)
            del self.waiting[conv]
        elif conv in self._offer_of:
            offer = self.offers.pop(self._offer_of.pop(conv))
            self._rescind(offer, "customer left")
            agent = self.agents[offer.agent_id]
            agent.add_load(offer.item.kind, -1)
            self._index_agent(agent, requalify=False)
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
            self._timer(item.reserved_until, "reserve", item.conversation_id)
        if self.config.decline_cooldown_s:
            self._timer(self.clock + self.config.decline_cooldown_s, "cooldown", item.conversation_id)
        self._enqueue(item, tell=True)

    def _configure(self, config: RoutingConfig) -> None:
        self.config = config
        for item in self.waiting.values():
            queue = config.queue(item.queue)
            item.priority = queue.priority + item.packet.priority
            item.stage = min(item.stage, len(queue.overflow))
        self.rebuild_indexes()
        for agent in self.agents.values():
            self._index_agent(agent, requalify=True)
        for item in list(self.waiting.values()):
            # Deadlines that depend on the configuration are set again by the new one; the timers of
            # the old one that fire meanwhile check the rule in force and do nothing.
            self._schedule_overflow(item)
            queue = config.queue(item.queue)
            if queue.max_wait_s is not None:
                self._timer(
                    max(self.clock, item.enqueued_at + queue.max_wait_s), "max-wait", item.conversation_id
                )
            for declined_at in sorted(set(item.declined.values())):
                if declined_at + config.decline_cooldown_s > self.clock:
                    self._timer(declined_at + config.decline_cooldown_s, "cooldown", item.conversation_id)
            self._match_item(item)

    # --- timers -----------------------------------------------------------------------------------

    def _timer(self, due: float, kind: str, ref: str, stage: int = 0) -> None:
        heapq.heappush(self.timers, (due, self.seq, kind, ref, stage))
        self.seq += 1

    def _fire_timers(self) -> None:
        while self.timers and self.timers[0][0] <= self.clock:
            _, _, kind, ref, stage = heapq.heappop(self.timers)
            if kind == "offer":
                offer = self.offers.get(ref)
                if offer is not None and offer.expires_at <= self.clock:
                    self._timeout(offer)
                continue
            item = self.waiting.get(ref)
            if item is None:
                continue  # offered, assigned or gone since: the timer has nothing left to do
            if kind == "wait" and stage == item.wait_token:
                self._tell_wait(item)
                self._wait_timer(item)
            elif kind == "reserve" and item.reserved_until and item.reserved_until <= self.clock:
                item.reserved_until = 0.0
                self._reserved.get(item.preferred_agent or "", set()).discard(ref)
                self._match_item(item)
            elif kind == "cooldown":
                self._match_item(item)
            elif kind == "overflow" and item.stage == stage and self._overflow_due(item):
                self._overflow(item)
            elif kind == "max-wait":
                self._max_wait(item)

    def _wait_timer(self, item: WorkItem) -> None:
        """The item's next position update; the token makes older chains of wait timers die out."""
        item.wait_token = self.seq
        self._timer(self.clock + self.config.wait_update_interval_s, "wait", item.conversation_id, self.seq)

    def _schedule_overflow(self, item: WorkItem) -> None:
        rules = self.config.queue(item.queue).overflow
        if item.stage < len(rules):
            due = max(self.clock, item.queued_at + rules[item.stage].after_s)
            self._timer(due, "overflow", item.conversation_id, item.stage)

    def _overflow_due(self, item: WorkItem) -> bool:
        """A timer can outlive its reason (a reconfiguration, a move to another queue): check the rule."""
        rules = self.config.queue(item.queue).overflow
        return item.stage < len(rules) and self.clock >= item.queued_at + rules[item.stage].after_s

    def _overflow(self, item: WorkItem) -> None:
        rule = self.config.queue(item.queue).overflow[item.stage]
        self._unindex(item)
        if rule.move_to is not None:
            item.queue, item.stage, item.queued_at = rule.move_to, 0, self.clock
            item.priority = self.config.queue(rule.move_to).priority + item.packet.priority
        else:
            item.stage += 1
        self._index(item)
        self._schedule_overflow(item)
        self._match_item(item)

    def _max_wait(self, item: WorkItem) -> None:
        queue = self.config.queue(item.queue)
        if queue.max_wait_s is None or self.clock - item.enqueued_at < queue.max_wait_s:
            return
        self._unindex(item)
        del self.waiting[item.conversation_id]
        self._outcome(item.queue, answered_in=None)
        self._emit(
            Dequeued,
            item.conversation_id,
            DequeuedData(queue=item.queue, reason="max-wait", message=queue.max_wait_message),
        )

    def _timeout(self, offer: Offer) -> None:
        agent = self.agents[offer.agent_id]
        self.facts.append(("offers", offer.item.queue, "timeout"))
        self._rescind(offer, "timeout")
        agent.missed += 1
        # Decided before the work goes back, so a silent agent is not offered it again.
        stop_offering = agent.missed >= self.config.max_missed_offers and not agent.not_responding
        if stop_offering:
            agent.not_responding = True
            self._eligible = None
            self._emit_to_agent(
                AgentStatusChanged,
                agent.id,
                AgentStatusChangedData(
                    agent_id=agent.id,
                    status="not-responding",
                    reason=f"{agent.missed} offers in a row timed out",
                ),
            )
        self._take_back(offer)
        if stop_offering:
            self._return_offers(agent, reason="agent not responding")
        self._fill(agent)

    # --- matching ---------------------------------------------------------------------------------

    def _enqueue(self, item: WorkItem, *, tell: bool) -> None:
        """Work enters (or re-enters) waiting; it is offered at once if an eligible agent is free."""
        self.waiting[item.conversation_id] = item
        self._index(item)
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
        self._schedule_overflow(item)
        if not self._match_item(item):
            if tell:
                self._tell_wait(item)
            self._wait_timer(item)

    def _may_take(self, agent_id: str, item: WorkItem) -> bool:
        """Beyond qualification and room: reservations and recent declines."""
        if item.reserved_until > self.clock and item.preferred_agent != agent_id:
            return False
        declined = item.declined.get(agent_id)
        return declined is None or self.clock - declined >= self.config.decline_cooldown_s

    def _match_item(self, item: WorkItem) -> bool:
        """Offer one waiting item to its best free eligible agent, if there is one."""
        cls = self._class_for(item)
        chosen: str | None = None
        if item.reserved_until > self.clock:
            preferred = item.preferred_agent
            chosen = preferred if preferred in cls.free and self._may_take(preferred, item) else None
        else:
            declined = []  # free agents who may not take this item: back in the heap afterwards
            while cls.ranked:
                _, version, agent_id = cls.ranked[0]
                if agent_id not in cls.free or version != self._versions.get(agent_id, 0):
                    heapq.heappop(cls.ranked)
                elif self._may_take(agent_id, item):
                    chosen = agent_id
                    break
                else:
                    declined.append(heapq.heappop(cls.ranked))
            for entry in declined:
                heapq.heappush(cls.ranked, entry)
        if chosen is None:
            return False
        self._offer(item, self.agents[chosen])
        return True

    def _fill(self, agent: Agent) -> None:
        """Offer the agent the most urgent work they may take, until their capacity is used.

        Work reserved for this agent (their returning customers, transfers to them) comes first.
        """
        while agent.routable:
            reserved = [self.waiting[c] for c in self._reserved.get(agent.id, ())]
            best = self._most_urgent(agent, reserved)
            if best is None:
                heads = []
                for key in self._agent_classes.get(agent.id, ()):
                    cls = self._classes[key]
                    if agent.id in cls.free:
                        # The first item of the class this agent may take; most often the very first.
                        head = next(
                            (
                                self.waiting[e[2]]
                                for e in cls.waiting
                                if self._may_take(agent.id, self.waiting[e[2]])
                            ),
                            None,
                        )
                        if head is not None:
                            heads.append(head)
                best = self._most_urgent(agent, heads)
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

    def _urgency(self, item: WorkItem, cls: _Class) -> tuple[float, float, str]:
        """Smaller is more urgent: highest effective priority (priority plus aging), then the oldest."""
        effective = item.priority + cls.aging_per_s * (self.clock - item.enqueued_at)
        return (-effective, item.enqueued_at, item.conversation_id)

    def _rank(self, agent: Agent, cls: _Class) -> tuple[Any, ...]:
        """Smaller is better, by the tenant's agent order; the id makes the order total."""
        key: list[Any] = []
        for criterion in self.config.agent_order:
            if criterion == "proficiency":
                key.append(-sum(agent.skills.get(s, 0) for s in cls.alternatives[0]))
            elif criterion == "idle":
                key.append(agent.last_offered_at if agent.last_offered_at is not None else -math.inf)
            else:
                key.append(agent.occupancy)
        key.append(agent.id)
        return tuple(key)

    def _offer(self, item: WorkItem, agent: Agent) -> None:
        assert self._event is not None
        conv = item.conversation_id
        self._unindex(item)
        del self.waiting[conv]
        offer_id = derive_key("offer", self.tenant, conv, self._event.uid)
        expires_at = self.clock + self.config.offer_timeout_s
        self.offers[offer_id] = Offer(offer_id, agent.id, item, self.clock, expires_at)
        self._offer_of[conv] = offer_id
        self._timer(expires_at, "offer", offer_id)
        agent.add_load(item.kind, +1)
        agent.last_offered_at = self.clock
        self._index_agent(agent, requalify=False)
        if item.first_offered_at is None:
            item.first_offered_at = self.clock
            self.facts.append(("time_to_offer", item.queue, self.clock - item.enqueued_at))
            self.departures.setdefault(item.queue, deque(maxlen=DEPARTURES_WINDOW)).append(self.clock)
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
        self._index_agent(agent, requalify=False)
        item = offer.item
        item.declined[agent.id] = self.clock
        if self.config.decline_cooldown_s:
            self._timer(self.clock + self.config.decline_cooldown_s, "cooldown", item.conversation_id)
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
        self._index_agent(agent, requalify=False)
        self._emit(
            Released,
            assignment.conversation_id,
            ReleasedData(agent_id=agent.id, reason=reason, disposition=disposition),
        )
        self._fill(agent)

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
        target = self.config.queue(queue).target_answer_s
        window = self.outcomes.setdefault(queue, deque(maxlen=SERVICE_LEVEL_WINDOW))
        window.append(answered_in is not None and answered_in <= target)

    # --- position and expected wait ---------------------------------------------------------------

    def _position(self, item: WorkItem) -> int:
        entry = self._entry(item, self._class_for(item))
        return int(self._queues[item.queue].by_priority.bisect_left(entry)) + 1

    def expected_wait(self, queue: str, position: int) -> int | None:
        """Seconds until the work at `position` is offered, from the queue's recent departure rate."""
        departures = self.departures.get(queue)
        if not departures or len(departures) < 2:
            return None
        span = self.clock - departures[0]
        if span <= 0:
            return None
        rate = len(departures) / span
        return math.ceil(position / rate)

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

    def waiting_in(self, queue: str, limit: int | None = None) -> list[WorkItem]:
        """The queue's waiting work in the order it will be offered (at most `limit` items)."""
        index = self._queues.get(queue)
        entries = index.by_priority.islice(0, limit) if index else ()
        return [self.waiting[e[2]] for e in entries]

    def queue_names(self) -> list[str]:
        names = set(self.config.queues) | set(self._queues) | {o.item.queue for o in self.offers.values()}
        return sorted(names)

    def queue_stats(self, queue: str) -> dict[str, float]:
        index = self._queues.get(queue)
        waiting = len(index.by_age) if index else 0
        oldest = index.by_age[0][0] if waiting and index else None
        window = self.outcomes.get(queue) or ()
        return {
            "waiting": waiting,
            "longest_wait_s": self.clock - oldest if oldest is not None else 0.0,
            "service_level": sum(window) / len(window) if window else 1.0,
            "eligible_agents": self.eligible_agents(queue),
        }

    def eligible_agents(self, queue: str) -> int:
        """Routable agents who meet the queue's own skill minimums (before any overflow).

        Counted for every queue in one pass and kept until an agent's presence or the configuration
        changes: loads do not change it, and the supervisor view asks for it every few seconds.
        """
        if self._eligible is None:
            queues = {name: self.config.queue(name).skills for name in self.queue_names()}
            counts = dict.fromkeys(queues, 0)
            for agent in self.agents.values():
                if agent.routable:
                    for name, skills in queues.items():
                        if all(agent.skills.get(s, 0) >= m for s, m in skills.items()):
                            counts[name] += 1
            self._eligible = counts
        return self._eligible.get(queue, 0)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock, UTC)

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

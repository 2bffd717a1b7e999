"""Who may take which waiting work: the classes of work, their qualified and free agents, queue order.

Derived state only: everything here is rebuilt from the router's agents and waiting work after a
snapshot load or a reconfiguration, and the router keeps it up to date as work and agents change.
"""

import heapq
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sortedcontainers import SortedList

from relais_router.domain.config import RoutingConfig
from relais_router.domain.model import Agent, WorkItem

# (queue, language, channel kind, skills the hand-off adds, overflow stage): work with the same class
# is eligible for exactly the same agents, so eligibility is computed once per class, not per item.
ClassKey = tuple[str, str, str, tuple[str, ...], int]
# (-static priority, enqueued_at, conversation): sorts waiting work in the order it is offered.
Entry = tuple[float, float, str]
# Beyond qualification and room, whether an agent may take an item (reservations, recent declines).
MayTake = Callable[[str, WorkItem], bool]


@dataclass(slots=True)
class WorkClass:
    alternatives: list[dict[str, int]]  # an agent qualifies by meeting every minimum of one of these
    language: str
    kind: str
    aging_per_s: float
    waiting: SortedList[Entry] = field(default_factory=SortedList)
    free: set[str] = field(default_factory=set)  # qualified, routable, with room for this kind
    # The free agents best first (a heap of (rank, version, agent)). An agent's entries go stale when
    # the agent changes and a fresh one is pushed; stale entries are dropped when they surface.
    ranked: list[tuple[tuple[Any, ...], int, str]] = field(default_factory=list)

    def qualifies(self, agent: Agent) -> bool:
        if self.language and agent.languages and self.language not in agent.languages:
            return False
        return any(all(agent.skills.get(s, 0) >= m for s, m in alt.items()) for alt in self.alternatives)


@dataclass(slots=True)
class QueueIndex:
    by_priority: SortedList[Entry] = field(default_factory=SortedList)  # same keys as the classes: positions
    by_age: SortedList[tuple[float, str]] = field(
        default_factory=SortedList
    )  # (enqueued_at, conversation): longest wait


def language_of(tag: str | None) -> str:
    """ "fr-FR" and "FR" are both "fr": agents and customers are matched on the primary language."""
    return (tag or "").split("-")[0].split("_")[0].lower()


class Eligibility:
    """The indexes over one tenant's agents and waiting work that make each matching step cheap."""

    def __init__(self, config: RoutingConfig, agents: dict[str, Agent]) -> None:
        self.config = config
        self.agents = agents
        self.classes: dict[ClassKey, WorkClass] = {}
        self.queues: dict[str, QueueIndex] = {}
        self.agent_classes: dict[str, set[ClassKey]] = {a: set() for a in agents}
        self.reserved: dict[str, set[str]] = {}  # agent -> conversations reserved for them
        self.versions: dict[str, int] = {}  # bumped when an agent changes: see WorkClass.ranked
        self._eligible: dict[str, int] | None = None  # see eligible_agents

    def class_for(self, item: WorkItem) -> WorkClass:
        queue = self.config.queue(item.queue)
        language = language_of(item.packet.language) if queue.match_language else ""
        extra = tuple(sorted(s for s in item.packet.skills if s not in queue.skills))
        key: ClassKey = (item.queue, language, item.kind, extra, item.stage)
        cls = self.classes.get(key)
        if cls is None:
            base = {**queue.skills, **{s: 1 for s in extra}}
            alternatives = [base]
            for rule in queue.overflow[: item.stage]:
                if rule.lower_skill is not None and rule.lower_skill in base:
                    base[rule.lower_skill] = min(base[rule.lower_skill], rule.to_proficiency or 1)
                if rule.add_agents_of is not None:
                    alternatives.append(dict(self.config.queue(rule.add_agents_of).skills))
            cls = WorkClass(alternatives, language, item.kind, queue.aging_per_minute / 60)
            self.classes[key] = cls
            for agent in self.agents.values():
                if cls.qualifies(agent):
                    self.agent_classes.setdefault(agent.id, set()).add(key)
                    if agent.routable and agent.has_room(cls.kind):
                        cls.free.add(agent.id)
                        version = self.versions.get(agent.id, 0)
                        heapq.heappush(cls.ranked, (self.rank(agent, cls), version, agent.id))
        return cls

    def entry(self, item: WorkItem, cls: WorkClass) -> Entry:
        static = item.priority - cls.aging_per_s * item.enqueued_at
        return (-static, item.enqueued_at, item.conversation_id)

    def index(self, item: WorkItem, clock: float) -> None:
        cls = self.class_for(item)
        entry = self.entry(item, cls)
        cls.waiting.add(entry)
        if item.queue not in self.queues:
            self._eligible = None  # a queue not counted yet
        q = self.queues.setdefault(item.queue, QueueIndex())
        q.by_priority.add(entry)
        q.by_age.add((item.enqueued_at, item.conversation_id))
        if item.preferred_agent and item.reserved_until > clock:
            self.reserved.setdefault(item.preferred_agent, set()).add(item.conversation_id)

    def unindex(self, item: WorkItem) -> None:
        cls = self.class_for(item)
        entry = self.entry(item, cls)
        cls.waiting.remove(entry)
        q = self.queues[item.queue]
        q.by_priority.remove(entry)
        q.by_age.remove((item.enqueued_at, item.conversation_id))
        if item.preferred_agent:
            self.reserved.get(item.preferred_agent, set()).discard(item.conversation_id)

    def unreserve(self, item: WorkItem) -> None:
        self.reserved.get(item.preferred_agent or "", set()).discard(item.conversation_id)

    def index_agent(self, agent: Agent, *, requalify: bool) -> None:
        """Bring the agent's entries in the classes up to date after a change of skills, presence or load."""
        if requalify:
            for key in self.agent_classes.pop(agent.id, set()):
                self.classes[key].free.discard(agent.id)
            keys = {k for k, c in self.classes.items() if c.qualifies(agent)}
            self.agent_classes[agent.id] = keys
        version = self.versions[agent.id] = self.versions.get(agent.id, 0) + 1
        for key in self.agent_classes.get(agent.id, ()):
            cls = self.classes[key]
            if agent.routable and agent.has_room(cls.kind):
                cls.free.add(agent.id)
                heapq.heappush(cls.ranked, (self.rank(agent, cls), version, agent.id))
                if len(cls.ranked) > 4 * len(cls.free) + 64:
                    cls.ranked = [
                        (self.rank(self.agents[a], cls), self.versions.get(a, 0), a) for a in cls.free
                    ]
                    heapq.heapify(cls.ranked)
            else:
                cls.free.discard(agent.id)

    def knows(self, agent_id: str) -> bool:
        return agent_id in self.agent_classes

    def presence_changed(self) -> None:
        """Routable agents changed: the eligible counts are counted again when next asked."""
        self._eligible = None

    def rank(self, agent: Agent, cls: WorkClass) -> tuple[Any, ...]:
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

    def best_free_agent(self, item: WorkItem, clock: float, may_take: MayTake) -> str | None:
        """The best free eligible agent for one waiting item, if there is one."""
        cls = self.class_for(item)
        if item.reserved_until > clock:
            preferred = item.preferred_agent
            return preferred if preferred in cls.free and may_take(preferred, item) else None
        chosen: str | None = None
        declined = []  # free agents who may not take this item: back in the heap afterwards
        while cls.ranked:
            _, version, agent_id = cls.ranked[0]
            if agent_id not in cls.free or version != self.versions.get(agent_id, 0):
                heapq.heappop(cls.ranked)
            elif may_take(agent_id, item):
                chosen = agent_id
                break
            else:
                declined.append(heapq.heappop(cls.ranked))
        for entry in declined:
            heapq.heappush(cls.ranked, entry)
        return chosen

    def heads(self, agent: Agent, waiting: dict[str, WorkItem], may_take: MayTake) -> list[WorkItem]:
        """For each class the agent is free for, the first item of it they may take."""
        heads = []
        for key in self.agent_classes.get(agent.id, ()):
            cls = self.classes[key]
            if agent.id in cls.free:
                # Most often the very first item of the class.
                head = next((waiting[e[2]] for e in cls.waiting if may_take(agent.id, waiting[e[2]])), None)
                if head is not None:
                    heads.append(head)
        return heads

    def reserved_for(self, agent_id: str) -> Iterable[str]:
        return self.reserved.get(agent_id, ())

    def position(self, item: WorkItem) -> int:
        entry = self.entry(item, self.class_for(item))
        return int(self.queues[item.queue].by_priority.bisect_left(entry)) + 1

    def first_waiting(self, queue: str, limit: int | None) -> list[str]:
        """The queue's waiting conversations in the order they will be offered."""
        index = self.queues.get(queue)
        entries = index.by_priority.islice(0, limit) if index else ()
        return [e[2] for e in entries]

    def waiting_count(self, queue: str) -> tuple[int, float | None]:
        """How many wait in the queue, and since when the oldest does."""
        index = self.queues.get(queue)
        if not index or not index.by_age:
            return 0, None
        return len(index.by_age), index.by_age[0][0]

    def indexed_queues(self) -> set[str]:
        return set(self.queues)

    def eligible_agents(self, queue: str, queue_names: Callable[[], list[str]]) -> int:
        """Routable agents who meet the queue's own skill minimums (before any overflow).

        Counted for every queue in one pass and kept until an agent's presence or the configuration
        changes: loads do not change it, and the supervisor view asks for it every few seconds.
        """
        if self._eligible is None:
            queues = {name: self.config.queue(name).skills for name in queue_names()}
            counts = dict.fromkeys(queues, 0)
            for agent in self.agents.values():
                if agent.routable:
                    for name, skills in queues.items():
                        if all(agent.skills.get(s, 0) >= m for s, m in skills.items()):
                            counts[name] += 1
            self._eligible = counts
        return self._eligible.get(queue, 0)

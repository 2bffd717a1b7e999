"""The router's timers: offer expiry, overflow, maximum wait, reservations, cooldowns, wait updates,
and the response-time clocks of assigned conversations (see clocks.py).

A timer is a deadline in the tenant's log time. Timers live in a heap in the router's state (so a
snapshot and a replay see the same ones) and fire when an applied event's time passes them; the shell
writes a `timer.tick` event to the routing topic when nothing else arrives by the next deadline.
A timer can outlive its reason (the work was offered, the configuration changed): each checks that
its reason still holds when it fires, and otherwise does nothing.

The timed transitions below are part of `TenantRouter.apply`, which alone calls them.
"""

import heapq
from collections.abc import Iterator
from typing import TYPE_CHECKING

from relais_contracts.agents import AgentStatusChanged, AgentStatusChangedData
from relais_contracts.conversation import Dequeued, DequeuedData
from relais_router.domain import clocks
from relais_router.domain.config import RoutingConfig
from relais_router.domain.model import Offer, WorkItem

if TYPE_CHECKING:
    from relais_router.domain.engine import TenantRouter

# (due, sequence, kind, reference, stage): the sequence makes the order total.
Timer = tuple[float, int, str, str, int]


class Timers:
    """A heap of deadlines; `seq` numbers them in the order they were set."""

    def __init__(self, heap: list[Timer] | None = None, seq: int = 0) -> None:
        self.heap: list[Timer] = heap if heap is not None else []
        self.seq = seq

    def add(self, due: float, kind: str, ref: str, stage: int = 0) -> None:
        heapq.heappush(self.heap, (due, self.seq, kind, ref, stage))
        self.seq += 1

    def due(self, clock: float) -> Iterator[Timer]:
        """Pops the timers due by `clock`, including those set meanwhile by the ones fired."""
        while self.heap and self.heap[0][0] <= clock:
            yield heapq.heappop(self.heap)

    def next_deadline(self) -> float | None:
        return self.heap[0][0] if self.heap else None


def fire_due(router: "TenantRouter") -> None:
    for _, _, kind, ref, stage in router.timers.due(router.clock):
        if kind == "offer":
            offer = router.offers.get(ref)
            if offer is not None and offer.expires_at <= router.clock:
                _timeout(router, offer)
            continue
        if kind == "clock":
            assignment = router.assignments.get(ref)
            if assignment is not None and stage == assignment.clock_token:
                clocks.review(router, assignment)
            continue
        item = router.waiting.get(ref)
        if item is None:
            continue  # offered, assigned or gone since: the timer has nothing left to do
        if kind == "wait" and stage == item.wait_token:
            router._tell_wait(item)
            wait_timer(router, item)
        elif kind == "reserve" and item.reserved_until and item.reserved_until <= router.clock:
            item.reserved_until = 0.0
            router.indexes.unreserve(item)
            router._match_item(item)
        elif kind == "cooldown":
            router._match_item(item)
        elif kind == "overflow" and item.stage == stage and overflow_due(router.config, item, router.clock):
            _overflow(router, item)
        elif kind == "max-wait":
            _max_wait(router, item)


def wait_timer(router: "TenantRouter", item: WorkItem) -> None:
    """The item's next position update; the token makes older chains of wait timers die out."""
    timers = router.timers
    item.wait_token = timers.seq
    timers.add(router.clock + router.config.wait_update_interval_s, "wait", item.conversation_id, timers.seq)


def schedule_overflow(router: "TenantRouter", item: WorkItem) -> None:
    rules = router.config.queue(item.queue).overflow
    if item.stage < len(rules):
        due = max(router.clock, item.queued_at + rules[item.stage].after_s)
        router.timers.add(due, "overflow", item.conversation_id, item.stage)


def schedule_cooldown(router: "TenantRouter", item: WorkItem) -> None:
    if router.config.decline_cooldown_s:
        router.timers.add(router.clock + router.config.decline_cooldown_s, "cooldown", item.conversation_id)


def reschedule(router: "TenantRouter", item: WorkItem) -> None:
    """Set again the deadlines that depend on the configuration, after a new one came in force."""
    config = router.config
    schedule_overflow(router, item)
    queue = config.queue(item.queue)
    if queue.max_wait_s is not None:
        router.timers.add(
            max(router.clock, item.enqueued_at + queue.max_wait_s), "max-wait", item.conversation_id
        )
    for declined_at in sorted(set(item.declined.values())):
        if declined_at + config.decline_cooldown_s > router.clock:
            router.timers.add(declined_at + config.decline_cooldown_s, "cooldown", item.conversation_id)


def overflow_due(config: RoutingConfig, item: WorkItem, clock: float) -> bool:
    """A timer can outlive its reason (a reconfiguration, a move to another queue): check the rule."""
    rules = config.queue(item.queue).overflow
    return item.stage < len(rules) and clock >= item.queued_at + rules[item.stage].after_s


def _overflow(router: "TenantRouter", item: WorkItem) -> None:
    config = router.config
    rule = config.queue(item.queue).overflow[item.stage]
    router.indexes.unindex(item)
    if rule.move_to is not None:
        item.queue, item.stage, item.queued_at = rule.move_to, 0, router.clock
        item.priority = config.queue(rule.move_to).priority + item.packet.priority
    else:
        item.stage += 1
    router.indexes.index(item, router.clock)
    schedule_overflow(router, item)
    router._match_item(item)


def _max_wait(router: "TenantRouter", item: WorkItem) -> None:
    queue = router.config.queue(item.queue)
    if queue.max_wait_s is None or router.clock - item.enqueued_at < queue.max_wait_s:
        return
    router.indexes.unindex(item)
    del router.waiting[item.conversation_id]
    router.stats.outcome(item.queue, queue.target_answer_s, answered_in=None)
    router._emit(
        Dequeued,
        item.conversation_id,
        DequeuedData(queue=item.queue, reason="max-wait", message=queue.max_wait_message),
    )


def _timeout(router: "TenantRouter", offer: Offer) -> None:
    agent = router.agents[offer.agent_id]
    router.facts.append(("offers", offer.item.queue, "timeout"))
    router._rescind(offer, "timeout")
    agent.missed += 1
    # Decided before the work goes back, so a silent agent is not offered it again.
    stop_offering = agent.missed >= router.config.max_missed_offers and not agent.not_responding
    if stop_offering:
        agent.not_responding = True
        router.indexes.presence_changed()
        router._emit_to_agent(
            AgentStatusChanged,
            agent.id,
            AgentStatusChangedData(
                agent_id=agent.id,
                status="not-responding",
                reason=f"{agent.missed} offers in a row timed out",
            ),
        )
    router._take_back(offer)
    if stop_offering:
        router._return_offers(agent, reason="agent not responding")
    router._fill(agent)

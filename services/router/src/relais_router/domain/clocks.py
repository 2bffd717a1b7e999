"""Response-time clocks of the conversations agents hold: first response, next response, resolution.

A clock starts at the assignment (first response, resolution) or at a customer message the agent has
not answered yet (next response), and stops at the agent's reply (or the wrap-up, for resolution).
Against the queue's targets it warns the agent's desk at `warning_at` of the target and, at the
target, runs the queue's breach actions. Independently, a conversation whose agent has not answered
for the queue's `reassign_after_s` goes to another agent.

A clock is state of the assignment plus one timer in the router's heap (the earliest thing any of its
clocks will do), so a replay decides the same. The targets and hours in force are read each time the
clocks are reviewed: a reconfiguration applies to the running clocks, from when they started.
The functions here are part of `TenantRouter.apply`, which alone calls them.
"""

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from relais_contracts.agents import ClockChanged, ClockChangedData
from relais_contracts.conversation import BreachAction, ClockBreached, ClockBreachedData, ResponseClock
from relais_router.domain.business_time import Schedule
from relais_router.domain.config import ResponseTargets
from relais_router.domain.model import Assignment

if TYPE_CHECKING:
    from relais_router.domain.engine import TenantRouter

FIRST: ResponseClock = "first-response"
NEXT: ResponseClock = "next-response"
RESOLUTION: ResponseClock = "resolution"
# The clocks an agent's reply stops.
RESPONSES = (FIRST, NEXT)


def assigned(router: "TenantRouter", assignment: Assignment) -> None:
    assignment.clocks = {FIRST: router.clock, RESOLUTION: router.clock}
    review(router, assignment)


def customer_wrote(router: "TenantRouter", assignment: Assignment) -> None:
    """A customer message starts the next-response clock, unless a response is already awaited."""
    if not any(name in assignment.clocks for name in RESPONSES):
        assignment.clocks[NEXT] = router.clock
        review(router, assignment)


def replied(router: "TenantRouter", assignment: Assignment) -> None:
    schedule = _schedule(router, assignment)
    for name in RESPONSES:
        started = assignment.clocks.pop(name, None)
        if started is None:
            continue
        took = schedule.elapsed(started, router.clock) if schedule else router.clock - started
        router.facts.append((name.replace("-", "_"), assignment.queue, took))
        if assignment.alerts.pop(name, None) is not None:
            _tell_agent(router, assignment, name, "stopped", None)
        if assignment.supervisor_alert == name:
            assignment.supervisor_alert = None
    review(router, assignment)


def review(router: "TenantRouter", assignment: Assignment) -> None:
    """Do what the clocks' time calls for, then set the timer for the next thing they will do."""
    queue = router.config.queue(assignment.queue)
    targets = queue.response
    schedule = _schedule(router, assignment)
    now = router.clock
    upcoming: list[float] = []
    for clock, started in sorted(assignment.clocks.items()):
        if clock in RESPONSES and queue.reassign_after_s is not None:
            silent_at = started + queue.reassign_after_s
            if now >= silent_at:
                router._reassign(assignment, "silent")
                return
            upcoming.append(silent_at)
        target = _target(targets, clock)
        if targets is None or target is None:
            continue
        state = assignment.alerts.get(clock)
        if state == "breached":
            continue
        breach_at = _after(schedule, started, target)
        if now >= breach_at:
            if _breach(router, assignment, clock, targets, target):
                return  # the conversation went to another agent: no clock of this agent runs on
            continue
        warn_at = _after(schedule, started, target * targets.warning_at)
        if state is None and now >= warn_at:
            assignment.alerts[clock] = "warned"
            _tell_agent(router, assignment, clock, "warning", breach_at)
            state = "warned"
        upcoming.append(breach_at if state == "warned" else warn_at)
    if upcoming:
        assignment.clock_token = router.timers.seq
        router.timers.add(min(upcoming), "clock", assignment.conversation_id, assignment.clock_token)


def _breach(
    router: "TenantRouter",
    assignment: Assignment,
    clock: ResponseClock,
    targets: ResponseTargets,
    target: int,
) -> bool:
    """Run the queue's breach actions; True when the conversation left its agent."""
    assignment.alerts[clock] = "breached"
    actions: list[BreachAction] = []
    for action in targets.on_breach:
        actions.append(action)
        if action == "raise-priority":
            assignment.item.priority += targets.raise_priority_by
        elif action == "alert-supervisor":
            assignment.supervisor_alert = clock
    router.facts.append(("breach", assignment.queue, clock))
    router._emit(
        ClockBreached,
        assignment.conversation_id,
        ClockBreachedData(
            clock=clock,
            agent_id=assignment.agent_id,
            queue=assignment.queue,
            target_s=target,
            actions=tuple(actions),
        ),
    )
    if "offer-to-another" in actions:
        router._reassign(assignment, "breach")
        return True
    _tell_agent(router, assignment, clock, "breached", None)
    return False


def _tell_agent(
    router: "TenantRouter",
    assignment: Assignment,
    clock: ResponseClock,
    state: Literal["warning", "breached", "stopped"],
    due: float | None,
) -> None:
    router._emit_to_agent(
        ClockChanged,
        assignment.agent_id,
        ClockChangedData(
            agent_id=assignment.agent_id,
            conversation_id=assignment.conversation_id,
            clock=clock,
            state=state,
            due_at=datetime.fromtimestamp(due, UTC) if due is not None else None,
        ),
        subject=assignment.conversation_id,
    )


def _target(targets: ResponseTargets | None, clock: ResponseClock) -> int | None:
    if targets is None:
        return None
    if clock == FIRST:
        return targets.first_response_s
    if clock == NEXT:
        return targets.next_response_s
    return targets.resolution_s


def _schedule(router: "TenantRouter", assignment: Assignment) -> Schedule | None:
    """The open time the clocks count, or None when they count every second."""
    targets = router.config.queue(assignment.queue).response
    return router.schedule(assignment.queue) if targets and targets.business_hours else None


def _after(schedule: Schedule | None, start: float, seconds: float) -> float:
    return schedule.add(start, seconds) if schedule else start + seconds

"""A tenant router's state as JSON, for the snapshots that let a new owner skip replaying the whole log.

Only the primary state is stored; the indexes (classes, free agents, positions) are rebuilt on load.
Fields a snapshot lacks take their defaults, so snapshots written by earlier versions load; where a
default would not do, `format` says which version wrote it.
"""

from collections import OrderedDict
from dataclasses import dataclass

from relais_router.domain import clocks
from relais_router.domain.config import RoutingConfig
from relais_router.domain.engine import TenantRouter
from relais_router.domain.model import Agent, Assignment, Offer, WorkItem
from relais_router.domain.statistics import QueueStatistics
from relais_router.domain.timers import Timer, Timers

# 2: the assignments' response clocks exist. Snapshots without `format` were written before them.
FORMAT = 2


@dataclass
class TenantSnapshot:
    tenant: str
    config: RoutingConfig
    config_digest: str
    clock: float
    seq: int
    agents: list[Agent]
    waiting: list[WorkItem]
    offers: list[Offer]
    assignments: list[Assignment]
    timers: list[Timer]
    departures: dict[str, list[float]]
    outcomes: dict[str, list[bool]]
    last_agent: dict[str, tuple[str, float]]
    seen: list[str]
    format: int = 1


def capture(router: TenantRouter) -> TenantSnapshot:
    return TenantSnapshot(
        tenant=router.tenant,
        config=router.config,
        config_digest=router.config_digest,
        clock=router.clock,
        seq=router.timers.seq,
        agents=list(router.agents.values()),
        waiting=list(router.waiting.values()),
        offers=list(router.offers.values()),
        assignments=list(router.assignments.values()),
        timers=list(router.timers.heap),  # a heap stays a heap when copied as a list
        departures={q: list(d) for q, d in router.stats.departures.items()},
        outcomes={q: list(d) for q, d in router.stats.outcomes.items()},
        last_agent=dict(router.last_agent),
        seen=list(router.seen),
        format=FORMAT,
    )


def restore(snapshot: TenantSnapshot) -> TenantRouter:
    router = TenantRouter(snapshot.tenant, snapshot.config)
    router.config_digest = snapshot.config_digest
    router.clock = snapshot.clock
    router.agents = {a.id: a for a in snapshot.agents}
    router.waiting = {i.conversation_id: i for i in snapshot.waiting}
    router.offers = {o.offer_id: o for o in snapshot.offers}
    router.assignments = {a.conversation_id: a for a in snapshot.assignments}
    router.timers = Timers([tuple(t) for t in snapshot.timers], snapshot.seq)  # type: ignore[misc]
    router.stats = QueueStatistics(snapshot.departures, snapshot.outcomes)
    router.last_agent = dict(snapshot.last_agent)
    router.seen = OrderedDict.fromkeys(snapshot.seen)
    router.rebuild_indexes()
    if snapshot.format < 2:
        _start_clocks(router)
    return router


def _start_clocks(router: TenantRouter) -> None:
    """Assignments saved before the response clocks existed. Whether their agent has answered was never
    recorded, so no response clock starts (the customer's next message starts one, as it does after a
    reply); the resolution clock counts from the assignment, as it would have had it run, and is
    reviewed by the first event after the load (a timer due at once)."""
    for assignment in router.assignments.values():
        assignment.clocks = {clocks.RESOLUTION: assignment.assigned_at}
        assignment.clock_token = router.timers.seq
        router.timers.add(router.clock, "clock", assignment.conversation_id, assignment.clock_token)

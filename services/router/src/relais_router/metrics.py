"""Prometheus metrics of the router, per tenant and queue, beside the shared runtime's."""

from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram

from relais_router.domain import Fact

_WAITS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600)

WAITING = Gauge("relais_router_waiting", "Conversations waiting for an agent", ["tenant", "queue"])
LONGEST_WAIT = Gauge(
    "relais_router_longest_wait_seconds", "Wait of the oldest waiting conversation", ["tenant", "queue"]
)
SERVICE_LEVEL = Gauge(
    "relais_router_service_level",
    "Share of the last 200 conversations answered within the queue's target (abandons count as missed)",
    ["tenant", "queue"],
)
ELIGIBLE_AGENTS = Gauge(
    "relais_router_eligible_agents",
    "Available agents who meet the queue's skill minimums",
    ["tenant", "queue"],
)
OFFERS = Counter(
    "relais_router_offers_total",
    "Offers by outcome: created, accepted, rejected, timeout, rescinded",
    ["tenant", "queue", "outcome"],
)
ABANDONED = Counter(
    "relais_router_abandoned_total", "Conversations the customer left while waiting", ["tenant", "queue"]
)
TIME_TO_OFFER = Histogram(
    "relais_router_time_to_offer_seconds",
    "From hand-off to the first offer",
    ["tenant", "queue"],
    buckets=_WAITS,
)
TIME_TO_ASSIGN = Histogram(
    "relais_router_time_to_assign_seconds",
    "From hand-off to an agent's accept",
    ["tenant", "queue"],
    buckets=_WAITS,
)
_RESPONSES = (5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)
FIRST_RESPONSE = Histogram(
    "relais_router_first_response_seconds",
    "From assignment to the agent's first reply (business time when the queue counts it)",
    ["tenant", "queue"],
    buckets=_RESPONSES,
)
NEXT_RESPONSE = Histogram(
    "relais_router_next_response_seconds",
    "From a customer message to the agent's next reply (business time when the queue counts it)",
    ["tenant", "queue"],
    buckets=_RESPONSES,
)
BREACHES = Counter(
    "relais_router_clock_breaches_total",
    "Response-time targets missed, by clock: first-response, next-response, resolution",
    ["tenant", "queue", "clock"],
)
REASSIGNED = Counter(
    "relais_router_reassigned_total",
    "Conversations taken from their agent, by reason: silent, offline, breach",
    ["tenant", "queue", "reason"],
)
AGENTS = Gauge("relais_router_agents", "Agents by routing state", ["tenant", "state"])
AWAY = Gauge("relais_router_agents_away", "Agents away, by away reason", ["tenant", "reason"])
OCCUPANCY = Gauge(
    "relais_router_agent_occupancy", "Used share of the capacity of available agents", ["tenant"]
)
DECISION_SECONDS = Histogram(
    "relais_router_decision_seconds",
    "Time the routing core takes to apply one event",
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05),
)
AGENT_STATES = ("available", "away", "offline", "not-responding")

# Each fact of the core (TenantRouter.facts) and what it feeds: a counter with the fact's value as
# its last label, a counter, or a histogram of the value.
_FACTS: dict[str, tuple[Counter | Histogram, str]] = {
    "offers": (OFFERS, "label"),
    "abandoned": (ABANDONED, "count"),
    "time_to_offer": (TIME_TO_OFFER, "observe"),
    "time_to_assign": (TIME_TO_ASSIGN, "observe"),
    "first_response": (FIRST_RESPONSE, "observe"),
    "next_response": (NEXT_RESPONSE, "observe"),
    "breach": (BREACHES, "label"),
    "reassigned": (REASSIGNED, "label"),
}
# (fact, tenant, queue, label) -> the labelled child. `labels()` validates and locks on every call,
# and the core reports about six facts per assignment; the children live as long as the metric
# (these are never removed, unlike the gauges of a tenant that moves).
_children: dict[tuple[str, str, str, str], Counter | Histogram] = {}


def count(tenant: str, facts: Iterable[Fact]) -> None:
    """Feed the core's facts to their counters and histograms."""
    for name, queue, value in facts:
        if name not in _FACTS:
            continue  # a fact no metric reports (yet): never a reason to fail the event
        metric, kind = _FACTS[name]
        label = str(value) if kind == "label" else ""
        child = _children.get((name, tenant, queue, label))
        if child is None:
            labelled = metric.labels(tenant, queue, label) if label else metric.labels(tenant, queue)
            child = _children[(name, tenant, queue, label)] = labelled
        if isinstance(child, Histogram):
            child.observe(float(value))
        else:
            child.inc()

"""One sample of a tenant's routing figures, for the supervisor page's charts: per queue, the waiting
conversations, the longest wait and the service level; over the agents at work, the occupancy."""

from typing import Any

# States in which an agent's capacity counts towards the tenant's occupancy: those offered work.
_AT_WORK = frozenset({"available", "not-responding"})


def sample(queues_view: dict[str, Any], agents_view: dict[str, Any]) -> dict[str, Any]:
    """The figures of the router's two views (as its read API gives them) at their `as_of`."""
    queues = {
        q["queue"]: {
            "waiting": q["waiting"],
            "longest_wait_s": round(float(q["longest_wait_s"]), 1),
            "service_level": q["service_level"],
        }
        for q in queues_view.get("queues", ())
    }
    load = slots = 0
    for agent in agents_view.get("agents", ()):
        if agent["state"] in _AT_WORK:
            load += sum(agent["load"].values())
            slots += agent["total_capacity"] or sum(agent["capacity"].values())
    return {
        "as_of": queues_view.get("as_of"),
        "queues": queues,
        # Share of the capacity of the agents at work that holds conversations; None with nobody at work.
        "occupancy": round(load / slots, 4) if slots else None,
    }

"""The router's pure decision core: one tenant's state and `apply(state, event) -> (state, outputs)`."""

from relais_router.domain.engine import SOURCE, apply
from relais_router.domain.model import Agent, Assignment, Offer, RouterState, WorkItem

__all__ = ["SOURCE", "Agent", "Assignment", "Offer", "RouterState", "WorkItem", "apply"]

"""The router's pure decision core: one tenant's routing state and `TenantRouter.apply(event)`."""

from relais_router.domain.config import RoutingConfig
from relais_router.domain.engine import SOURCE, Fact, TenantRouter
from relais_router.domain.model import Agent, Assignment, Offer, WorkItem

__all__ = ["SOURCE", "Agent", "Assignment", "Fact", "Offer", "RoutingConfig", "TenantRouter", "WorkItem"]

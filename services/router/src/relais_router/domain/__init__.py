"""The router's pure decision core: one tenant's routing state and `TenantRouter.apply(event)`.

`engine` holds the transition function; `eligibility` the indexes of who may take what; `timers` the
deadlines and the transitions they trigger; `statistics` the per-queue windows; `view` the read model.
"""

from relais_router.domain.config import RoutingConfig
from relais_router.domain.engine import SOURCE, Fact, TenantRouter
from relais_router.domain.model import Agent, Assignment, Offer, WorkItem
from relais_router.domain.view import TenantView

__all__ = [
    "SOURCE",
    "Agent",
    "Assignment",
    "Fact",
    "Offer",
    "RoutingConfig",
    "TenantRouter",
    "TenantView",
    "WorkItem",
]

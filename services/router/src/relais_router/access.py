"""Who may call which route of the router's API: the scope each one needs (see
relais_platform.callers). A route missing here is refused to every caller."""

from relais_platform.callers import ADMIN, AccessPolicy

ROUTING_READ = "routing:read"

ACCESS = AccessPolicy(
    routes={
        ("GET", "/v1/tenants/{tenant}/queues"): ROUTING_READ,
        ("GET", "/v1/tenants/{tenant}/agents"): ROUTING_READ,
        ("POST", "/v1/admin/reload-config"): ADMIN,
    }
)

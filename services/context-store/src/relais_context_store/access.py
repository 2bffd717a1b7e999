"""Who may call which route of the context store's API: the scope each one needs (see
relais_platform.callers). A route missing here is refused to every caller."""

from relais_platform.callers import ADMIN, AccessPolicy

CONVERSATIONS_READ = "conversations:read"
CUSTOMERS_READ = "customers:read"
# Linking and unlinking identities moves a customer's history between people: its own scope.
IDENTITIES_LINK = "identities:link"

ACCESS = AccessPolicy(
    routes={
        ("GET", "/v1/conversations/{conversation_id}"): CONVERSATIONS_READ,
        ("GET", "/v1/conversations/{conversation_id}/timeline"): CONVERSATIONS_READ,
        ("GET", "/v1/conversations/{conversation_id}/reply-channels"): CONVERSATIONS_READ,
        ("GET", "/v1/customers/{customer_id}"): CUSTOMERS_READ,
        ("GET", "/v1/customers/{customer_id}/timeline"): CUSTOMERS_READ,
        ("GET", "/v1/lookup"): CUSTOMERS_READ,
        ("POST", "/v1/customers/{customer_id}/identities"): IDENTITIES_LINK,
        ("DELETE", "/v1/customers/{customer_id}/identities/{kind}/{value}"): IDENTITIES_LINK,
        # Confirming a claim links identities too: the same scope.
        ("POST", "/v1/customers/{customer_id}/claims/{claim_id}/confirm"): IDENTITIES_LINK,
        ("DELETE", "/v1/customers/{customer_id}"): ADMIN,
        ("POST", "/v1/admin/rebuild"): ADMIN,
    }
)

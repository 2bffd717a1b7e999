"""Prometheus metrics of the context store (beside the runtime's own)."""

from prometheus_client import Counter, Gauge, Histogram

REPLY_LATENCY = Histogram(
    "relais_context_reply_latency_seconds",
    "From the customer's last message to the publication of the reply on the outbound topic",
    ["author_kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)
CONVERSATIONS_OPEN = Gauge(
    "relais_context_conversations_open", "Open conversations, as of the last inactivity sweep", ["tenant"]
)
IDENTITY_CONFLICTS = Counter(
    "relais_context_identity_conflicts_total",
    "Identity hints naming another customer than the one a message resolved to (recorded, not merged)",
    ["tenant"],
)
IDENTITY_CLAIMS = Counter(
    "relais_context_identity_claims_total",
    "Unproven identity hints recorded as claims (never linked), by whether another customer owns them",
    ["tenant", "owned"],
)
IDENTITY_SIGNATURES = Counter(
    "relais_context_identity_signatures_total",
    "Signed identity hints checked, by result (valid, no-secret, stale, invalid)",
    ["tenant", "result"],
)
REDACTIONS = Counter(
    "relais_context_redactions_total", "Secrets redacted from customer messages before storage", ["kind"]
)
CONVERSATIONS_CLOSED = Counter(
    "relais_context_conversations_closed_total", "Conversations closed by the store", ["reason"]
)
BOT_SILENT_HANDOFFS = Counter(
    "relais_context_bot_silent_handoffs_total",
    "Conversations handed to a person because the bot left a customer's message unanswered too long",
    ["tenant"],
)
UNDELIVERABLE_REPLIES = Counter(
    "relais_context_undeliverable_replies_total",
    "Replies recorded as failed because the customer has no address on their channel",
    ["tenant"],
)
FACTS_WRITTEN = Counter(
    "relais_context_facts_written_total",
    "Conversation facts published on relais.facts.v1, by what ended the conversation (wrap-up, close)",
    ["ended_by"],
)

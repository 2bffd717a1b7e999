"""Prometheus metrics of the bot, beside the shared runtime's (names used by the Grafana dashboard)."""

from prometheus_client import Counter

MESSAGES = Counter(
    "relais_bot_messages",
    "Customer messages the bot handled, by outcome: answered, clarified, handed_over, waiting, ignored",
    ["tenant", "language", "outcome"],
)
HANDOFFS = Counter(
    "relais_bot_handoffs", "Conversations the bot handed to a person, by reason", ["tenant", "reason"]
)

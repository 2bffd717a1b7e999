"""Kafka topic names: the contract between the services and with channel integrators."""

from typing import Final

INBOUND: Final = "relais.inbound.v1"
CONVERSATIONS: Final = "relais.conversations.v1"
ROUTING: Final = "relais.routing.v1"
AGENTS: Final = "relais.agents.v1"
OUTBOUND: Final = "relais.outbound.v1"
DEADLETTER: Final = "relais.deadletter.v1"
# One record a conversation, for reporting (relais_contracts.facts).
FACTS: Final = "relais.facts.v1"

ALL: Final = (INBOUND, CONVERSATIONS, ROUTING, AGENTS, OUTBOUND, DEADLETTER, FACTS)


def inbound_key(tenant: str, channel: str, address: str) -> str:
    """Key of inbound and outbound records: one customer address on one channel stays in order."""
    return f"{tenant}:{channel}:{address}"

"""Relais channels: the edges integrators speak to without Kafka credentials (HTTP in, webhooks out)."""

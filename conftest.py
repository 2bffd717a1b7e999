"""Test-wide fixtures: real Kafka and Redis (see relais_platform.testing)."""

pytest_plugins = ["relais_platform.testing"]

"""The runtime every Relais service shares: settings, logging, Kafka, Redis, metrics, health."""

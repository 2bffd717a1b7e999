"""The channels service's adapters: configuration files and Redis."""

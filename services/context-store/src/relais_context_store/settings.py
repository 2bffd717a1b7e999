"""Settings of the context store (`RELAIS_*` environment variables)."""

from relais_platform.settings import ServiceSettings


class ContextStoreSettings(ServiceSettings):
    http_port: int = 8081

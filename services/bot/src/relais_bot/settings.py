"""Settings of the bot (`RELAIS_*` environment variables)."""

from relais_platform.settings import ServiceSettings


class BotSettings(ServiceSettings):
    http_port: int = 8082

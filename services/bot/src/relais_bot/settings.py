"""Settings of the bot (`RELAIS_*` environment variables)."""

from pathlib import Path

from pydantic import Field

from relais_platform.settings import ServiceSettings


class BotSettings(ServiceSettings):
    http_port: int = 8082
    # Directory of `<tenant>.yaml` content files, added to (and overriding) the bundled ones.
    bot_content_dir: Path | None = None
    # The content that serves a tenant without a file of its own.
    bot_default_content: str = Field(default="demo", min_length=1)
    # Longest the bot may think about one message; past it (or on an error) a person takes over.
    bot_message_timeout_s: float = Field(default=5.0, gt=0)
    # How long the bot keeps a conversation's state (and the ids of the events applied) after its last
    # event: Redis expires them then, so an abandoned conversation does not stay in memory for ever.
    bot_state_retention_s: int = Field(default=30 * 24 * 3600, gt=0)

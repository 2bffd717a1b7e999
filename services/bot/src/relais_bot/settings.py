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
    # Where the intent classifiers fitted at start-up are kept, keyed by what the fit depends on: a
    # restart with the same content reads them instead of fitting again (seconds of CPU). None: always fit.
    bot_intents_cache_dir: Path | None = None
    # Longest the bot may think about one message; past it (or on an error) a person takes over.
    bot_message_timeout_s: float = Field(default=5.0, gt=0)
    # A conversation's state is forgotten this long after its last event (default 7 days): what the bot
    # knows of a conversation silent that long is no use, and abandoned ones must not pile up. 0 keeps
    # states for ever.
    bot_state_retention_s: float = Field(default=604_800.0, ge=0)

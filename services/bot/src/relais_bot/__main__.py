"""`relais-bot` / `python -m relais_bot`: run the service."""

from relais_bot.adapters.content_files import ContentError
from relais_bot.app import SERVICE, create_app
from relais_bot.settings import BotSettings
from relais_platform.runtime import serve


def main() -> None:
    try:
        serve(create_app, BotSettings, SERVICE)
    except ContentError as exc:
        raise SystemExit(f"{SERVICE}: invalid content: {exc}") from None


if __name__ == "__main__":
    main()

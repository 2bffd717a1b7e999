"""`relais-bot` / `python -m relais_bot`: run the service."""

from relais_bot.app import SERVICE, create_app
from relais_bot.settings import BotSettings
from relais_platform.runtime import serve


def main() -> None:
    serve(create_app, BotSettings, SERVICE)


if __name__ == "__main__":
    main()

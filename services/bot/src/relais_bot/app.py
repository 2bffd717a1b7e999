"""Composition root of the bot."""

from fastapi import FastAPI

from relais_bot.adapters.state import BotStates
from relais_bot.consumers import ConversationHandler
from relais_bot.settings import BotSettings
from relais_contracts import topics
from relais_platform.runtime import Runtime

SERVICE = "bot"


def create_app(settings: BotSettings) -> FastAPI:
    runtime = Runtime(settings, SERVICE)
    runtime.consume(
        "conversations",
        [topics.CONVERSATIONS],
        ConversationHandler(BotStates(runtime.redis, settings), runtime.publisher),
    )

    app = runtime.app("Relais bot")
    return app

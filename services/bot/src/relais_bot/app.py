"""Composition root of the bot."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime.running():
            yield

    app = FastAPI(title="Relais bot", version="0.1.0", lifespan=lifespan)
    app.include_router(runtime.ops_router())
    return app

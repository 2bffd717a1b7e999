"""Composition root of the bot: content and models loaded once, then the conversation consumer."""

from fastapi import FastAPI

from relais_bot.adapters.content_files import build_bot
from relais_bot.adapters.state import BotStates
from relais_bot.consumers import ConversationHandler
from relais_bot.settings import BotSettings
from relais_contracts import topics
from relais_platform.runtime import Runtime
from relais_platform.sealing import customer_keys

SERVICE = "bot"


def create_app(settings: BotSettings) -> FastAPI:
    bot = build_bot(settings.bot_content_dir, settings.bot_default_content)
    runtime = Runtime(settings, SERVICE)
    handler = ConversationHandler(
        bot,
        BotStates(runtime.redis, settings, settings.bot_state_retention_s),
        customer_keys(runtime.redis, settings),
        runtime.publisher,
        settings.bot_message_timeout_s,
    )
    runtime.consume("conversations", [topics.CONVERSATIONS], handler)
    return runtime.app("Relais bot")

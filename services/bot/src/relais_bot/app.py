"""Composition root of the bot: content and models loaded once, then the conversation consumer."""

import ctypes
import ctypes.util
import gc

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
    _release_startup_memory()
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


def _release_startup_memory() -> None:
    """Hands back to the system the heap that training the intent classifiers used and freed (about
    40 MB): glibc keeps freed pages otherwise, and the bot's resident memory would carry them for its
    whole life. A no-op where the C library has no malloc_trim (musl, macOS)."""
    gc.collect()
    libc = ctypes.util.find_library("c")
    trim = getattr(ctypes.CDLL(libc), "malloc_trim", None) if libc else None
    if trim is not None:
        trim(0)

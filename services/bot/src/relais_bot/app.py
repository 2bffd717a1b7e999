"""Composition root of the bot: content and models loaded once, then the conversation consumer."""

from fastapi import FastAPI

from relais_bot.adapters.content_files import build_bot
from relais_bot.adapters.state import BotStates
from relais_bot.consumers import ConversationHandler
from relais_bot.recovery import Dropped, rebuild_states
from relais_bot.settings import BotSettings
from relais_contracts import topics
from relais_platform.runtime import Runtime, settle_heap
from relais_platform.sealing import customer_keys
from relais_platform.tenants import TenantGate
from relais_platform.views_marker import SelfHealing, ViewsMarker

SERVICE = "bot"


def create_app(settings: BotSettings) -> FastAPI:
    bot = build_bot(settings.bot_content_dir, settings.bot_default_content, settings.bot_intents_cache_dir)
    runtime = Runtime(settings, SERVICE)
    states = BotStates(runtime.redis, settings, settings.bot_state_retention_s)
    keys = customer_keys(runtime.redis, settings)
    timeout = settings.bot_message_timeout_s
    replayer = ConversationHandler(bot, states, keys, Dropped(), timeout)
    group = settings.group(f"{SERVICE}-conversations")

    async def rebuild() -> None:
        await rebuild_states(settings, states, replayer, group)

    healing = SelfHealing(
        ViewsMarker(runtime.redis, settings, SERVICE), rebuild, service=SERVICE, stopping=runtime.stopping
    )
    # Decisions reach the log only if made on whole states (not on states wiped in the middle).
    checked = healing.publisher(runtime.publisher)
    handler = ConversationHandler(bot, states, keys, checked, timeout)

    async def check_at_start() -> None:
        await healing.ensure()

    runtime.background("views-recovery", check_at_start)
    gate = TenantGate(settings, runtime.publisher, SERVICE)
    guarded = gate.guard("conversations", healing.guard(handler, vouched_by=checked))
    runtime.consume("conversations", [topics.CONVERSATIONS], guarded, group=group)
    app = runtime.app("Relais bot")
    settle_heap()  # content, models and lexicons live as long as the process (runtime.settle_heap)
    return app

"""Composition root of the context store."""

from fastapi import FastAPI

from relais_context_store.access import ACCESS
from relais_context_store.adapters.conversation_log import ConversationLog
from relais_context_store.adapters.customer_directory import CustomerDirectory
from relais_context_store.adapters.identity_secrets import IdentitySecrets
from relais_context_store.adapters.view_keys import ViewKeys
from relais_context_store.adapters.view_queries import ViewQueries
from relais_context_store.api import admin, conversations, customers
from relais_context_store.consumers import ConversationLogHandler, InactivitySweep, InboundHandler
from relais_context_store.recovery import ViewsRecovery
from relais_context_store.service_layer.sealing import LogSealing
from relais_context_store.service_layer.store_lock import StoreLock
from relais_context_store.service_layer.watchdog import BotWatchdog
from relais_context_store.settings import ContextStoreSettings
from relais_contracts import topics
from relais_platform.consumer import Partition
from relais_platform.runtime import Runtime, settle_heap
from relais_platform.sealing import customer_keys
from relais_platform.tenants import TenantGate

SERVICE = "context-store"


def create_app(settings: ContextStoreSettings) -> FastAPI:
    secrets = IdentitySecrets(settings)  # before anything starts: a bad secrets file stops here
    runtime = Runtime(settings, SERVICE)
    view_keys = ViewKeys(settings)
    directory = CustomerDirectory(runtime.redis, view_keys)
    views = ConversationLog(runtime.redis, view_keys, directory, settings.closed_view_retention_s)
    queries = ViewQueries(runtime.redis, view_keys, directory, views)
    keys = customer_keys(runtime.redis, settings)
    lock = StoreLock()
    log_handler = ConversationLogHandler(
        views, directory, keys, runtime.publisher, lock, settings.consumer_batch_max
    )
    recovery = ViewsRecovery(settings, runtime.redis, views, log_handler, lock, SERVICE, runtime.stopping)
    gate = TenantGate(settings, runtime.publisher, SERVICE)
    checked = recovery.healing.publisher(runtime.publisher)  # resolutions made on whole views only
    runtime.background("views-recovery", recovery.start)
    inbound = InboundHandler(directory, views, keys, checked, settings, lock, secrets)
    runtime.consume("inbound", [topics.INBOUND], gate.guard("inbound", recovery.inbound(inbound, checked)))

    async def resume_from_views(committed: dict[Partition, int | None]) -> dict[Partition, int]:
        # The views record the last offset they applied with the changes themselves: resume after it.
        applied = await views.offsets(topics.CONVERSATIONS)
        return {(t, p): applied[p] + 1 for t, p in committed if t == topics.CONVERSATIONS and p in applied}

    runtime.consume(
        "log",
        [topics.CONVERSATIONS],
        gate.guard("log", recovery.log(log_handler)),
        on_assigned=resume_from_views,
    )
    sweep = InactivitySweep(views, runtime.publisher, settings, lock)

    async def sweep_once() -> None:
        await sweep()

    runtime.every("inactivity-sweep", settings.sweep_interval_s, sweep_once)
    if settings.bot_silence_timeout_s:
        runtime.every(
            "bot-watchdog",
            settings.bot_watchdog_interval_s,
            BotWatchdog(views, keys, runtime.publisher, settings, lock, log_handler),
        )

    app = runtime.app("Relais context store", ACCESS)
    app.state.settings = settings
    app.state.directory = directory
    app.state.log = views
    app.state.queries = queries
    app.state.keys = keys
    app.state.sealing = LogSealing(keys, settings)
    app.state.lock = lock
    app.state.log_handler = log_handler
    app.state.recovery = recovery
    for router in (conversations, customers, admin):
        app.include_router(router)
    settle_heap()  # the collector was half of the cost of decoding a record (runtime.settle_heap)
    return app

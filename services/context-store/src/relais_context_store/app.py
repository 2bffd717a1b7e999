"""Composition root of the context store."""

from fastapi import FastAPI

from relais_context_store.adapters.views import ConversationViews
from relais_context_store.api import router
from relais_context_store.consumers import ConversationLogHandler, InboundHandler
from relais_context_store.settings import ContextStoreSettings
from relais_contracts import topics
from relais_platform.runtime import Runtime

SERVICE = "context-store"


def create_app(settings: ContextStoreSettings) -> FastAPI:
    runtime = Runtime(settings, SERVICE)
    views = ConversationViews(runtime.redis, settings)
    runtime.consume("inbound", [topics.INBOUND], InboundHandler(views, runtime.publisher))
    runtime.consume("log", [topics.CONVERSATIONS], ConversationLogHandler(views, runtime.publisher))

    app = runtime.app("Relais context store")
    app.state.views = views
    app.include_router(router)
    return app

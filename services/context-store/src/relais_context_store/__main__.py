"""`relais-context-store` / `python -m relais_context_store`: run the service.

`python -m relais_context_store rebuild` wipes the views and replays the conversation log instead
(run it with the service stopped, or use the admin endpoint of a running instance).
"""

import asyncio
import json
import sys
from dataclasses import asdict

from relais_context_store.adapters.conversation_log import ConversationLog
from relais_context_store.adapters.customer_directory import CustomerDirectory
from relais_context_store.adapters.view_keys import ViewKeys
from relais_context_store.app import SERVICE, create_app
from relais_context_store.consumers import ConversationLogHandler
from relais_context_store.rebuild import rebuild
from relais_context_store.service_layer.store_lock import StoreLock
from relais_context_store.settings import ContextStoreSettings
from relais_platform.logs import configure_logging
from relais_platform.runtime import Runtime, serve
from relais_platform.sealing import customer_keys
from relais_platform.settings import load_settings


async def rebuild_command(settings: ContextStoreSettings) -> None:
    runtime = Runtime(settings, SERVICE)  # its publisher is never started: a rebuild publishes nothing
    view_keys = ViewKeys(settings)
    directory = CustomerDirectory(runtime.redis, view_keys)
    views = ConversationLog(runtime.redis, view_keys, directory, settings.closed_view_retention_s)
    handler = ConversationLogHandler(
        views, directory, customer_keys(runtime.redis, settings), runtime.publisher, StoreLock()
    )
    try:
        report = await rebuild(settings, views, handler)
    finally:
        await runtime.redis.aclose()
    print(json.dumps(asdict(report)))


def main() -> None:
    if sys.argv[1:] == ["rebuild"]:
        settings = load_settings(ContextStoreSettings, SERVICE)
        configure_logging(SERVICE, settings.log_level)
        asyncio.run(rebuild_command(settings))
        return
    if sys.argv[1:]:
        raise SystemExit(f"usage: {sys.argv[0]} [rebuild]")
    serve(create_app, ContextStoreSettings, SERVICE)


if __name__ == "__main__":
    main()

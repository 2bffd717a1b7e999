"""Composition root of the channels service: the HTTP ingress, the webhooks, email, the web chat and
the ops endpoints."""

import gc
import uuid
from collections.abc import Sequence

from fastapi import FastAPI

from relais_channels import api, webchat
from relais_channels.adapters.integrator_files import load_integrators
from relais_channels.adapters.outbox import Outbox
from relais_channels.adapters.threads import EmailThreads
from relais_channels.adapters.webchat_history import WebchatHistory
from relais_channels.domain.webchat import SocketLimits
from relais_channels.ingress import Ingress
from relais_channels.settings import ChannelsSettings
from relais_channels.smtp import MailHandler, MailOut, smtp_server
from relais_channels.webhooks import Dispatcher, OutboundHandler
from relais_contracts import topics
from relais_platform.consumer import BatchHandler, Delivery
from relais_platform.runtime import Runtime

SERVICE = "channels"


def create_app(settings: ChannelsSettings) -> FastAPI:
    runtime = Runtime(settings, SERVICE)
    integrators = load_integrators(settings)
    ingress = Ingress(integrators, settings, runtime.publisher)
    # The lease owner is this process, not its host: two replicas may share a host (tests, make up).
    outbox = Outbox(runtime.redis, settings, owner=f"{settings.instance_id}:{uuid.uuid4().hex}")
    group = settings.group(f"{SERVICE}-webhooks")
    threads = EmailThreads(runtime.redis, settings)
    mail = MailOut(threads, settings) if settings.smtp_relay_port else None
    history = WebchatHistory(runtime.redis, settings)
    # One read of the outbound topic for webhooks and the web chat: each handler is once-only per
    # message, so a batch read again after the other one failed changes nothing.
    outbound: list[BatchHandler] = [
        OutboundHandler(integrators, outbox, mail is not None),
        webchat.WebchatOutbound(integrators, history),
    ]
    # Registered with or without widget integrators, so what the service reads (and its Kafka ACLs)
    # does not depend on the configuration; without any, every record is skipped at once.
    runtime.consume(
        "webchat",
        [topics.CONVERSATIONS],
        webchat.WebchatConversations(integrators, history),
        group=settings.group(f"{SERVICE}-webchat"),
    )
    runtime.consume("webhooks", [topics.OUTBOUND], _each(outbound), group=group)
    runtime.background(
        "webhook-dispatcher", Dispatcher(integrators, outbox, runtime.publisher, settings, group, mail).run
    )
    if settings.smtp_port:
        handler = MailHandler(integrators, ingress, runtime.publisher, threads, settings)
        runtime.background("smtp", smtp_server(handler, settings))

    runtime.background("freeze-startup-heap", _freeze_startup_heap)

    app = runtime.app("Relais channels")
    app.state.ingress = ingress  # the web chat's sockets publish through it
    hub = webchat.WebchatHub(runtime.redis, history)
    runtime.background("webchat-notices", hub.run)
    app.state.widgets = webchat.widget_integrators(integrators)
    app.state.webchat_history = history
    app.state.webchat_hub = hub
    app.state.webchat_limits = SocketLimits(
        settings.webchat_sockets_per_ip, settings.webchat_messages_per_minute
    )
    app.include_router(webchat.router)
    api.serve_ingress(app, ingress)  # last: it documents every route included before it
    return app


async def _freeze_startup_heap() -> None:
    """Move what start-up allocated (modules, the app, the clients: ~100,000 objects) out of the cyclic
    collector's reach: they live as long as the process, and rescanning them made each full collection
    a pause of tens of milliseconds under load, the ingress's p99 (bench-channels). Still freed by
    reference counting; only new objects are scanned from here on."""
    gc.collect()
    gc.freeze()


def _each(handlers: Sequence[BatchHandler]) -> BatchHandler:
    async def handle(deliveries: Sequence[Delivery]) -> None:
        for handler in handlers:
            await handler(deliveries)

    return handle

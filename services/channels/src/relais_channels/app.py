"""Composition root of the channels service: the HTTP ingress, the webhooks and the ops endpoints."""

import uuid

from fastapi import FastAPI

from relais_channels import api
from relais_channels.adapters.integrator_files import load_integrators
from relais_channels.adapters.outbox import Outbox
from relais_channels.adapters.threads import EmailThreads
from relais_channels.ingress import Ingress
from relais_channels.settings import ChannelsSettings
from relais_channels.smtp import MailHandler, MailOut, smtp_server
from relais_channels.webhooks import Dispatcher, OutboundHandler
from relais_contracts import topics
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
    runtime.consume(
        "webhooks", [topics.OUTBOUND], OutboundHandler(integrators, outbox, mail is not None), group=group
    )
    runtime.background(
        "webhook-dispatcher", Dispatcher(integrators, outbox, runtime.publisher, settings, group, mail).run
    )
    if settings.smtp_port:
        handler = MailHandler(integrators, ingress, runtime.publisher, threads, settings)
        runtime.background("smtp", smtp_server(handler, settings))

    app = runtime.app("Relais channels")
    app.state.ingress = ingress
    app.include_router(api.router)
    return app

"""Composition root of the channels service: the HTTP ingress, the webhooks and the ops endpoints."""

from fastapi import FastAPI

from relais_channels import api
from relais_channels.adapters.integrator_files import load_integrators
from relais_channels.ingress import Ingress
from relais_channels.settings import ChannelsSettings
from relais_platform.runtime import Runtime

SERVICE = "channels"


def create_app(settings: ChannelsSettings) -> FastAPI:
    runtime = Runtime(settings, SERVICE)
    ingress = Ingress(load_integrators(settings), settings, runtime.publisher)

    app = runtime.app("Relais channels")
    app.state.ingress = ingress
    app.include_router(api.router)
    return app

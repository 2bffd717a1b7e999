"""The customers' web chat, the shell: the widget's files, the visitor's WebSocket (`/chat/ws`), and the
consumers that fill each visitor's history (domain.webchat, adapters.webchat_history).

In: a visitor's message goes through `Ingress.publish` as the widget integrator's, like any edge's,
and is acknowledged to the widget only once Kafka has it. Out: the bot's and agents' messages on the
`webchat` channel (relais.outbound.v1) and the hand-over notices (relais.conversations.v1) are appended
to the visitor's history in Redis; one Pub/Sub notice wakes the sockets of that visitor on whichever
replica holds them, and each socket reads its history from where it is. A reload reads it from the
start, a reconnect from the last entry the widget drew.
"""

import asyncio
import contextlib
import html
import json
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog
from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.websockets import WebSocketDisconnect

from relais_channels.adapters.webchat_history import WebchatHistory
from relais_channels.domain import webchat
from relais_channels.domain.cloudevents_http import IngressError
from relais_channels.domain.integrators import Integrator
from relais_channels.ingress import Ingress
from relais_channels.metrics import WEBCHAT_MESSAGES, WEBCHAT_REFUSED, WEBCHAT_SOCKETS
from relais_channels.settings import ChannelsSettings
from relais_contracts import now_time
from relais_contracts.channel import MessageSend
from relais_contracts.conversation import (
    Assigned,
    ChannelSwitched,
    Opened,
    Released,
    ReturnedToBot,
    Transferred,
)
from relais_platform.consumer import Delivery
from relais_platform.faults import infrastructure_fault

log = structlog.get_logger(__name__)

STATIC = Path(__file__).parent / "static" / "chat"
# The demo page runs only this service's scripts and styles and talks only to it.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# The widget is a module script other sites load: modules are fetched with CORS.
ASSET_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "public, max-age=300",
}
HISTORY_BATCH = 100
# A lost notice costs at most this much latency (the history is the truth, notices only wake; every
# socket is woken when the subscription is made again). Spread out: thousands of idle sockets would
# otherwise read Redis in step.
SAFETY_POLL_S = 30.0
RESUBSCRIBE_DELAY_S = 1.0
CLOSE_POLICY = 1008
CLOSE_UNAVAILABLE = 1013


def widget_integrators(integrators: dict[str, Integrator]) -> dict[str, Integrator]:
    return {i.id: i for i in integrators.values() if i.widget}


class WebchatHub:
    """Wakes this replica's sockets of a visitor when the visitor's history grows (one Redis
    connection for all of them), and every socket when the subscription is made again."""

    def __init__(self, redis: Redis, history: WebchatHistory) -> None:
        self._redis = redis
        self._channel = history.notices
        self._waiting: dict[tuple[str, str], set[asyncio.Event]] = defaultdict(set)

    def register(self, tenant: str, visitor: str) -> asyncio.Event:
        wake = asyncio.Event()
        self._waiting[(tenant, visitor)].add(wake)
        return wake

    def unregister(self, tenant: str, visitor: str, wake: asyncio.Event) -> None:
        sockets = self._waiting.get((tenant, visitor))
        if sockets is not None:
            sockets.discard(wake)
            if not sockets:
                del self._waiting[(tenant, visitor)]

    async def run(self) -> None:
        while True:
            try:
                await self._listen()
            except (RedisError, OSError) as exc:
                log.warning("web chat notices interrupted; resubscribing", error=repr(exc))
                await asyncio.sleep(RESUBSCRIBE_DELAY_S)

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._channel)
            for sockets in self._waiting.values():  # what was appended while nobody listened
                for wake in sockets:
                    wake.set()
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None:
                    tenant, visitor = json.loads(message["data"])
                    for wake in self._waiting.get((tenant, visitor), ()):
                        wake.set()
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]


class WebchatOutbound:
    """Batch handler of relais.outbound.v1 (beside the webhooks'): the widget visitors' messages into
    their histories."""

    def __init__(self, integrators: dict[str, Integrator], history: WebchatHistory) -> None:
        self._tenants = {i.tenant for i in widget_integrators(integrators).values()}
        self._history = history

    async def __call__(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            event = delivery.event
            if not (
                isinstance(event, MessageSend)
                and event.data.channel == webchat.CHANNEL
                and event.tenant in self._tenants
                and webchat.is_visitor(event.data.to.address)
            ):
                continue
            visitor = event.data.to.address
            if event.subject:  # the hand-over notices name the conversation only
                await self._history.remember_visitor(event.subject, event.tenant, visitor)
            entry = webchat.reply_entry(event)
            if await self._history.append(event.tenant, visitor, entry["id"], entry):
                WEBCHAT_MESSAGES.labels("out").inc()


class WebchatConversations:
    """Batch handler of relais.conversations.v1: which visitor a conversation is, and when a person
    takes it over or leaves it, into that visitor's history."""

    def __init__(self, integrators: dict[str, Integrator], history: WebchatHistory) -> None:
        self._tenants = {i.tenant for i in widget_integrators(integrators).values()}
        self._history = history

    async def __call__(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            event = delivery.event
            if event.tenant not in self._tenants:
                continue
            match event:
                case Opened(data=d) | ChannelSwitched(data=d) if (
                    d.channel == webchat.CHANNEL and webchat.is_visitor(d.address)
                ):
                    await self._history.remember_visitor(event.subject, event.tenant, d.address)
                case Assigned() | Released() | ReturnedToBot() | Transferred():
                    found = await self._history.visitor_of(event.subject)
                    if found is not None:
                        tenant, visitor = found
                        await self._history.append(tenant, visitor, event.id, webchat.person_entry(event))


class VisitorSocket:
    """One visitor's socket: the history pushed as it grows, the visitor's messages published."""

    def __init__(
        self,
        ws: WebSocket,
        integrator: Integrator,
        visitor: str,
        ingress: Ingress,
        history: WebchatHistory,
        hub: WebchatHub,
        limits: webchat.SocketLimits,
        settings: ChannelsSettings,
    ) -> None:
        self._ws = ws
        self._integrator = integrator
        self._visitor = visitor
        self._ingress = ingress
        self._history = history
        self._hub = hub
        self._limits = limits
        self._settings = settings
        self._send_lock = asyncio.Lock()

    async def run(self, after: str | None) -> None:
        tasks = [asyncio.create_task(self._push(after)), asyncio.create_task(self._listen())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            await self._ws.send_text(json.dumps(frame, separators=(",", ":"), ensure_ascii=False))

    async def _push(self, after: str | None) -> None:
        tenant = self._integrator.tenant
        wake = self._hub.register(tenant, self._visitor)
        try:
            while True:
                wake.clear()  # before reading: a notice during the read is not lost
                entries = await self._history.read(tenant, self._visitor, after, HISTORY_BATCH)
                for position, entry in entries:
                    await self.send({"type": "entry", "seq": position, **entry})
                    after = position
                if len(entries) < HISTORY_BATCH:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), SAFETY_POLL_S * (0.5 + random.random()))
        finally:
            self._hub.unregister(tenant, self._visitor, wake)

    async def _listen(self) -> None:
        while True:
            frame = await self._ws.receive()
            if frame["type"] == "websocket.disconnect":
                return
            answer = await self._answer(frame.get("text"))
            await self.send(answer)

    async def _answer(self, raw: str | None) -> dict[str, Any]:
        s = self._settings
        try:
            message = webchat.parse_frame(raw, s.webchat_max_text_chars, s.webchat_max_frame_bytes)
        except webchat.FrameError as exc:
            WEBCHAT_REFUSED.labels(exc.code).inc()
            return {"type": "error", "code": exc.code, "detail": exc.detail, "client_id": exc.client_id}
        wait = self._limits.take(self._visitor, time.monotonic())
        if wait > 0:
            WEBCHAT_REFUSED.labels("rate_limited").inc()
            return {
                "type": "error",
                "code": "rate_limited",
                "detail": f"at most {s.webchat_messages_per_minute} messages a minute",
                "retry_after_s": round(wait, 1),
                "client_id": message.client_id,
            }
        id_ = webchat.event_id(self._integrator, self._visitor, message.client_id)
        now = now_time()
        try:
            event = webchat.received(self._integrator, self._visitor, message, id_, now)
            await self._ingress.publish(self._integrator, [event])
            # After Kafka's acknowledgement: the history never shows a message that was not sent.
            await self._history.append(
                self._integrator.tenant, self._visitor, id_, webchat.visitor_entry(message, id_, now)
            )
        except IngressError as exc:
            WEBCHAT_REFUSED.labels("forbidden").inc()
            return {
                "type": "error",
                "code": "forbidden",
                "detail": exc.detail,
                "client_id": message.client_id,
            }
        except Exception as exc:
            if not infrastructure_fault(exc):
                raise
            log.warning("web chat message not stored", integrator=self._integrator.id, error=repr(exc))
            WEBCHAT_REFUSED.labels("unavailable").inc()
            return {
                "type": "error",
                "code": "unavailable",
                "detail": "the message could not be stored; send it again",
                "client_id": message.client_id,
            }
        WEBCHAT_MESSAGES.labels("in").inc()
        return {"type": "ack", "client_id": message.client_id, "id": id_}


router = APIRouter(tags=["webchat"])


_ASSETS = {"widget.js": "text/javascript; charset=utf-8", "widget.css": "text/css; charset=utf-8"}
# Read once: a few kilobytes, served without a file read on the event loop.
_FILES = {name: (STATIC / name).read_bytes() for name in (*_ASSETS, "index.html")}


def _page(integrator: Integrator) -> str:
    name = html.escape(integrator.id, quote=True)
    return _FILES["index.html"].decode().replace("{{integrator}}", name)


@router.get("/chat", include_in_schema=False)
async def chat_redirect() -> RedirectResponse:
    return RedirectResponse("/chat/")


@router.get("/chat/", include_in_schema=False)
async def chat_page(request: Request, integrator: str | None = None) -> Response:
    """The demo page: the widget on an empty page, as the first widget integrator's (or ?integrator=)."""
    widgets: dict[str, Integrator] = request.app.state.widgets
    chosen = widgets.get(integrator or "") or next(iter(widgets.values()), None)
    if chosen is None:
        return HTMLResponse("No web chat here: no integrator has the widget.", status_code=404)
    return HTMLResponse(_page(chosen), headers=PAGE_HEADERS)


@router.get("/chat/{asset}", include_in_schema=False)
async def chat_asset(asset: str) -> Response:
    media = _ASSETS.get(asset)
    if media is None:
        return Response(status_code=404)
    return Response(_FILES[asset], media_type=media, headers=ASSET_HEADERS)


@router.websocket("/chat/ws")
async def chat_socket(websocket: WebSocket) -> None:
    """`/chat/ws?integrator=<id>[&token=<visitor token>][&after=<last seq drawn>]`."""
    app = websocket.app
    widgets: dict[str, Integrator] = app.state.widgets
    settings: ChannelsSettings = app.state.ingress.settings
    limits: webchat.SocketLimits = app.state.webchat_limits
    params = websocket.query_params
    integrator = widgets.get(params.get("integrator", ""))
    await websocket.accept()
    if integrator is None:
        await _refuse(websocket, "forbidden", "unknown web chat integrator")
        return
    if not webchat.origin_allowed(integrator, websocket.headers.get("origin"), websocket.headers.get("host")):
        await _refuse(websocket, "forbidden", "this site may not embed the widget")
        return
    visitor = webchat.visitor_of(integrator, params.get("token"))
    after = params.get("after") if visitor else None
    if visitor is None:
        # No token, or not one of ours (another integrator's, a tampered one): a new visitor, who reads
        # nothing but what it writes from now on.
        visitor = webchat.new_visitor()
    if after is not None and not _position(after):
        await _refuse(websocket, "invalid", "after is a seq the service sent")
        return
    ip = websocket.client.host if websocket.client else "unknown"
    if not limits.open(ip, visitor, time.monotonic()):
        await _refuse(
            websocket, "too_many_sockets", f"at most {settings.webchat_sockets_per_ip} chats per address"
        )
        return
    WEBCHAT_SOCKETS.inc()
    session = VisitorSocket(
        websocket, integrator, visitor, app.state.ingress, app.state.webchat_history, app.state.webchat_hub,
        limits, settings,
    )  # fmt: skip
    try:
        await session.send({"type": "welcome", "token": webchat.visitor_token(integrator, visitor)})
        await session.run(after)
    except WebSocketDisconnect:
        pass
    except Exception as exc:
        if not infrastructure_fault(exc):
            raise
        log.warning("web chat socket lost its store", error=repr(exc))
        with contextlib.suppress(Exception):
            await _refuse(websocket, "unavailable", "try again in a moment", CLOSE_UNAVAILABLE)
    finally:
        limits.close(ip, visitor)
        WEBCHAT_SOCKETS.dec()


def _position(value: str) -> bool:
    ms, _, seq = value.partition("-")
    return ms.isdigit() and seq.isdigit() and len(value) <= 41


async def _refuse(websocket: WebSocket, code: str, detail: str, close: int = CLOSE_POLICY) -> None:
    WEBCHAT_REFUSED.labels(code).inc()
    await websocket.send_text(json.dumps({"type": "error", "code": code, "detail": detail}))
    await websocket.close(close, detail[:120])

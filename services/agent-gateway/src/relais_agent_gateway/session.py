"""One agent's WebSocket session: pushes the agent's inbox and turns the desk's messages into events.

The protocol is described in `protocol.py`. The session keeps nothing but the socket: its position
is the client's `seq`, everything else is in Redis, so the agent may reconnect to any replica.
"""

import asyncio
import contextlib
import time
import uuid

import structlog
from aiokafka.errors import KafkaError
from fastapi import HTTPException, WebSocket
from redis.exceptions import RedisError

from relais_agent_gateway.auth import Agent, InvalidToken, TokenAuthority
from relais_agent_gateway.domain.actions import (
    NoAddress,
    NotYours,
    Refused,
    note_added,
    offer_answered,
    presence_changed,
    reply_noticed,
    reply_posted,
    transfer_requested,
    work_completed,
)
from relais_agent_gateway.inbox_hub import InboxHub
from relais_agent_gateway.protocol import (
    AcceptOffer,
    Ack,
    Action,
    AddNote,
    AgentInfo,
    Error,
    PostReply,
    ProtocolError,
    Ready,
    RejectOffer,
    RenewToken,
    ReturnToBot,
    SetPresence,
    Transfer,
    WrapUp,
    parse_client_message,
)
from relais_agent_gateway.reveal import reveal
from relais_agent_gateway.upstream import Upstream
from relais_agent_gateway.views import DeskViews
from relais_contracts import Outgoing, derive_key, now_time
from relais_platform.kafka import Publishes
from relais_platform.sealing import CustomerKeys, seal_replies

log = structlog.get_logger(__name__)

INBOX_BATCH = 100
# Notices wake a session at once; this poll only bounds the delay should one ever be lost.
SAFETY_POLL_S = 30.0
CLOSE_TOKEN_EXPIRED = 4401
CLOSE_INTERNAL_ERROR = 1011


class DeskSession:
    def __init__(
        self,
        websocket: WebSocket,
        agent: Agent,
        *,
        views: DeskViews,
        publisher: Publishes,
        tokens: TokenAuthority,
        keys: CustomerKeys,
        hub: InboxHub,
        upstream: Upstream,
        dispositions: tuple[str, ...],
    ) -> None:
        self._ws = websocket
        self._agent = agent
        self._views = views
        self._publisher = publisher
        self._tokens = tokens
        self._keys = keys
        self._hub = hub
        self._upstream = upstream
        self._dispositions = dispositions
        # The inbox reader and the message handler both send; one frame at a time.
        self._sending = asyncio.Lock()
        self._renewed = asyncio.Event()
        self._wake = asyncio.Event()  # the inbox reader's, from the hub
        self._closing = False
        self._log = log.bind(tenant=agent.tenant, agent_id=agent.id)

    async def run(self, after: str | None) -> None:
        """Serve until the client leaves, the token expires or the inbox cannot be read."""
        agent = self._agent
        # "Only new entries" is pinned to a concrete id now: re-reading with "$" on every poll would
        # lose entries added between two polls.
        position = after or await self._views.inbox_end(agent.tenant, agent.id)
        info = AgentInfo(id=agent.id, tenant=agent.tenant, name=agent.name, roles=agent.roles)
        conversations = await self._views.assigned(agent.tenant, agent.id)
        ready = Ready(
            seq=position,
            agent=info,
            conversations=conversations,
            dispositions=self._dispositions,
            away_reasons=await self._away_reasons() or (),
        )
        await self._send(ready.to_json())
        pushing = asyncio.create_task(self._push_inbox(position), name="push-inbox")
        listening = asyncio.create_task(self._listen(), name="listen")
        expiring = asyncio.create_task(self._until_token_expires(), name="expiry")
        try:
            done, _ = await asyncio.wait({pushing, listening, expiring}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Told to stop as well as cancelled: a cancellation that lands inside a library call (a Redis
            # read, a socket write) can be swallowed there on Python 3.11, and a task that missed it
            # would serve a closed socket for good (seen in the tests).
            self._closing = True
            self._renewed.set()
            self._wake.set()
            for task in (pushing, listening, expiring):
                task.cancel()
            await asyncio.gather(pushing, listening, expiring, return_exceptions=True)
        if expiring in done:
            await self._close(CLOSE_TOKEN_EXPIRED, "token expired")
        elif pushing in done and pushing.exception() is not None:
            self._log.warning("inbox push stopped", error=repr(pushing.exception()))
            await self._close(CLOSE_INTERNAL_ERROR, "inbox unavailable, reconnect with after=<last seq>")
        elif listening in done and listening.exception() is not None:
            self._log.error("session failed", exc_info=listening.exception())
            await self._close(CLOSE_INTERNAL_ERROR, "internal error, reconnect with after=<last seq>")

    async def _push_inbox(self, after: str) -> None:
        agent = self._agent
        wake = self._wake = self._hub.register(agent.tenant, agent.id)
        try:
            while not self._closing:
                wake.clear()  # before reading: a notice arriving during the read is not lost
                entries = await self._views.read_inbox(agent.tenant, agent.id, after, count=INBOX_BATCH)
                for seq, entry in entries:
                    await self._send(await reveal(entry, seq, agent.tenant, self._keys))
                    after = seq
                if len(entries) < INBOX_BATCH:
                    await _wait(wake, SAFETY_POLL_S)
        finally:
            self._hub.unregister(agent.tenant, agent.id, wake)

    async def _until_token_expires(self) -> None:
        """Returns when the session's token expires; a `token` message may push the expiry back."""
        while not self._closing and (remaining := self._agent.expires_at - time.time()) > 0:
            self._renewed.clear()
            await _wait(self._renewed, remaining)

    async def _listen(self) -> None:
        while True:
            frame = await self._ws.receive()
            if frame["type"] == "websocket.disconnect":
                return
            text = frame.get("text")
            if text is None:
                await self._send(Error(code="invalid", message="messages are JSON text frames").to_json())
                continue
            await self._send(await self._answer(text))

    async def _answer(self, text: str) -> str:
        """Act on one client message; the ack or error to send back."""
        try:
            command = parse_client_message(text)
        except ProtocolError as exc:
            return Error(ref=exc.ref, code=exc.code, message=exc.message).to_json()
        if isinstance(command, RenewToken):
            return await self._renew(command)
        event_id = (
            derive_key(self._agent.tenant, self._agent.id, command.client_msg_id)
            if command.client_msg_id
            else str(uuid.uuid4())
        )
        tenant = self._agent.tenant
        try:
            # A resend after a lost ack (the desk reconnected): published already, acked again as it was.
            if not (command.client_msg_id and await self._views.published(tenant, event_id)):
                await self._publisher.publish(await self._outgoing(command, event_id))
                if command.client_msg_id:
                    await self._views.mark_published(tenant, event_id)
        except NotYours as exc:
            return Error(ref=command.ref, code="not_yours", message=str(exc)).to_json()
        except Refused as exc:
            return Error(ref=command.ref, code="invalid", message=str(exc)).to_json()
        except NoAddress as exc:
            return Error(ref=command.ref, code="no_address", message=str(exc)).to_json()
        except (KafkaError, RedisError, OSError, TimeoutError, HTTPException) as exc:
            self._log.warning("action not published", action=command.type, error=repr(exc))
            return Error(ref=command.ref, code="unavailable", message="try again").to_json()
        return Ack(ref=command.ref, event_id=event_id).to_json()

    async def _renew(self, command: RenewToken) -> str:
        """Extend the session with a fresh token of the same agent; anything else keeps the old one."""
        try:
            renewed = await self._tokens.verify(command.token)
        except InvalidToken:
            return Error(ref=command.ref, code="invalid", message="invalid or expired token").to_json()
        if (renewed.tenant, renewed.id) != (self._agent.tenant, self._agent.id):
            return Error(ref=command.ref, code="forbidden", message="the token names another agent").to_json()
        self._agent = renewed
        self._renewed.set()
        return Ack(ref=command.ref).to_json()

    async def _outgoing(self, command: Action, event_id: str) -> list[Outgoing]:
        agent, at = self._agent, now_time()
        match command:
            case SetPresence():
                reasons = await self._away_reasons() if command.away_reason else ()
                return [presence_changed(agent, command, event_id=event_id, time=at, away_reasons=reasons)]
            case AcceptOffer() | RejectOffer():
                offer = await self._views.offer(agent.tenant, command.offer_id)
                return [offer_answered(agent, command, offer, event_id=event_id, time=at)]
        assignee = await self._views.assignee(agent.tenant, command.conversation_id)
        match command:
            case PostReply():
                reply = reply_posted(agent, command, assignee, event_id=event_id, time=at)
                if command.channel is not None:
                    await self._check_reachable(command)
                return [await self._sealed(reply), reply_noticed(reply)]
            case AddNote():
                return [await self._sealed(note_added(agent, command, assignee, event_id=event_id, time=at))]
            case Transfer():
                return [transfer_requested(agent, command, assignee, event_id=event_id, time=at)]
            case WrapUp() | ReturnToBot():
                return [
                    work_completed(agent, command, assignee, self._dispositions, event_id=event_id, time=at)
                ]
        raise AssertionError(f"unhandled {command.type}")

    async def _away_reasons(self) -> tuple[str, ...] | None:
        return await self._upstream.away_reasons(self._agent.tenant)

    async def _sealed(self, written: Outgoing) -> Outgoing:
        """A reply or note in the key of the conversation's customer, when they have one (their tenant
        seals): erasing the customer makes it unreadable on the log."""
        tenant, conversation_id = written.event.tenant, written.event.subject or ""
        customer = await self._views.customer_of(tenant, conversation_id)
        if customer is None:
            return written
        (sealed,) = await seal_replies(self._keys, [written], {(tenant, conversation_id): customer})
        return sealed

    async def _check_reachable(self, command: PostReply) -> None:
        """A reply on a channel the customer has no address on is refused here, before it is posted:
        the context store could only record it as failed."""
        assert command.channel is not None
        reaches = await self._upstream.reaches(self._agent.tenant, command.conversation_id, command.channel)
        if reaches is None:
            raise HTTPException(503, f"conversation {command.conversation_id} not in the context store yet")
        if not reaches:
            raise NoAddress(f"the customer has no {command.channel} address")

    async def _send(self, text: str) -> None:
        async with self._sending:
            await self._ws.send_text(text)

    async def _close(self, code: int, reason: str) -> None:
        # The client may be gone already; there is nobody left to tell.
        with contextlib.suppress(Exception):
            await self._ws.close(code, reason)


async def _wait(event: asyncio.Event, timeout_s: float) -> None:
    """Until `event` is set or `timeout_s` has passed (not `asyncio.wait_for`, which on Python 3.11
    swallows a cancellation that arrives just as the event is set)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await event.wait()

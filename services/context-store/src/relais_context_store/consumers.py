"""Kafka handlers of the context store: inbound channel events, the conversation log, the inactivity sweep.

Both handlers take the store's lock, so an admin rebuild (which also takes it) never interleaves with
live resolution or materialization in this process.
"""

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from relais_context_store.adapters.views import Applied, ConversationViews
from relais_context_store.domain.identity import (
    CustomerResolution,
    address_identity,
    identity_key,
    message_identities,
    resolve_customer,
)
from relais_context_store.domain.resolution import (
    OpenConversation,
    close_for_inactivity,
    customer_left,
    delivery_status,
    new_customer_id,
    resolve_message,
)
from relais_context_store.domain.timeline import (
    delivery,
    reply_destination,
    routing_cancellation,
    view_change,
)
from relais_context_store.domain.watchdog import TRANSCRIPT_MESSAGES, Silence, bot_silent
from relais_context_store.metrics import (
    BOT_SILENT_HANDOFFS,
    CONVERSATIONS_CLOSED,
    CONVERSATIONS_OPEN,
    IDENTITY_CONFLICTS,
    REDACTIONS,
    REPLY_LATENCY,
)
from relais_context_store.settings import ContextStoreSettings
from relais_contracts import Event, Outgoing, topics
from relais_contracts.channel import DeliveryUpdated, MessageReceived, MessageSend, SessionEnded
from relais_contracts.conversation import (
    Closed,
    ConversationEvent,
    CustomerLeft,
    CustomerMessage,
    HandoffRequested,
    Opened,
    ReplyPosted,
)
from relais_contracts.customers import CustomerErased, CustomerEvent, IdentityLinked, IdentityUnlinked
from relais_platform.consumer import Delivery
from relais_platform.kafka import Publishes
from relais_platform.logs import bound_to
from relais_platform.sealing import CustomerKeys, key_id, seal, seal_handoffs, unseal_messages, unseal_packets

log = structlog.get_logger(__name__)

# Fields of a conversation the materializer needs to decide deliveries and cancellations.
_CONVERSATION_FIELDS = ("state", "customer_id", "last_channel", "last_address", "last_customer_at")


class UnknownConversation(LookupError):
    """An event names a conversation (or message) the views have never seen."""


class InboundHandler:
    """Resolves each channel event to a customer and conversation and appends it to the conversation log."""

    def __init__(
        self,
        views: ConversationViews,
        keys: CustomerKeys,
        publisher: Publishes,
        settings: ContextStoreSettings,
        lock: asyncio.Lock,
    ) -> None:
        self._views = views
        self._keys = keys
        self._publisher = publisher
        self._settings = settings
        self._timeout = timedelta(seconds=settings.inactivity_timeout_s)
        self._lock = lock

    async def __call__(self, batch: Sequence[Delivery]) -> None:
        async with self._lock:
            await self._handle([d.event for d in batch])

    async def _handle(self, events: Sequence[Event]) -> None:
        region = self._settings.default_phone_region
        identities = {
            e.id: message_identities(e.data.channel, e.data.from_.address, e.data.identity, region)
            for e in events
            if isinstance(e, MessageReceived)
        }
        for e in events:
            if isinstance(e, SessionEnded):
                identities[e.id] = [address_identity(e.data.channel, e.data.from_.address, region)]
        owners: dict[str, dict[str, str]] = {}  # tenant -> identity key -> customer
        for tenant in {e.tenant for e in events if e.id in identities}:
            keys = [identity_key(i) for e in events if e.tenant == tenant for i in identities.get(e.id, ())]
            owners[tenant] = await self._views.owners(tenant, keys)

        # Customers first (links made earlier in the batch count for later messages), then conversations.
        customers: dict[str, CustomerResolution] = {}
        links: dict[tuple[str, str], str] = {}
        for e in events:
            if isinstance(e, MessageReceived):
                resolution = resolve_customer(identities[e.id], owners[e.tenant], new_customer_id(e))
                customers[e.id] = resolution
                for identity in resolution.new_links:
                    owners[e.tenant][identity_key(identity)] = resolution.customer_id
                    links[(e.tenant, identity_key(identity))] = resolution.customer_id
                if resolution.conflicts:
                    IDENTITY_CONFLICTS.labels(e.tenant).inc(len(resolution.conflicts))
                    with bound_to(e):
                        log.warning(
                            "identity hints name another customer; recorded, not merged",
                            customer_id=resolution.customer_id,
                            others=sorted({c.other_customer_id for c in resolution.conflicts}),
                        )
            elif isinstance(e, SessionEnded):
                owner = owners[e.tenant].get(identity_key(identities[e.id][0]))
                if owner:
                    customers[e.id] = CustomerResolution(owner, (), ())
        pointers = await self._views.open_conversations(
            (e.tenant, customers[e.id].customer_id) for e in events if e.id in customers
        )

        outgoing: list[Outgoing] = []
        changed: dict[tuple[str, str], OpenConversation] = {}
        for e in events:
            if isinstance(e, MessageReceived):
                customer = (e.tenant, customers[e.id].customer_id)
                resolved = resolve_message(e, customers[e.id], pointers.get(customer), self._timeout)
                pointers[customer] = changed[customer] = resolved.open_conversation
                if resolved.closed:
                    CONVERSATIONS_CLOSED.labels("inactivity").inc()
                for kind in resolved.message.data.redactions:
                    REDACTIONS.labels(kind).inc()
                outgoing += resolved.outgoing
            elif isinstance(e, SessionEnded):
                pointer = pointers.get((e.tenant, customers[e.id].customer_id)) if e.id in customers else None
                if pointer is None:
                    with bound_to(e):
                        log.info("customer left a channel with no open conversation; nothing to record")
                    continue
                outgoing.append(customer_left(e, pointer.conversation_id))
            elif isinstance(e, DeliveryUpdated):
                outgoing.append(await self._delivery_status(e))
            else:
                raise TypeError(f"{getattr(e, 'type', e)} does not belong on {topics.INBOUND}")
        outgoing = await self._sealed(outgoing, customers)
        # The log first, the resolver's state second: if we crash in between, the replay resolves the
        # same way, derives the same ids, and the log's readers drop the duplicates.
        await self._publisher.publish(outgoing)
        await self._views.record_resolution(links, changed)

    async def _delivery_status(self, event: DeliveryUpdated) -> Outgoing:
        # Relais' own message id is what it sent as `message_id`; the channel may echo it either way.
        for message_id in filter(None, (event.data.message_id, event.data.external_id)):
            if conversation := await self._views.conversation_of_message(event.tenant, message_id):
                return delivery_status(event, conversation, message_id)
        raise UnknownConversation(
            f"delivery report for message {event.data.message_id or event.data.external_id!r}: "
            f"no bot or agent message of tenant {event.tenant!r} has this id"
        )

    async def _sealed(
        self, outgoing: list[Outgoing], customers: dict[str, CustomerResolution]
    ) -> list[Outgoing]:
        """For the tenants that seal: customer text and names leave in the customer's key, not in clear."""
        wanted: dict[str, set[str]] = {}
        for o in outgoing:
            if isinstance(o.event, CustomerMessage) and self._settings.seals(o.event.tenant):
                wanted.setdefault(o.event.tenant, set()).add(customers[o.event.causationid or ""].customer_id)
        keys = {
            kid: k
            for tenant, ids in wanted.items()
            for kid, k in (await self._keys.ensure(tenant, ids)).items()
        }
        out = []
        for o in outgoing:
            event = o.event
            if not self._settings.seals(event.tenant):
                out.append(o)
                continue
            if isinstance(event, Opened):
                data: Any = event.data.model_copy(update={"customer_name": None})
                event = event.model_copy(update={"data": data})
            elif isinstance(event, CustomerMessage):
                kid = key_id(event.tenant, customers[event.causationid or ""].customer_id)
                sealed = seal(keys[kid], event.data.text, event.data.customer_name)
                data = event.data.model_copy(
                    update={"text": "", "customer_name": None, "text_sealed": sealed, "key_id": kid}
                )
                event = event.model_copy(update={"data": data})
            out.append(Outgoing(o.topic, o.key, event))
        return out


class ConversationLogHandler:
    """Materializes the conversation log into Redis views, delivers replies on the customer's channel,
    and tells the router to stop routing a conversation whose customer left or that closed."""

    def __init__(
        self,
        views: ConversationViews,
        keys: CustomerKeys,
        publisher: Publishes,
        lock: asyncio.Lock,
        batch_max: int = 500,
    ) -> None:
        self._views = views
        self._keys = keys
        self._publisher = publisher
        self._lock = lock
        self._batch_max = batch_max
        # False while full batches come in (a backlog after a restart): the views may hold a customer's
        # message but not yet the bot's reply that follows it on the log.
        self.caught_up = False

    async def __call__(self, batch: Sequence[Delivery]) -> None:
        async with self._lock:
            await self.materialize(batch, publish=True)
            self.caught_up = len(batch) < self._batch_max

    async def materialize(self, batch: Sequence[Delivery], *, publish: bool) -> None:
        """Apply a batch to the views; `publish=False` (a rebuild) computes everything but sends nothing."""
        await self._customer_events([d.event for d in batch if isinstance(d.event, CustomerEvent)])
        events = [d.event for d in batch if isinstance(d.event, ConversationEvent)]
        applied = await self._views.already_applied([(e.tenant, e.subject, e.id) for e in events])
        events = [e for e in events if e.id not in applied]
        clear: dict[str, ConversationEvent] = {
            m.id: m
            for m in await unseal_messages(self._keys, [e for e in events if isinstance(e, CustomerMessage)])
        }
        # The views hold handoff packets in clear too (erasure deletes the views).
        handoffs = [e for e in events if isinstance(e, HandoffRequested) and e.data.packet.sealed]
        packets = await unseal_packets(self._keys, [h.data.packet for h in handoffs])
        for handoff, packet in zip(handoffs, packets, strict=True):
            data = handoff.data.model_copy(update={"packet": packet})
            clear[handoff.id] = handoff.model_copy(update={"data": data})
        known = await self._views.conversation_fields(
            ((e.tenant, e.subject) for e in events), *_CONVERSATION_FIELDS
        )
        changes: list[Applied] = []
        outgoing: list[Outgoing] = []
        latencies: list[tuple[str, datetime | None]] = []
        for event in events:
            if event.id in applied:
                continue
            applied.add(event.id)  # the same event twice in one batch
            conversation = (event.tenant, event.subject)
            fields = known.setdefault(conversation, {})
            state_before = fields.get("state", "")
            change = view_change(clear.get(event.id, event))
            if isinstance(event, ReplyPosted):
                if "last_channel" not in fields:
                    raise UnknownConversation(f"reply {event.id} to unknown conversation {event.subject}")
                channel, address = await self._destination(event, fields)
                outgoing.append(
                    Outgoing(
                        topics.OUTBOUND,
                        topics.inbound_key(event.tenant, channel, address),
                        delivery(event, channel, address),
                    )
                )
                latencies.append((event.data.author.kind, _parse(fields.get("last_customer_at"))))
                # The timeline says where each reply went.
                change = replace(change, entry={**(change.entry or {}), "channel": channel})
            elif isinstance(event, CustomerLeft | Closed) and (
                cancel := routing_cancellation(event, state_before)
            ):
                outgoing.append(cancel)
            fields.update(change.fields)
            changes.append(
                Applied(
                    event.tenant,
                    event.subject,
                    event.id,
                    change,
                    fields.get("customer_id") or None,
                    event.time,
                )
            )
        if publish:
            await self._views.index_messages(
                (o.event.tenant, o.event.data.message_id, o.event.subject or "")
                for o in outgoing
                if isinstance(o.event, MessageSend)
            )
            await self._publisher.publish(outgoing)
            now = datetime.now(UTC)
            for kind, since in latencies:
                if since is not None:
                    REPLY_LATENCY.labels(kind).observe(max(0.0, (now - since).total_seconds()))
        offsets = {(d.topic, d.partition): d.offset for d in batch}
        await self._views.apply(changes, offsets)

    async def _destination(self, reply: ReplyPosted, fields: dict[str, str]) -> tuple[str, str]:
        if reply.data.channel and reply.data.channel != fields.get("last_channel"):
            extra = await self._views.conversation_fields(
                [(reply.tenant, reply.subject)], f"address:{reply.data.channel}"
            )
            fields = fields | extra.get((reply.tenant, reply.subject), {})
            identities = await self._views.identities(reply.tenant, fields.get("customer_id", ""))
            return reply_destination(reply, fields, identities)
        return reply_destination(reply, fields, [])

    async def _customer_events(self, events: Sequence[Event]) -> None:
        customer_events = [e for e in events if isinstance(e, CustomerEvent)]
        done = await self._views.customer_applied([(e.tenant, e.subject, e.id) for e in customer_events])
        for event in customer_events:
            if event.id in done:
                continue
            if isinstance(event, IdentityLinked | IdentityUnlinked):
                await self._views.apply_identities(event)
            elif isinstance(event, CustomerErased):
                await self._views.erase_customer(event.tenant, event.subject, event.data.conversation_ids)


def _parse(at: str | None) -> datetime | None:
    return datetime.fromisoformat(at) if at else None


class InactivitySweep:
    """Closes conversations whose customer stayed silent past the timeout and no next message came.

    It runs on a clock, but what it writes does not depend on when it runs: the `closed` event's id and
    time derive from the conversation and its last activity, so a sweep on every replica, or a sweep
    racing a late message that closes the same conversation, writes one event.
    """

    def __init__(
        self,
        views: ConversationViews,
        publisher: Publishes,
        settings: ContextStoreSettings,
        lock: asyncio.Lock,
    ) -> None:
        self._views = views
        self._publisher = publisher
        self._timeout = timedelta(seconds=settings.inactivity_timeout_s)
        self._lock = lock  # never sweep half-rebuilt views
        self._tenants: set[str] = set()

    async def __call__(self) -> int:
        async with self._lock:
            return await self._sweep(datetime.now(UTC))

    async def _sweep(self, now: datetime) -> int:
        expired = await self._views.expired(now - self._timeout)
        known = await self._views.conversation_fields(((t, c) for t, c, _ in expired), "customer_id", "state")
        closing = []
        for tenant, cid, last_activity in expired:
            fields = known.get((tenant, cid), {})
            if fields.get("state") == "closed":
                continue
            pointer = OpenConversation(cid, "", "", last_activity, last_activity)
            closed = close_for_inactivity(tenant, pointer, fields.get("customer_id") or None, self._timeout)
            closing.append(Outgoing(topics.CONVERSATIONS, cid, closed))
        await self._publisher.publish(closing)
        CONVERSATIONS_CLOSED.labels("inactivity").inc(len(closing))
        counts = await self._views.open_per_tenant()
        # A tenant with nothing open any more loses its series: tenants that come and go (or a burst of
        # made-up ones in development) leave no gauge behind.
        for tenant in self._tenants - set(counts):
            with contextlib.suppress(KeyError):
                CONVERSATIONS_OPEN.remove(tenant)
        self._tenants = set(counts)
        for tenant, n in counts.items():
            CONVERSATIONS_OPEN.labels(tenant).set(n)
        return len(closing)


_WATCH_PAGE = 500


def _unanswered(fields: dict[str, str]) -> bool:
    """With the bot, and its last reply (if any) older than the customer's last message."""
    if fields.get("state") != "bot" or not fields.get("last_customer_at"):
        return False
    replied = fields.get("last_bot_at")
    return replied is None or datetime.fromisoformat(replied) < datetime.fromisoformat(
        fields["last_customer_at"]
    )


class BotWatchdog:
    """Hands a conversation to a person when the bot leaves a customer's message unanswered too long."""

    def __init__(
        self,
        views: ConversationViews,
        keys: CustomerKeys,
        publisher: Publishes,
        settings: ContextStoreSettings,
        lock: asyncio.Lock,
        log: ConversationLogHandler,
    ) -> None:
        self._views = views
        self._keys = keys  # a sealed tenant's handoff leaves sealed, as the bot's do
        self._log = log
        self._publisher = publisher
        self._deadline_s = settings.bot_silence_timeout_s
        self._horizon = timedelta(seconds=settings.bot_watchdog_horizon_s)
        self._lock = lock  # never judge half-rebuilt views
        # (tenant, conversation) -> (the unanswered message's time, when this process first saw it so)
        self._watched: dict[tuple[str, str], tuple[str, datetime]] = {}

    async def __call__(self) -> None:
        if not self._log.caught_up:
            return  # a reply the log holds may not be in the views yet: judging now could be wrong
        async with self._lock:
            await self.check(datetime.now(UTC))

    async def check(self, now: datetime) -> int:
        """Hand over the conversations whose customer waits for the bot past the deadline.

        Two clocks must agree: the customer's message is older than the deadline (event time), and
        this process has seen it unanswered for half the deadline (wall clock), so a message that
        arrives late (a delayed SMS, a backlog after an outage) still gives the bot its chance.
        """
        unanswered: dict[tuple[str, str], dict[str, str]] = {}
        start = 0
        while True:  # every conversation in the window, however many: oldest first, page by page
            page = await self._views.expired(
                now - timedelta(seconds=self._deadline_s / 2),
                _WATCH_PAGE,
                after=now - self._horizon,
                start=start,
            )
            fields = await self._views.conversation_fields(
                [(t, c) for t, c, _ in page],
                "state",
                "last_customer_at",
                "last_bot_at",
                "last_channel",
                "customer_id",
            )
            unanswered |= {c: f for c, f in fields.items() if _unanswered(f)}
            if len(page) < _WATCH_PAGE:
                break
            start += _WATCH_PAGE
        self._watched = {
            c: seen
            if (seen := self._watched.get(c)) and seen[0] == f["last_customer_at"]
            else (f["last_customer_at"], now)
            for c, f in unanswered.items()
        }
        ready = {
            c: f
            for c, f in unanswered.items()
            if (now - self._watched[c][1]).total_seconds() >= self._deadline_s / 2
        }
        timelines = await self._views.recent_timelines(ready, TRANSCRIPT_MESSAGES * 2)
        outputs = []
        for (tenant, cid), f in ready.items():
            silence = Silence(
                tenant=tenant,
                conversation_id=cid,
                state=f["state"],
                last_customer_at=datetime.fromisoformat(f["last_customer_at"]),
                last_bot_at=datetime.fromisoformat(f["last_bot_at"]) if f.get("last_bot_at") else None,
                channel=f.get("last_channel") or "webchat",
                customer_id=f.get("customer_id") or None,
                timeline=timelines.get((tenant, cid), []),
            )
            handoff = bot_silent(silence, now, self._deadline_s)
            if handoff:
                log.warning(
                    "the bot left a customer unanswered: handing over", tenant=tenant, conversation_id=cid
                )
                BOT_SILENT_HANDOFFS.labels(tenant).inc()
            outputs += handoff
        await self._publisher.publish(await seal_handoffs(self._keys, outputs))
        return len(outputs) // 2

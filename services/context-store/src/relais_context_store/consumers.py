"""Kafka handlers of the context store: inbound channel events, the conversation log, the inactivity sweep.

Both handlers share the store's lock (service_layer.store_lock): they run side by side, and an admin
rebuild, which takes it alone, never interleaves with live resolution or materialization in this
process.
"""

import contextlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import structlog

from relais_context_store.adapters.conversation_log import Applied, ConversationLog
from relais_context_store.adapters.customer_directory import CustomerDirectory
from relais_context_store.adapters.identity_secrets import IdentitySecrets
from relais_context_store.domain.facts import FactState, fold
from relais_context_store.domain.resolution import (
    OpenConversation,
    close_for_inactivity,
    customer_left,
    delivery_status,
    resolve_message,
)
from relais_context_store.domain.timeline import (
    NoAddress,
    delivery,
    reply_destination,
    routing_cancellation,
    routing_customer_wrote,
    undeliverable,
    view_change,
)
from relais_context_store.domain.watchdog import awaits_bot
from relais_context_store.metrics import (
    CONVERSATIONS_CLOSED,
    CONVERSATIONS_OPEN,
    FACTS_WRITTEN,
    REDACTIONS,
    REPLY_LATENCY,
    UNDELIVERABLE_REPLIES,
)
from relais_context_store.service_layer.identity import resolve_customers
from relais_context_store.service_layer.sealing import LogSealing, open_events
from relais_context_store.service_layer.store_lock import StoreLock
from relais_context_store.settings import ContextStoreSettings
from relais_contracts import Event, Outgoing, topics
from relais_contracts.channel import (
    DeliveryUpdated,
    MessageReceived,
    MessageSend,
    SessionEnded,
)
from relais_contracts.conversation import (
    Closed,
    ConversationEvent,
    CustomerLeft,
    CustomerMessage,
    HandoffRequested,
    NoteAdded,
    ReplyPosted,
)
from relais_contracts.customers import (
    CustomerErased,
    CustomerEvent,
    IdentityConfirmed,
    IdentityLinked,
    IdentityUnlinked,
)
from relais_contracts.facts import ConversationFact
from relais_platform.consumer import Delivery
from relais_platform.kafka import Publishes
from relais_platform.logs import bound_to
from relais_platform.sealing import (
    CustomerKeys,
    unseal_messages,
    unseal_packets,
    unseal_replies,
)

log = structlog.get_logger(__name__)

# The fold of the conversation's fact so far (domain.facts), kept with its view; internal, so its name
# has a colon, which keeps it out of the API's view of the conversation.
_FACT_FOLD = "fold:fact"
# Fields of a conversation the materializer needs to decide deliveries and cancellations.
# last_bot_at too, for the watchdog's index of conversations awaiting the bot.
_CONVERSATION_FIELDS = (
    "state",
    "customer_id",
    "last_channel",
    "last_address",
    "last_customer_at",
    "last_bot_at",
    _FACT_FOLD,
)


class UnknownConversation(LookupError):
    """An event names a conversation (or message) the views have never seen."""


class InboundHandler:
    """Resolves each channel event to a customer and conversation and appends it to the conversation log."""

    def __init__(
        self,
        directory: CustomerDirectory,
        log: ConversationLog,
        keys: CustomerKeys,
        publisher: Publishes,
        settings: ContextStoreSettings,
        lock: StoreLock,
        secrets: IdentitySecrets,
    ) -> None:
        self._directory = directory
        self._log = log
        self._keys = keys
        self._sealing = LogSealing(keys, settings)
        self._publisher = publisher
        self._settings = settings
        self._secrets = secrets
        self._timeout = timedelta(seconds=settings.inactivity_timeout_s)
        self._lock = lock

    async def __call__(self, batch: Sequence[Delivery]) -> None:
        async with self._lock.shared():
            await self._handle([d.event for d in batch])

    async def _handle(self, events: Sequence[Event]) -> None:
        resolved_customers = await resolve_customers(
            events, self._directory, self._secrets, self._settings, datetime.now(UTC)
        )
        customers, links = resolved_customers.customers, resolved_customers.links
        pointers = await self._directory.open_conversations(
            (e.tenant, customers[e.uid].customer_id) for e in events if e.uid in customers
        )

        outgoing: list[Outgoing] = []
        changed: dict[tuple[str, str], OpenConversation] = {}
        writers: dict[str, str] = {}  # event uid -> the customer whose key seals its text and address
        for e in events:
            if isinstance(e, MessageReceived):
                customer = (e.tenant, customers[e.uid].customer_id)
                resolved = resolve_message(
                    e,
                    customers[e.uid],
                    pointers.get(customer),
                    self._timeout,
                    self._settings.default_phone_region,
                )
                writers.update((o.event.uid, customer[1]) for o in resolved.outgoing)
                pointers[customer] = changed[customer] = resolved.open_conversation
                if resolved.closed:
                    CONVERSATIONS_CLOSED.labels("inactivity").inc()
                for kind in resolved.message.data.redactions:
                    REDACTIONS.labels(kind).inc()
                outgoing += resolved.outgoing
            elif isinstance(e, SessionEnded):
                pointer = (
                    pointers.get((e.tenant, customers[e.uid].customer_id)) if e.uid in customers else None
                )
                if pointer is None:
                    with bound_to(e):
                        log.info("customer left a channel with no open conversation; nothing to record")
                    continue
                left = customer_left(e, pointer.conversation_id)
                writers[left.event.uid] = customers[e.uid].customer_id
                outgoing.append(left)
            elif isinstance(e, DeliveryUpdated):
                outgoing.append(await self._delivery_status(e))
            else:
                raise TypeError(f"{getattr(e, 'type', e)} does not belong on {topics.INBOUND}")
        outgoing = await self._sealing.seal(outgoing, writers)
        # The log first, the resolver's state second: if we crash in between, the replay resolves the
        # same way, derives the same ids, and the log's readers drop the duplicates.
        await self._publisher.publish(outgoing)
        await self._directory.record_resolution(links, changed)

    async def _delivery_status(self, event: DeliveryUpdated) -> Outgoing:
        # Relais' own message id is what it sent as `message_id`; the channel may echo it either way.
        for message_id in filter(None, (event.data.message_id, event.data.external_id)):
            if conversation := await self._log.conversation_of_message(event.tenant, message_id):
                return delivery_status(event, conversation, message_id)
        raise UnknownConversation(
            f"delivery report for message {event.data.message_id or event.data.external_id!r}: "
            f"no bot or agent message of tenant {event.tenant!r} has this id"
        )


class ConversationLogHandler:
    """Materializes the conversation log into Redis views, delivers replies on the customer's channel,
    and tells the router to stop routing a conversation whose customer left or that closed."""

    def __init__(
        self,
        log: ConversationLog,
        directory: CustomerDirectory,
        keys: CustomerKeys,
        publisher: Publishes,
        lock: StoreLock,
        batch_max: int = 500,
    ) -> None:
        self._log = log
        self._directory = directory
        self._keys = keys
        self._publisher = publisher
        self._lock = lock
        self._batch_max = batch_max
        # False while full batches come in (a backlog after a restart): the views may hold a customer's
        # message but not yet the bot's reply that follows it on the log.
        self.caught_up = False

    async def __call__(self, batch: Sequence[Delivery]) -> None:
        async with self._lock.shared():
            await self.materialize(batch, publish=True)
            self.caught_up = len(batch) < self._batch_max

    async def materialize(self, batch: Sequence[Delivery], *, publish: bool) -> None:
        """Apply a batch to the views; `publish=False` (a rebuild) computes everything but sends nothing."""
        # Addresses and identities in clear first (an erased customer's identity events drop out here).
        opened = await open_events(self._keys, [d.event for d in batch])
        await self._customer_events([e for e in opened if isinstance(e, CustomerEvent)])
        events = [e for e in opened if isinstance(e, ConversationEvent)]
        applied, known = await self._log.batch_reads(
            [(e.tenant, e.subject, e.uid) for e in events], *_CONVERSATION_FIELDS
        )
        events = [e for e in events if e.uid not in applied]
        clear: dict[str, ConversationEvent] = {
            m.uid: m
            for m in await unseal_messages(self._keys, [e for e in events if isinstance(e, CustomerMessage)])
        }
        # Replies and notes too: the customer reads a reply in clear, the timeline shows both.
        written = [e for e in events if isinstance(e, ReplyPosted | NoteAdded) and e.data.sealed]
        clear.update((w.uid, w) for w in await unseal_replies(self._keys, written))
        # The views hold handoff packets in clear too (erasure deletes the views).
        handoffs = [e for e in events if isinstance(e, HandoffRequested) and e.data.packet.sealed]
        packets = await unseal_packets(self._keys, [h.data.packet for h in handoffs])
        for handoff, packet in zip(handoffs, packets, strict=True):
            data = handoff.data.model_copy(update={"packet": packet})
            clear[handoff.uid] = handoff.model_copy(update={"data": data})
        changes: list[Applied] = []
        outgoing: list[Outgoing] = []
        latencies: list[tuple[str, datetime | None]] = []
        for event in events:
            if event.uid in applied:
                continue
            applied.add(event.uid)  # the same event twice in one batch
            conversation = (event.tenant, event.subject)
            fields = known.setdefault(conversation, {})
            state_before = fields.get("state", "")
            change = view_change(clear.get(event.uid, event))
            # The fact's fold runs on the event as logged (sealed or not: a fact holds no words), and
            # its state is stored with the view, in the same script, so a replay resumes it exactly.
            before = fields.get(_FACT_FOLD)
            state, fact = fold(FactState.model_validate_json(before) if before else FactState(), event)
            if (after := state.model_dump_json()) != before:
                change = replace(change, fields={**change.fields, _FACT_FOLD: after})
            if fact is not None:
                outgoing.append(Outgoing(topics.FACTS, event.subject, fact))
            if isinstance(event, ReplyPosted):
                if "last_channel" not in fields:
                    raise UnknownConversation(f"reply {event.id} to unknown conversation {event.subject}")
                try:
                    channel, address = await self._destination(event, fields)
                except NoAddress as exc:
                    # The agent's mistake, not the log's: recorded as a failed delivery of this reply,
                    # and the rest of the batch goes on.
                    if publish:  # once, not again on every rebuild
                        with bound_to(event):
                            log.warning("reply not delivered: no address on its channel", reason=str(exc))
                        UNDELIVERABLE_REPLIES.labels(event.tenant).inc()
                    channel = event.data.channel or fields["last_channel"]
                    outgoing.append(undeliverable(event, f"the customer has no {channel} address"))
                else:
                    reply = clear.get(event.uid, event)
                    assert isinstance(reply, ReplyPosted)
                    outgoing.append(
                        Outgoing(
                            topics.OUTBOUND,
                            topics.inbound_key(event.tenant, channel, address),
                            delivery(reply, channel, address),
                        )
                    )
                    latencies.append((event.data.author.kind, _parse(fields.get("last_customer_at"))))
                # The timeline says where each reply went, or was meant to go.
                change = replace(change, entry={**(change.entry or {}), "channel": channel})
            elif isinstance(event, CustomerLeft | Closed) and (
                cancel := routing_cancellation(event, state_before)
            ):
                outgoing.append(cancel)
            elif isinstance(event, CustomerMessage) and (
                wrote := routing_customer_wrote(event, state_before)
            ):
                outgoing.append(wrote)
            fields.update(change.fields)
            changes.append(
                Applied(
                    event.tenant,
                    event.subject,
                    event.uid,
                    change,
                    fields.get("customer_id") or None,
                    event.time,
                    _parse(fields.get("last_customer_at")) if awaits_bot(fields) else None,
                )
            )
        if publish:
            await self._log.index_messages(
                (o.event.tenant, o.event.data.message_id, o.event.subject or "")
                for o in outgoing
                if isinstance(o.event, MessageSend)
            )
            await self._publisher.publish(outgoing)
            for o in outgoing:
                if isinstance(o.event, ConversationFact):
                    FACTS_WRITTEN.labels(o.event.data.ended_by).inc()
            now = datetime.now(UTC)
            for kind, since in latencies:
                if since is not None:
                    REPLY_LATENCY.labels(kind).observe(max(0.0, (now - since).total_seconds()))
        offsets = {(d.topic, d.partition): d.offset for d in batch}
        await self._log.apply(changes, offsets)

    async def _destination(self, reply: ReplyPosted, fields: dict[str, str]) -> tuple[str, str]:
        if reply.data.channel and reply.data.channel != fields.get("last_channel"):
            extra = await self._log.conversation_fields(
                [(reply.tenant, reply.subject)], f"address:{reply.data.channel}"
            )
            fields = fields | extra.get((reply.tenant, reply.subject), {})
            identities = await self._directory.identities(reply.tenant, fields.get("customer_id", ""))
            return reply_destination(reply, fields, identities)
        return reply_destination(reply, fields, [])

    async def _customer_events(self, events: Sequence[Event]) -> None:
        customer_events = [e for e in events if isinstance(e, CustomerEvent)]
        done = await self._directory.customer_applied([(e.tenant, e.subject, e.uid) for e in customer_events])
        identities: list[IdentityLinked | IdentityUnlinked | IdentityConfirmed] = []
        for event in customer_events:
            if event.uid in done:
                continue
            done.add(event.uid)  # the same event twice in one batch
            if isinstance(event, IdentityLinked | IdentityUnlinked | IdentityConfirmed):
                identities.append(event)
            elif isinstance(event, CustomerErased):
                # In log order: the identity events before the erasure are applied before it.
                await self._directory.apply_identities(identities)
                identities = []
                await self._log.erase_customer(event.tenant, event.subject, event.data.conversation_ids)
        await self._directory.apply_identities(identities)


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
        log: ConversationLog,
        publisher: Publishes,
        settings: ContextStoreSettings,
        lock: StoreLock,
    ) -> None:
        self._log = log
        self._publisher = publisher
        self._timeout = timedelta(seconds=settings.inactivity_timeout_s)
        self._lock = lock  # never sweep half-rebuilt views
        self._tenants: set[str] = set()

    async def __call__(self) -> int:
        async with self._lock.shared():
            return await self._sweep(datetime.now(UTC))

    async def _sweep(self, now: datetime) -> int:
        expired = await self._log.expired(now - self._timeout)
        known = await self._log.conversation_fields(((t, c) for t, c, _ in expired), "customer_id", "state")
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
        counts = await self._log.open_per_tenant()
        # A tenant with nothing open any more loses its series: tenants that come and go (or a burst of
        # made-up ones in development) leave no gauge behind.
        for tenant in self._tenants - set(counts):
            with contextlib.suppress(KeyError):
                CONVERSATIONS_OPEN.remove(tenant)
        self._tenants = set(counts)
        for tenant, n in counts.items():
            CONVERSATIONS_OPEN.labels(tenant).set(n)
        return len(closing)

"""Kafka handlers of the context store: inbound channel messages, and the conversation log."""

from collections.abc import Sequence

import structlog

from relais_context_store.adapters.views import Applied, ConversationViews
from relais_context_store.domain.resolution import resolve_message
from relais_context_store.domain.timeline import delivery, view_change
from relais_contracts import Outgoing, topics
from relais_contracts.channel import DeliveryUpdated, MessageReceived, MessageSend, SessionEnded
from relais_contracts.conversation import ConversationEvent, ReplyPosted
from relais_platform.consumer import Delivery
from relais_platform.kafka import Publishes
from relais_platform.logs import bound_to

log = structlog.get_logger(__name__)


class UnknownConversation(LookupError):
    """A reply names a conversation the views have never seen: it cannot be delivered anywhere."""


class InboundHandler:
    """Resolves each customer message to a conversation and appends it to the conversation log."""

    def __init__(self, views: ConversationViews, publisher: Publishes) -> None:
        self._views = views
        self._publisher = publisher

    async def __call__(self, batch: Sequence[Delivery]) -> None:
        messages = [d.event for d in batch if isinstance(d.event, MessageReceived)]
        open_now = await self._views.open_conversations(
            (m.tenant, m.data.channel, m.data.from_.address) for m in messages
        )
        opened: dict[tuple[str, str, str], str] = {}  # only the new ones need indexing
        outgoing: list[Outgoing] = []
        for d in batch:
            event = d.event
            if isinstance(event, MessageReceived):
                address = (event.tenant, event.data.channel, event.data.from_.address)
                appended = resolve_message(event, open_now.get(address))
                if address not in open_now:
                    open_now[address] = opened[address] = appended[-1].subject
                outgoing += [Outgoing(topics.CONVERSATIONS, e.subject, e) for e in appended]
            elif isinstance(event, DeliveryUpdated | SessionEnded):
                with bound_to(event):
                    log.info("channel notice not applied yet")
            else:
                raise TypeError(f"{event.type} does not belong on {topics.INBOUND}")
        # The log first, the index second: if we crash in between, the replay finds no index entry,
        # derives the same conversation id and re-publishes the same event ids, which are dropped.
        await self._publisher.publish(outgoing)
        await self._views.index_addresses(opened)


class ConversationLogHandler:
    """Materializes the conversation log into Redis views and delivers replies on the customer's channel."""

    def __init__(self, views: ConversationViews, publisher: Publishes) -> None:
        self._views = views
        self._publisher = publisher

    async def __call__(self, batch: Sequence[Delivery]) -> None:
        events = [d.event for d in batch if isinstance(d.event, ConversationEvent)]
        applied = await self._views.already_applied([(e.tenant, e.subject, e.id) for e in events])
        channels = await self._views.last_channels(
            (e.tenant, e.subject) for e in events if isinstance(e, ReplyPosted)
        )
        changes: list[Applied] = []
        sends: list[Outgoing] = []
        for event in events:
            if event.id in applied:
                continue
            applied.add(event.id)  # the same event twice in one batch
            change = view_change(event)
            conversation = (event.tenant, event.subject)
            if "last_channel" in change.fields:
                channels[conversation] = (change.fields["last_channel"], change.fields["last_address"])
            if isinstance(event, ReplyPosted):
                if conversation not in channels:
                    raise UnknownConversation(f"reply {event.id} to unknown conversation {event.subject}")
                send: MessageSend = delivery(event, *channels[conversation])
                sends.append(
                    Outgoing(topics.OUTBOUND, topics.inbound_key(event.tenant, *channels[conversation]), send)
                )
            changes.append(Applied(event.tenant, event.subject, event.id, change))
        await self._publisher.publish(sends)
        offsets: dict[tuple[str, int], int] = {}
        for d in batch:
            offsets[(d.topic, d.partition)] = d.offset
        await self._views.apply(changes, offsets)

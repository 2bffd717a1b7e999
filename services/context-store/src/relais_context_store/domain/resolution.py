"""Resolve an inbound channel event to its customer's conversation and the events to append to the log.

A customer has at most one open conversation. A message joins it, on whatever channel it comes (a
`channel.switched` event marks the move), unless the customer was silent for longer than the inactivity
timeout: then that conversation closes and a new one opens. Time is the events' time, never a clock.

Output ids are derived from the input event's id with fixed indexes, so a replay after a crash derives
the same ids whichever way it resolves: 0 opened, 1 message, 2 channel switched, 3 identity linked,
4 customer left, 5 delivery status. A conversation's `closed` id derives from the conversation alone, so
the inactivity sweep and a late message that both close it produce one event.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from relais_context_store.domain.identity import CustomerResolution
from relais_context_store.domain.redaction import redact_message
from relais_contracts import Outgoing, derive_key, topics
from relais_contracts.channel import DeliveryUpdated, MessageReceived, SessionEnded
from relais_contracts.conversation import (
    ChannelSwitched,
    ChannelSwitchedData,
    Closed,
    ClosedData,
    CustomerLeft,
    CustomerLeftData,
    CustomerMessage,
    CustomerMessageData,
    DeliveryStatus,
    DeliveryStatusData,
    Opened,
    OpenedData,
)
from relais_contracts.customers import IdentityLinked, IdentityLinkedData

SOURCE = "relais/context-store"


@dataclass(frozen=True)
class OpenConversation:
    """The customer's open conversation as the resolver sees it."""

    conversation_id: str
    channel: str
    address: str
    last_activity: datetime  # the time of the customer's last message in it
    since: datetime  # when it opened: of two open conversations of a customer, the newer wins


@dataclass(frozen=True)
class Resolved:
    outgoing: list[Outgoing]  # in log order
    message: CustomerMessage  # the message as the log gets it (redacted)
    customer_id: str
    open_conversation: OpenConversation  # after this message
    closed: str | None  # the conversation this message closed for inactivity, if any


def new_customer_id(event: MessageReceived) -> str:
    return derive_key(event.tenant, "customer", event.uid)


def is_expired(conversation: OpenConversation, at: datetime, timeout: timedelta) -> bool:
    return at - conversation.last_activity > timeout


def close_for_inactivity(
    tenant: str, conversation: OpenConversation, customer_id: str | None, timeout: timedelta
) -> Closed:
    """The `closed` event of a conversation whose customer went silent, dated when the timeout ran out."""
    return Closed(
        id=derive_key(tenant, "closed", conversation.conversation_id),
        source=SOURCE,
        time=conversation.last_activity + timeout,
        tenant=tenant,
        subject=conversation.conversation_id,
        data=ClosedData(reason="inactivity", customer_id=customer_id),
    )


def _on_log(event: Opened | CustomerMessage | ChannelSwitched | Closed | CustomerLeft) -> Outgoing:
    return Outgoing(topics.CONVERSATIONS, event.subject, event)


def resolve_message(
    event: MessageReceived,
    customer: CustomerResolution,
    open_conversation: OpenConversation | None,
    timeout: timedelta,
    phone_region: str | None = None,
) -> Resolved:
    """Events to append for one inbound message, its text redacted; and the customer's open conversation.

    `phone_region`: the region of phone numbers written without a country code (see `redact`)."""
    data = event.data
    clean = redact_message(data, phone_region)
    out: list[Outgoing] = []
    closed = None
    if open_conversation is not None and is_expired(open_conversation, event.time, timeout):
        closed = open_conversation.conversation_id
        out.append(
            _on_log(close_for_inactivity(event.tenant, open_conversation, customer.customer_id, timeout))
        )
        open_conversation = None
    if open_conversation is None:
        conversation_id = derive_key(event.tenant, "conversation", event.uid)
        opened = Opened(
            **event.follow(0, source=SOURCE, subject=conversation_id),
            data=OpenedData(
                channel=data.channel,
                address=data.from_.address,
                customer_name=clean.name,
                identity=data.identity,
                customer_id=customer.customer_id,
            ),
        )
        out.append(_on_log(opened))
    else:
        conversation_id = open_conversation.conversation_id
        if (open_conversation.channel, open_conversation.address) != (data.channel, data.from_.address):
            switched = ChannelSwitched(
                **event.follow(2, source=SOURCE, subject=conversation_id),
                data=ChannelSwitchedData(
                    from_channel=open_conversation.channel,
                    channel=data.channel,
                    address=data.from_.address,
                    customer_id=customer.customer_id,
                ),
            )
            out.append(_on_log(switched))
    message = CustomerMessage(
        **event.follow(1, source=SOURCE, subject=conversation_id),
        data=CustomerMessageData(
            message_id=event.follow(1)["id"],
            channel=data.channel,
            address=data.from_.address,
            customer_name=clean.name,
            text=clean.text,
            external_id=data.external_id,
            language=data.language,
            attachments=clean.attachments,
            redactions=clean.kinds,
            truncated_from=clean.truncated_from,
        ),
    )
    out.append(_on_log(message))
    if customer.new_links or customer.conflicts or customer.claims:
        linked = IdentityLinked(
            **event.follow(3, source=SOURCE, subject=customer.customer_id),
            data=IdentityLinkedData(
                identities=customer.new_links,
                conflicts=customer.conflicts,
                claims=customer.claims,
                conversation_id=conversation_id,
            ),
        )
        # First on the log: the customer's identities are known before their conversation.
        out.insert(0, Outgoing(topics.CONVERSATIONS, event.tenant, linked))
    now_open = OpenConversation(conversation_id, data.channel, data.from_.address, event.time, event.time)
    if open_conversation is not None:
        now_open = replace(now_open, since=open_conversation.since)
        if open_conversation.last_activity > event.time:
            # A late message (an earlier one on a slower channel) moves neither the time nor the channel.
            now_open = replace(open_conversation, conversation_id=conversation_id)
    return Resolved(out, message, customer.customer_id, now_open, closed)


def customer_left(event: SessionEnded, conversation_id: str) -> Outgoing:
    """Record on the log that the customer left the channel session of their open conversation."""
    left = CustomerLeft(
        **event.follow(4, source=SOURCE, subject=conversation_id),
        data=CustomerLeftData(channel=event.data.channel, address=event.data.from_.address),
    )
    return _on_log(left)


def delivery_status(event: DeliveryUpdated, conversation_id: str, message_id: str) -> Outgoing:
    """A channel's delivery report, as a conversation event that the timeline applies to the message."""
    status = DeliveryStatus(
        **event.follow(5, source=SOURCE, subject=conversation_id),
        data=DeliveryStatusData(
            message_id=message_id,
            status=event.data.status,
            reason=event.data.reason,
            external_id=event.data.external_id,
        ),
    )
    return Outgoing(topics.CONVERSATIONS, conversation_id, status)

"""How each conversation event changes a conversation's view, and where a reply is delivered."""

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic_core import to_json

from relais_context_store.domain.identity import PHONE_CHANNELS
from relais_context_store.domain.resolution import SOURCE
from relais_contracts import Outgoing, topics
from relais_contracts.channel import Author, MessageSend, MessageSendData, Recipient
from relais_contracts.conversation import (
    Assigned,
    ChannelSwitched,
    ClockBreached,
    Closed,
    ConversationEvent,
    CustomerLeft,
    CustomerMessage,
    DeliveryStatus,
    DeliveryStatusData,
    Dequeued,
    HandoffRequested,
    NoteAdded,
    Offered,
    Opened,
    Queued,
    Reassigned,
    Released,
    ReplyPosted,
    ReturnedToBot,
    Transferred,
)
from relais_contracts.routing import CustomerWrote, CustomerWroteData, WorkCancelled, WorkCancelledData

# States in which the router holds the conversation: leaving or closing must cancel the routing.
ROUTED_STATES = frozenset({"waiting", "offered", "assigned"})
# A delivery report never moves a message back: read beats delivered beats failed.
_STATUS_RANK = {"failed": 0, "delivered": 1, "read": 2}


@dataclass(frozen=True)
class CustomerChange:
    """What an event does to its customer's pointer to their open conversation."""

    what: Literal["opened", "activity", "closed"]
    customer_id: str | None = None  # None: the customer of the conversation, as the views know it
    channel: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class ViewChange:
    """What one event does to the views: a timeline entry (if any), conversation fields to set, a
    delivery report for one of its messages, a message id to index, a change to its customer."""

    entry: dict[str, Any] | None
    fields: dict[str, str] = field(default_factory=dict)
    delivery: tuple[str, str, str] | None = None  # message id, status, time
    indexed_message: str | None = None
    customer: CustomerChange | None = None


def _participant(kind: str, key: str, name: str | None) -> dict[str, str]:
    """A conversation field naming one participant (bot or agent), so reads need not scan the timeline."""
    who = {"kind": kind, "id": key if kind == "agent" else None, "name": name}
    return {f"participant:{kind}:{key}": json.dumps(who, separators=(",", ":"))}


def _entry(event: ConversationEvent, kind: str, **extra: Any) -> dict[str, Any]:
    return {"event_id": event.id, "kind": kind, "at": event.time.isoformat(), **extra}


def view_change(event: ConversationEvent) -> ViewChange:
    """The view changes an event contributes (pure; applied once per event id).

    A sealed customer message must be unsealed before it gets here: the views hold the text in clear,
    and erasure deletes them.
    """
    at = event.time.isoformat()
    match event:
        case Opened(data=d):
            return ViewChange(
                _entry(event, "opened", channel=d.channel),
                {
                    "tenant": event.tenant,
                    "id": event.subject,
                    "state": "bot",
                    "opened_at": at,
                    "channel": d.channel,
                    "address": d.address,
                    "last_channel": d.channel,
                    "last_address": d.address,
                    f"address:{d.channel}": d.address,
                    "customer_id": d.customer_id or "",
                    "customer_name": d.customer_name or "",
                    "updated_at": at,
                },
                customer=CustomerChange("opened", d.customer_id, d.channel, d.address),
            )
        case CustomerMessage(data=d):
            fields = {
                "last_channel": d.channel,
                "last_address": d.address,
                f"address:{d.channel}": d.address,
                "last_customer_at": at,
                "updated_at": at,
            }
            if d.customer_name:
                fields["customer_name"] = d.customer_name
            return ViewChange(
                _entry(
                    event, "message", message_id=d.message_id, author_kind="customer",
                    author_name=d.customer_name, channel=d.channel, text=d.text, external_id=d.external_id,
                    redactions=list(d.redactions),
                    **({"truncated_from": d.truncated_from} if d.truncated_from else {}),
                ),
                fields,
                customer=CustomerChange("activity", None, d.channel, d.address),
            )  # fmt: skip
        case ChannelSwitched(data=d):
            return ViewChange(
                _entry(event, "channel_switched", from_channel=d.from_channel, channel=d.channel),
                {"last_channel": d.channel, "last_address": d.address, f"address:{d.channel}": d.address},
                customer=CustomerChange("activity", d.customer_id, d.channel, d.address),
            )
        case ReplyPosted(data=d):
            return ViewChange(
                _entry(
                    event, "message", message_id=d.message_id, author_kind=d.author.kind,
                    author_name=d.author.name, author_id=d.author.id, text=d.text, in_reply_to=d.in_reply_to,
                ),
                {"updated_at": at, **({"last_bot_at": at} if d.author.kind == "bot" else {}),
                 **_participant(d.author.kind, d.author.id or d.author.name, d.author.name)},
                indexed_message=d.message_id,
            )  # fmt: skip
        case DeliveryStatus(data=d):
            return ViewChange(None, delivery=(d.message_id, d.status, at))
        case NoteAdded(data=d):
            # Internal: in the timeline for the agents, never delivered (only replies are).
            return ViewChange(
                _entry(
                    event, "note", note_id=d.note_id, author_kind=d.author.kind, author_id=d.author.id,
                    author_name=d.author.name, text=d.text,
                ),
                {"updated_at": at},
            )  # fmt: skip
        case HandoffRequested(data=d):
            return ViewChange(
                _entry(
                    event, "handoff", reason=d.packet.reason, summary=d.packet.summary, queue=d.packet.queue
                ),
                {"state": "waiting", "handoff": d.packet.model_dump_json(), "updated_at": at},
            )
        case Queued(data=d):
            return ViewChange(
                _entry(event, "queued", queue=d.queue, position=d.position), {"state": "waiting"}
            )
        case Offered():
            return ViewChange(None, {"state": "offered", "updated_at": at})
        case Assigned(data=d):
            return ViewChange(
                _entry(event, "assigned", agent_id=d.agent_id, agent_name=d.agent_name),
                {
                    "state": "assigned",
                    "agent_id": d.agent_id,
                    "updated_at": at,
                    **_participant("agent", d.agent_id, d.agent_name),
                },
            )
        case Transferred(data=d):
            return ViewChange(
                _entry(event, "transferred", to_queue=d.to_queue, to_agent_id=d.to_agent_id),
                {"state": "waiting", "updated_at": at},
            )
        case Reassigned(data=d):
            # The second agent reads in the timeline why the conversation came to them.
            return ViewChange(
                _entry(event, "reassigned", from_agent_id=d.from_agent_id, reason=d.reason),
                {"state": "waiting", "updated_at": at},
            )
        case ClockBreached(data=d):
            return ViewChange(
                _entry(event, "clock_breached", clock=d.clock, agent_id=d.agent_id, target_s=d.target_s)
            )
        case ReturnedToBot(data=d):
            return ViewChange(
                _entry(event, "returned_to_bot", agent_id=d.agent_id), {"state": "bot", "updated_at": at}
            )
        case Released(data=d) if d.reason == "completed":
            return ViewChange(
                _entry(event, "wrapped_up", agent_id=d.agent_id, disposition=d.disposition),
                {"state": "wrapped_up", "updated_at": at},
            )
        case Dequeued(data=d):
            return ViewChange(
                _entry(event, "dequeued", queue=d.queue, reason=d.reason), {"state": "bot", "updated_at": at}
            )
        case CustomerLeft(data=d):
            return ViewChange(
                _entry(event, "customer_left", channel=d.channel), {"customer_left_at": at, "updated_at": at}
            )
        case Closed(data=d):
            return ViewChange(
                _entry(event, "closed", reason=d.reason),
                {"state": "closed", "closed_at": at, "closed_reason": d.reason, "updated_at": at},
                customer=CustomerChange("closed", d.customer_id),
            )
    return ViewChange(None)


def delivery_summary(reports: dict[str, str]) -> dict[str, Any]:
    """A message's delivery as the API shows it, from its reports (status -> time), in any order."""
    best = max(reports, key=lambda s: _STATUS_RANK.get(s, -1))
    return {"status": best, "reports": dict(sorted(reports.items(), key=lambda kv: kv[1]))}


class NoAddress(LookupError):
    """A reply was asked to go out on a channel the customer has no known address on."""


def reply_destination(
    reply: ReplyPosted, conversation: dict[str, str], identities: list[dict[str, Any]]
) -> tuple[str, str]:
    """(channel, address) a reply goes to: the channel the agent chose, else the customer's last one.

    On a chosen channel the address is the one the customer used there in this conversation, else one
    of the customer's identities that fits the channel (an email for email, a phone for SMS...).
    """
    channel = reply.data.channel or conversation["last_channel"]
    if address := _address_on(channel, conversation, identities):
        return channel, address
    raise NoAddress(
        f"reply {reply.id}: the customer of conversation {reply.subject} has no known {channel} address"
    )


def reply_channels(conversation: dict[str, str], identities: list[dict[str, Any]]) -> list[str]:
    """Every channel a reply in this conversation can be delivered on (what `reply_destination` accepts),
    so the agent gateway can refuse a reply on any other before it is posted."""
    candidates = {conversation.get("last_channel", "")}
    candidates |= {k.removeprefix("address:") for k in conversation if k.startswith("address:")}
    for identity in identities:
        if identity["kind"] == "phone":
            candidates |= PHONE_CHANNELS
        elif identity["kind"] == "email":
            candidates.add("email")
        elif identity["kind"] == "address" and identity.get("channel"):
            candidates.add(str(identity["channel"]))
    return sorted(c for c in candidates if c and _address_on(c, conversation, identities))


def _address_on(channel: str, conversation: dict[str, str], identities: list[dict[str, Any]]) -> str | None:
    if channel == conversation.get("last_channel"):
        return conversation.get("last_address") or None
    if address := conversation.get(f"address:{channel}"):
        return address
    wanted = "email" if channel == "email" else "phone" if channel in PHONE_CHANNELS else None
    for identity in identities:
        if identity["kind"] == wanted or (
            identity["kind"] == "address" and identity.get("channel") == channel
        ):
            return str(identity["value"])
    return None


def undeliverable(reply: ReplyPosted, reason: str) -> Outgoing:
    """A reply that cannot go out (no address on its channel) is recorded as a failed delivery on the
    log, so the agent's desk shows it failed, instead of stalling the batch it came in."""
    failed = DeliveryStatus(
        **reply.follow(1, source=SOURCE, subject=reply.subject),
        data=DeliveryStatusData(message_id=reply.data.message_id, status="failed", reason=reason),
    )
    return Outgoing(topics.CONVERSATIONS, reply.subject or "", failed)


def delivery(reply: ReplyPosted, channel: str, address: str) -> MessageSend:
    """The outbound message for a bot or agent reply, on the given channel and address."""
    return MessageSend(
        **reply.follow(0, source=SOURCE, subject=reply.subject),
        data=MessageSendData(
            channel=channel,
            to=Recipient(address=address),
            text=reply.data.text,
            message_id=reply.data.message_id,
            in_reply_to=reply.data.in_reply_to,
            author=Author(kind=reply.data.author.kind, name=reply.data.author.name),
            quick_replies=reply.data.quick_replies,
        ),
    )


def routing_cancellation(event: CustomerLeft | Closed, state: str) -> Outgoing | None:
    """When the customer leaves or the conversation closes while routed, the router must let it go."""
    if state not in ROUTED_STATES:
        return None
    cancelled = WorkCancelled(
        **event.follow(0, source=SOURCE),
        data=WorkCancelledData(
            conversation_id=event.subject,
            reason="customer-left" if isinstance(event, CustomerLeft) else "closed",
        ),
    )
    return Outgoing(topics.ROUTING, event.tenant, cancelled)


def routing_customer_wrote(event: CustomerMessage, state: str) -> Outgoing | None:
    """A customer message while an agent holds the conversation starts the router's next-response
    clock: the router hears that the customer wrote, never what."""
    if state != "assigned":
        return None
    wrote = CustomerWrote(
        **event.follow(0, source=SOURCE),
        data=CustomerWroteData(conversation_id=event.subject, message_id=event.data.message_id),
    )
    return Outgoing(topics.ROUTING, event.tenant, wrote)


def participants(fields: dict[str, str]) -> list[dict[str, Any]]:
    """Who took part in a conversation, from its fields: the customer, then the bot and agents."""
    customer = {
        "kind": "customer",
        "id": fields.get("customer_id") or None,
        "name": fields.get("customer_name") or None,
    }
    others = [json.loads(v) for k, v in sorted(fields.items()) if k.startswith("participant:")]
    return [customer, *others]


def entry_json(entry: dict[str, Any]) -> str:
    # pydantic-core's serializer, not json.dumps: the same compact UTF-8 JSON, at a fraction of the
    # cost (json's encoder was 4 % of the context store's CPU per message in bench-pipeline).
    return to_json(entry).decode()

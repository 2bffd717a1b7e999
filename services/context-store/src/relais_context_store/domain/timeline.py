"""How each conversation event changes a conversation's view, and where a reply is delivered."""

from dataclasses import dataclass, field
from typing import Any

from relais_context_store.domain.resolution import SOURCE
from relais_contracts.channel import Author, MessageSend, MessageSendData, Recipient
from relais_contracts.conversation import (
    Assigned,
    ConversationEvent,
    CustomerMessage,
    HandoffRequested,
    Offered,
    Opened,
    Queued,
    ReplyPosted,
)


@dataclass(frozen=True)
class ViewChange:
    """What one event does to the view: a timeline entry (if any) and conversation fields to set."""

    entry: dict[str, Any] | None
    fields: dict[str, str] = field(default_factory=dict)


def _entry(event: ConversationEvent, kind: str, **extra: Any) -> dict[str, Any]:
    return {"event_id": event.id, "kind": kind, "at": event.time.isoformat(), **extra}


def view_change(event: ConversationEvent) -> ViewChange:
    """The timeline entry and state fields an event contributes (pure; applied once per event id)."""
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
                    "customer_name": d.customer_name or "",
                    "updated_at": at,
                },
            )
        case CustomerMessage(data=d):
            return ViewChange(
                _entry(
                    event, "message", message_id=d.message_id, author_kind="customer",
                    author_name=d.customer_name, channel=d.channel, text=d.text, external_id=d.external_id,
                ),
                {"last_channel": d.channel, "last_address": d.address, "updated_at": at},
            )  # fmt: skip
        case ReplyPosted(data=d):
            return ViewChange(
                _entry(
                    event, "message", message_id=d.message_id, author_kind=d.author.kind,
                    author_name=d.author.name, author_id=d.author.id, text=d.text, in_reply_to=d.in_reply_to,
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
        case Offered(data=d):
            return ViewChange(None, {"state": "offered", "updated_at": at})
        case Assigned(data=d):
            return ViewChange(
                _entry(event, "assigned", agent_id=d.agent_id, agent_name=d.agent_name),
                {"state": "assigned", "agent_id": d.agent_id, "updated_at": at},
            )
    return ViewChange(None)


def delivery(reply: ReplyPosted, last_channel: str, last_address: str) -> MessageSend:
    """The outbound message for a bot or agent reply, on the channel the customer used last."""
    return MessageSend(
        **reply.follow(0, source=SOURCE, subject=reply.subject),
        data=MessageSendData(
            channel=last_channel,
            to=Recipient(address=last_address),
            text=reply.data.text,
            message_id=reply.data.message_id,
            in_reply_to=reply.data.in_reply_to,
            author=Author(kind=reply.data.author.kind, name=reply.data.author.name),
        ),
    )

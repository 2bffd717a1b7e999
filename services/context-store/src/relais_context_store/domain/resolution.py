"""Resolve an inbound channel message to its conversation and the events to append to the log."""

from relais_contracts import derive_key
from relais_contracts.channel import MessageReceived
from relais_contracts.conversation import (
    ConversationEvent,
    CustomerMessage,
    CustomerMessageData,
    Opened,
    OpenedData,
)

SOURCE = "relais/context-store"


def conversation_for(event: MessageReceived, open_conversation: str | None) -> str:
    """The open conversation of this address, or a new one whose id replays to the same value."""
    return open_conversation or derive_key(event.tenant, "conversation", event.id)


def resolve_message(event: MessageReceived, open_conversation: str | None) -> list[ConversationEvent]:
    """Events to append for one inbound message: `opened` first when the conversation is new.

    For now one open conversation per tenant + channel + address; identity across channels comes later.
    Output indexes are fixed (0 = opened, 1 = message) so a replay derives the same ids either way.
    """
    data = event.data
    conversation_id = conversation_for(event, open_conversation)
    out: list[ConversationEvent] = []
    if open_conversation is None:
        out.append(
            Opened(
                **event.follow(0, source=SOURCE, subject=conversation_id),
                data=OpenedData(
                    channel=data.channel,
                    address=data.from_.address,
                    customer_name=data.from_.name,
                    identity=data.identity,
                ),
            )
        )
    message_event_id = event.follow(1, source=SOURCE)["id"]
    out.append(
        CustomerMessage(
            **event.follow(1, source=SOURCE, subject=conversation_id),
            data=CustomerMessageData(
                message_id=message_event_id,
                channel=data.channel,
                address=data.from_.address,
                customer_name=data.from_.name,
                text=data.text,
                external_id=data.external_id,
                language=data.language,
                attachments=data.attachments,
            ),
        )
    )
    return out

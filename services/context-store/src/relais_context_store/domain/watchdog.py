"""A human stays reachable when the bot is down or silent: a customer message the bot has not answered
within the deadline hands the conversation to a person, with what the timeline holds as the packet.

The decision depends only on the conversation's view and the last customer message: its events' ids
derive from the conversation and that message's time, so every replica and every sweep that finds the
same silence writes the same two events, and consumers keep one of each.
"""

import json
from dataclasses import dataclass
from datetime import datetime

from relais_context_store.domain.resolution import SOURCE
from relais_contracts import Outgoing, derive_key, topics
from relais_contracts.conversation import (
    HandoffPacket,
    HandoffReason,
    HandoffRequested,
    HandoffRequestedData,
    TranscriptEntry,
)
from relais_contracts.routing import WorkSubmitted, WorkSubmittedData

REASON = HandoffReason.BOT_SILENT
# The transcript carried in the packet: the last messages, enough for the agent to pick up.
TRANSCRIPT_MESSAGES = 30


@dataclass(frozen=True)
class Silence:
    """What the views say about one conversation the customer wrote to last."""

    tenant: str
    conversation_id: str
    state: str  # "bot" while the bot has the conversation
    last_customer_at: datetime
    last_bot_at: datetime | None
    channel: str
    customer_id: str | None
    timeline: list[str]  # the entries' JSON, oldest first


def bot_silent(silence: Silence, now: datetime, deadline_s: float) -> list[Outgoing]:
    """The handoff to write if the bot left the customer's last message unanswered past the deadline."""
    if silence.state != "bot":
        return []  # with a person already, or on the way to one, or closed
    if silence.last_bot_at is not None and silence.last_bot_at >= silence.last_customer_at:
        return []
    if (now - silence.last_customer_at).total_seconds() < deadline_s:
        return []
    transcript = _transcript(silence.timeline)
    channels = tuple(dict.fromkeys(e.channel for e in transcript if e.channel))
    last = next((e.text for e in reversed(transcript) if e.author_kind == "customer"), "")
    packet = HandoffPacket(
        reason=REASON,
        summary=f"The bot did not answer within {deadline_s:g} s. Last customer message: {last}"[:4000],
        channels=channels or (silence.channel,),
        transcript=transcript,
        customer_id=silence.customer_id,
    )
    key = (silence.tenant, REASON, silence.conversation_id, silence.last_customer_at.isoformat())
    envelope = {"source": SOURCE, "time": now, "tenant": silence.tenant}
    requested = HandoffRequested(
        **envelope,
        id=derive_key(*key, "handoff"),
        subject=silence.conversation_id,
        data=HandoffRequestedData(packet=packet),
    )
    submitted = WorkSubmitted(
        **envelope,
        id=derive_key(*key, "work"),
        subject=silence.conversation_id,
        correlationid=requested.id,
        causationid=requested.id,
        data=WorkSubmittedData(
            conversation_id=silence.conversation_id, channel=silence.channel, packet=packet
        ),
    )
    return [
        Outgoing(topics.CONVERSATIONS, silence.conversation_id, requested),
        Outgoing(topics.ROUTING, silence.tenant, submitted),
    ]


def _transcript(timeline: list[str]) -> tuple[TranscriptEntry, ...]:
    entries = []
    for raw in timeline:
        entry = json.loads(raw)
        if entry.get("kind") != "message":
            continue
        entries.append(
            TranscriptEntry(
                message_id=entry["message_id"],
                author_kind=entry["author_kind"],
                author_name=entry.get("author_name"),
                channel=entry.get("channel"),
                text=entry.get("text", ""),
                at=entry["at"],
            )
        )
    return tuple(entries[-TRANSCRIPT_MESSAGES:])


def awaits_bot(fields: dict[str, str]) -> bool:
    """Per a conversation's view fields: with the bot, and its last reply (if any) older than the
    customer's last message."""
    if fields.get("state") != "bot" or not fields.get("last_customer_at"):
        return False
    replied = fields.get("last_bot_at")
    return replied is None or datetime.fromisoformat(replied) < datetime.fromisoformat(
        fields["last_customer_at"]
    )

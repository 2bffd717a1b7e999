"""The bot's policy: greet, answer what it can, and hand over at once when a person is asked for."""

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from relais_bot.domain.language import detect_language, normalise
from relais_contracts import Outgoing, topics
from relais_contracts.conversation import (
    Assigned,
    ConversationEvent,
    CustomerMessage,
    HandoffPacket,
    HandoffRequested,
    HandoffRequestedData,
    Opened,
    Queued,
    ReplyAuthor,
    ReplyData,
    ReplyPosted,
    TranscriptEntry,
)
from relais_contracts.envelope import CloudEvent
from relais_contracts.routing import WorkSubmitted, WorkSubmittedData

SOURCE = "relais/bot"
BOT_NAME = "Relais"
Mode = Literal["bot", "waiting", "agent"]

# An explicit request for a person, French and English, tolerant of missing accents and common typos.
HUMAN_REQUEST = re.compile(
    r"\b("
    r"conseill[eè]re?s?|consei?ler|humaine?|une? (vraie? )?personne|quelqu ?'?un|un agent|"
    r"parler a (un|une|quelqu)|operat(eur|rice)|"
    r"human|real person|a person|representative|an agent|agent please|live agent|someone|somebody|"
    r"operator|talk to (a|an|some)|speak (to|with) (a|an|some)"
    r")\b"
)
GREETING = re.compile(r"^(bonjour|bonsoir|salut|coucou|hello|hi|hey|good (morning|afternoon|evening))\b")

ANSWERS = {
    "greeting": {
        "fr": "Bonjour ! Je suis l'assistant Relais. Comment puis-je vous aider ? "
        "Si vous préférez, dites « conseiller » et je vous mets en relation avec une personne.",
        "en": "Hello! I'm the Relais assistant. How can I help? "
        "If you'd rather talk to a person, just say \"agent\" and I'll connect you.",
    },
    "default": {
        "fr": "Je peux vous renseigner sur vos commandes, livraisons, retours et factures. "
        "Pour parler à un conseiller, dites simplement « conseiller ».",
        "en": "I can help with orders, deliveries, returns and billing. "
        'To talk to a person, just say "agent".',
    },
    "handoff": {
        "fr": "Je vous mets en relation avec un conseiller. Il aura tout notre échange, inutile de répéter.",
        "en": "I'm connecting you with an agent. They will see our whole conversation, no need to repeat.",
    },
}


class BotState(BaseModel):
    """What the bot remembers of one conversation, rebuilt from the log alone."""

    model_config = ConfigDict(frozen=True)

    tenant: str = ""
    conversation_id: str = ""
    mode: Mode = "bot"
    language: str = "en"
    channel: str | None = None
    channels: tuple[str, ...] = ()
    transcript: tuple[TranscriptEntry, ...] = ()


def asks_for_human(text: str) -> bool:
    return HUMAN_REQUEST.search(normalise(text)) is not None


def _reply(event: CloudEvent, index: int, conversation_id: str, text: str, in_reply_to: str) -> ReplyPosted:
    fields = event.follow(index, source=SOURCE, subject=conversation_id)
    return ReplyPosted(
        **fields,
        data=ReplyData(
            message_id=fields["id"],
            author=ReplyAuthor(kind="bot", name=BOT_NAME),
            text=text,
            in_reply_to=in_reply_to,
        ),
    )


def _summary(transcript: tuple[TranscriptEntry, ...]) -> str:
    said = [e.text for e in transcript if e.author_kind == "customer"]
    return " / ".join(said[-5:])[:1000]


def decide(state: BotState, event: ConversationEvent) -> tuple[BotState, list[Outgoing]]:
    """The new state and the events to publish."""
    conversation_id = event.subject
    state = state.model_copy(update={"tenant": event.tenant, "conversation_id": conversation_id})
    match event:
        case Opened(data=d):
            return state.model_copy(update={"channel": d.channel, "channels": (d.channel,)}), []
        case CustomerMessage(data=d):
            entry = TranscriptEntry(
                message_id=d.message_id, author_kind="customer", author_name=d.customer_name,
                channel=d.channel, text=d.text, at=event.time,
            )  # fmt: skip
            channels = state.channels if d.channel in state.channels else (*state.channels, d.channel)
            language = detect_language(d.text, d.language, state.language if state.transcript else None)
            state = state.model_copy(
                update={
                    "transcript": (*state.transcript, entry), "channel": d.channel,
                    "channels": channels, "language": language,
                }
            )  # fmt: skip
            if state.mode != "bot":
                return state, []  # a person has it, or will: the bot stays quiet
            if asks_for_human(d.text):
                return _hand_over(state, event, "customer_request", d.message_id)
            intent = "greeting" if GREETING.match(normalise(d.text)) else "default"
            reply = _reply(event, 0, conversation_id, ANSWERS[intent][language], d.message_id)
            return state, [Outgoing(topics.CONVERSATIONS, conversation_id, reply)]
        case ReplyPosted(data=d):
            entry = TranscriptEntry(
                message_id=d.message_id, author_kind=d.author.kind, author_name=d.author.name,
                channel=state.channel, text=d.text, at=event.time,
            )  # fmt: skip
            return state.model_copy(update={"transcript": (*state.transcript, entry)}), []
        case Queued():
            return state.model_copy(update={"mode": "waiting"}), []
        case Assigned():
            return state.model_copy(update={"mode": "agent"}), []
    return state, []


def _hand_over(
    state: BotState, event: CustomerMessage, reason: str, in_reply_to: str
) -> tuple[BotState, list[Outgoing]]:
    cid = state.conversation_id
    packet = HandoffPacket(
        reason=reason,
        summary=_summary(state.transcript),
        language=state.language,
        channels=state.channels,
        transcript=state.transcript,
        queue="general",
    )
    notice = _reply(event, 0, cid, ANSWERS["handoff"][state.language], in_reply_to)
    handoff = HandoffRequested(
        **event.follow(1, source=SOURCE, subject=cid), data=HandoffRequestedData(packet=packet)
    )
    work = WorkSubmitted(
        **event.follow(2, source=SOURCE, subject=cid),
        data=WorkSubmittedData(conversation_id=cid, channel=state.channel or "webchat", packet=packet),
    )
    return state.model_copy(update={"mode": "waiting"}), [
        Outgoing(topics.CONVERSATIONS, cid, notice),
        Outgoing(topics.CONVERSATIONS, cid, handoff),
        Outgoing(topics.ROUTING, event.tenant, work),
    ]

"""The bot's policy: answer what it can in the customer's language, hand over the moment a person is
needed, keep a waiting customer informed, and take the conversation back when an agent returns it.

`Bot.decide(state, event)` is pure: the new state and the events to publish follow from the state and
the event alone (time comes from the event), so a replay reproduces the same outputs with the same ids.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from relais_bot.domain.content import SENSITIVE_CATEGORIES, Content, Intent, Rule, Trigger
from relais_bot.domain.entities import extract
from relais_bot.domain.escalation import Detectors, Signals, answer_to_question
from relais_bot.domain.intents import ClassifiesIntents, Prediction
from relais_bot.domain.language import DetectsLanguage, normalise
from relais_bot.domain.normalizer import bounded
from relais_bot.domain.rules import Facts, Phase, first, tenant_rule, turn_weight
from relais_bot.domain.sentiment import ScoresSentiment
from relais_contracts import Outgoing, topics
from relais_contracts.channel import QuickReply
from relais_contracts.conversation import (
    Assigned,
    ConversationEvent,
    CustomerMessage,
    Dequeued,
    Entity,
    HandoffPacket,
    HandoffReason,
    HandoffRequested,
    HandoffRequestedData,
    Opened,
    Queued,
    Reassigned,
    Released,
    ReplyAuthor,
    ReplyData,
    ReplyPosted,
    ReturnedToBot,
    TranscriptEntry,
    Transferred,
    WaitUpdated,
)
from relais_contracts.routing import WorkSubmitted, WorkSubmittedData

SOURCE = "relais/bot"
Mode = Literal["bot", "waiting", "agent"]
# "asked": the bot asked whether the customer wants a person (the unsure band), instead of answering.
Outcome = Literal["answered", "clarified", "asked", "handed_over", "waiting", "ignored"]
# Why the conversation went to a person; the label of relais_bot_handoffs_total.
Reason = HandoffReason
# What one conversation's state keeps at most, so a chatty conversation cannot grow it without bound.
TRANSCRIPT_KEPT = 200
ENTITIES_KEPT = 50
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


class WaitNotice(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    position: int | None = None
    expected_wait_s: int | None = None


class BotState(BaseModel):
    """What the bot remembers of one conversation, rebuilt from the log alone."""

    model_config = ConfigDict(frozen=True)

    tenant: str = ""
    conversation_id: str = ""
    mode: Mode = "bot"
    language: str | None = None
    channel: str | None = None
    channels: tuple[str, ...] = ()
    customer_id: str | None = None
    customer_ref: str | None = None
    transcript: tuple[TranscriptEntry, ...] = ()
    sentiment: tuple[float, ...] = ()
    negative_streak: int = 0
    low_confidence_streak: int = 0
    intent: str | None = None
    confidence: float | None = None
    intent_streak: int = 0
    turns: int = 0
    entities: tuple[Entity, ...] = ()
    sensitivity: tuple[str, ...] = ()
    bot_answers: tuple[str, ...] = ()
    handoff_reason: str | None = None
    last_agent_id: str | None = None
    wait_notice: WaitNotice | None = None
    # The bot asked "Would you like to talk to a person?" and awaits the answer.
    asked_person: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    state: BotState
    outputs: list[Outgoing]
    # Set for a customer message: what the bot did with it (metrics), and why it handed over.
    outcome: Outcome | None = None
    reason: Reason | None = None


@dataclass(frozen=True, slots=True)
class TenantBot:
    """One tenant's content and the models trained from it."""

    content: Content
    classifier: ClassifiesIntents
    languages: DetectsLanguage
    detectors: Detectors


@dataclass(frozen=True, slots=True)
class _Route:
    reason: Reason
    priority: int
    queue: str
    skills: tuple[str, ...]


class Bot:
    def __init__(
        self, tenants: Mapping[str, TenantBot], default: TenantBot, sentiment: ScoresSentiment
    ) -> None:
        self._tenants = tenants
        self._default = default
        self._sentiment = sentiment

    def tenant(self, tenant: str) -> TenantBot:
        return self._tenants.get(tenant, self._default)

    def decide(self, state: BotState, event: ConversationEvent) -> Decision:
        """The new state, the events to publish, and for a customer message what became of it."""
        state = state.model_copy(update={"tenant": event.tenant, "conversation_id": event.subject})
        bot = self.tenant(event.tenant)
        match event:
            case CustomerMessage():
                return self._message(bot, state, event)
            case Opened(data=d):
                return Decision(
                    state.model_copy(
                        update={
                            "channel": d.channel, "channels": (d.channel,), "customer_id": d.customer_id,
                            "customer_ref": d.identity.customer_ref if d.identity else None,
                        }
                    ),
                    [],
                )  # fmt: skip
            case ReplyPosted(data=d):
                entry = TranscriptEntry(
                    message_id=d.message_id, author_kind=d.author.kind, author_name=d.author.name,
                    channel=state.channel, text=d.text, at=event.time,
                )  # fmt: skip
                return Decision(state.model_copy(update={"transcript": _kept(state.transcript, entry)}), [])
            case HandoffRequested() if event.source != SOURCE:
                # Another service handed over for the bot (the context store's watchdog, when the bot
                # was down or silent): the customer is on the way to a person, not the bot's any more.
                return Decision(state.model_copy(update={"mode": "waiting"}), [])
            case Queued():
                # No notice here: the handoff message has just told the customer, and an agent is often
                # offered the conversation right away. WaitUpdated brings the news worth telling.
                return Decision(state.model_copy(update={"mode": "waiting"}), [])
            case WaitUpdated():
                return self._wait_updated(bot, state, event)
            case Assigned(data=d):
                return Decision(state.model_copy(update={"mode": "agent", "last_agent_id": d.agent_id}), [])
            case Transferred():
                return Decision(state.model_copy(update={"mode": "waiting", "wait_notice": None}), [])
            case Released(data=d):
                if d.reason in ("completed", "returned-to-bot"):
                    return Decision(_back_with_bot(state), [])
                return Decision(state.model_copy(update={"mode": "waiting"}), [])
            case ReturnedToBot(data=d):
                state = _back_with_bot(state).model_copy(update={"last_agent_id": d.agent_id})
                text = bot.content.message(_answer_language(bot, state), "returned")
                return Decision(state, [_reply(event, 0, text, None, bot.content.bot_name)])
            case Dequeued(data=d):
                return self._dequeued(bot, state, event)
            case Reassigned():
                # The router took the conversation from a silent or offline agent: the customer hears
                # that someone else takes over, and waits for them.
                state = state.model_copy(update={"mode": "waiting", "wait_notice": None})
                text = bot.content.message(_answer_language(bot, state), "reassigned")
                return Decision(state, [_reply(event, 0, text, None, bot.content.bot_name)])
        return Decision(state, [])

    # -- customer messages ------------------------------------------------------------------------

    def _message(self, bot: TenantBot, state: BotState, event: CustomerMessage) -> Decision:
        d = event.data
        entry = TranscriptEntry(
            message_id=d.message_id, author_kind="customer", author_name=d.customer_name,
            channel=d.channel, text=d.text, at=event.time,
        )  # fmt: skip
        text = bounded(d.text)  # one long message must not hold the bot: see normalizer.bounded
        language = bot.languages.detect(text, d.language, state.language)
        signals = self._signals(bot, text, language)
        negative = turn_weight(Facts(bot.content, state, signals)) >= 1
        state = state.model_copy(
            update={
                "transcript": _kept(state.transcript, entry),
                "channel": d.channel,
                "channels": state.channels if d.channel in state.channels else (*state.channels, d.channel),
                "language": language,
                "sentiment": (*state.sentiment, round(signals.sentiment, 3))[-TRANSCRIPT_KEPT:],
                "negative_streak": state.negative_streak + 1 if negative else 0,
                "entities": tuple(dict.fromkeys((*state.entities, *extract(text, language))))[
                    -ENTITIES_KEPT:
                ],
                "sensitivity": tuple(dict.fromkeys((*state.sensitivity, *signals.sensitive))),
            }
        )
        if state.mode == "waiting":
            return self._while_waiting(bot, state, event)
        if state.mode == "agent":
            return Decision(state, [], "waiting")  # a person has it: the bot stays quiet
        if not d.text.strip():
            return self._clarify(bot, state, event, low_confidence=False)

        # The answer to "Would you like to talk to a person?": yes hands over, no goes on with the bot,
        # anything else is a new message, handled as such (the question is not asked twice in a row).
        answer = answer_to_question(text) if state.asked_person else None
        asked = state.asked_person
        state = state.model_copy(update={"asked_person": False})
        if answer is False:
            return self._declined(bot, state, event)
        facts = Facts(bot.content, state, signals, confirmed=answer is True)
        rule = first(Phase.TURN, facts)
        if rule:
            return self._hand_over(bot, state, event, self._route_of(bot, rule.reason, rule.trigger, facts))
        prediction = bot.classifier.classify(text, language)
        intent = bot.content.intent(prediction.intent)
        confident = intent is not None and prediction.confidence >= bot.content.classifier.min_confidence
        # A confident greeting or thanks is not a muffled request for a person ("hello?" is).
        small_talk = confident and intent is not None and intent.small_talk and prediction.confidence >= 0.6
        if (
            signals.unsure_request
            and not asked
            and not small_talk
            and bot.content.escalation.human_request.enabled
        ):
            return self._ask_person(bot, state, event)
        if intent is None or prediction.confidence < bot.content.classifier.min_confidence:
            return self._clarify(bot, state, event, low_confidence=True)
        return self._answer(bot, state, event, intent, prediction)

    def _signals(self, bot: TenantBot, text: str, language: str) -> Signals:
        categories = bot.content.escalation.sensitive.categories
        return bot.detectors.signals(text, language, categories, self._sentiment.score(text, language))

    @staticmethod
    def _route_of(bot: TenantBot, reason: HandoffReason, trigger: str | None, facts: Facts) -> _Route:
        """Where a rule sends the conversation: the trigger's queue and skills, else the intent's."""
        queue = _queue_of(bot.content, facts.intent.name if facts.intent else facts.state.intent)
        if trigger is None:
            rule = tenant_rule(facts)
            assert isinstance(rule, Rule)
            return _Route(reason, rule.priority, rule.queue or queue[0], rule.skills or queue[1])
        return _route(reason, getattr(bot.content.escalation, trigger), queue)

    def _ask_person(self, bot: TenantBot, state: BotState, event: CustomerMessage) -> Decision:
        """The unsure band: one short question, with yes/no quick replies; the text says it all too."""
        content, language = bot.content, _answer_language(bot, state)
        yes, no = content.message(language, "confirm_yes"), content.message(language, "confirm_no")
        replies = (QuickReply(title=yes, payload=yes), QuickReply(title=no, payload=no))
        reply = _reply(
            event,
            0,
            content.message(language, "confirm_person"),
            event.data.message_id,
            content.bot_name,
            replies,
        )
        question = reply.event
        assert isinstance(question, ReplyPosted)
        # The question joins the transcript now, so that a handoff on "yes" shows the agent what was asked.
        entry = TranscriptEntry(
            message_id=question.data.message_id, author_kind="bot", author_name=content.bot_name,
            channel=state.channel, text=question.data.text, at=event.time,
        )  # fmt: skip
        state = state.model_copy(update={"asked_person": True, "transcript": _kept(state.transcript, entry)})
        return Decision(state, [reply], "asked")

    def _declined(self, bot: TenantBot, state: BotState, event: CustomerMessage) -> Decision:
        language = _answer_language(bot, state)
        declined, reach = (
            bot.content.message(language, "person_declined"),
            bot.content.message(language, "reach_person"),
        )
        text = f"{declined} {reach}"
        return Decision(
            state, [_reply(event, 0, text, event.data.message_id, bot.content.bot_name)], "answered"
        )

    def _answer(
        self, bot: TenantBot, state: BotState, event: CustomerMessage, intent: Intent, prediction: Prediction
    ) -> Decision:
        content = bot.content
        if not intent.small_talk:
            streak = state.intent_streak + 1 if intent.name == state.intent else 1
            state = state.model_copy(
                update={
                    "intent": intent.name, "confidence": round(prediction.confidence, 3),
                    "intent_streak": streak, "turns": state.turns + 1, "low_confidence_streak": 0,
                    "sensitivity": _flags(state.sensitivity, intent.sensitivity),
                }
            )  # fmt: skip
            facts = Facts(content, state, intent=intent)
            rule = first(Phase.ANSWER, facts)
            if rule:
                return self._hand_over(
                    bot, state, event, self._route_of(bot, rule.reason, rule.trigger, facts)
                )
        language = _answer_language(bot, state)
        text = intent.answers[language]
        if not intent.solves:
            text = f"{text} {content.message(language, 'reach_person')}"
        answers = tuple(dict.fromkeys((*state.bot_answers, text)))[-20:]
        state = state.model_copy(update={"bot_answers": answers})
        return Decision(
            state, [_reply(event, 0, text, event.data.message_id, bot.content.bot_name)], "answered"
        )

    def _clarify(
        self, bot: TenantBot, state: BotState, event: CustomerMessage, *, low_confidence: bool
    ) -> Decision:
        streak = state.low_confidence_streak + 1 if low_confidence else state.low_confidence_streak
        state = state.model_copy(update={"low_confidence_streak": streak, "turns": state.turns + 1})
        facts = Facts(bot.content, state)
        rule = first(Phase.CLARIFY, facts)
        if rule:
            return self._hand_over(bot, state, event, self._route_of(bot, rule.reason, rule.trigger, facts))
        language = _answer_language(bot, state)
        text = f"{bot.content.message(language, 'clarify')} {bot.content.message(language, 'reach_person')}"
        return Decision(
            state, [_reply(event, 0, text, event.data.message_id, bot.content.bot_name)], "clarified"
        )

    def _while_waiting(self, bot: TenantBot, state: BotState, event: CustomerMessage) -> Decision:
        """A word now and then so the customer knows they are not forgotten; never one per message."""
        notice = state.wait_notice
        said = [e.at for e in state.transcript if e.author_kind == "bot"]  # the handoff notice included
        last = max([*said[-1:], *([notice.at] if notice else [])], default=None)
        if last and (event.time - last).total_seconds() < bot.content.waiting.min_interval_s:
            return Decision(state, [], "waiting")
        text = bot.content.message(_answer_language(bot, state), "still_waiting")
        at = WaitNotice(
            at=event.time,
            position=notice.position if notice else None,
            expected_wait_s=notice.expected_wait_s if notice else None,
        )
        return Decision(
            state.model_copy(update={"wait_notice": at}),
            [_reply(event, 0, text, event.data.message_id, bot.content.bot_name)],
            "waiting",
        )

    # -- handoff ----------------------------------------------------------------------------------

    def _hand_over(self, bot: TenantBot, state: BotState, event: CustomerMessage, route: _Route) -> Decision:
        cid = state.conversation_id
        language = _answer_language(bot, state)
        key = {
            HandoffReason.SENSITIVE: "handoff_sensitive",
            HandoffReason.BOT_FAILURE: "handoff_failure",
        }.get(route.reason, "handoff")
        notice_text = bot.content.message(language, key)
        state = state.model_copy(
            update={
                "mode": "waiting",
                "handoff_reason": route.reason.value,
                "wait_notice": None,
            }
        )
        packet = HandoffPacket(
            reason=route.reason.value,
            summary=summarise(state, bot.detectors),
            language=state.language,
            intent=state.intent,
            confidence=state.confidence,
            sentiment=state.sentiment[-50:],
            sensitivity=state.sensitivity,
            entities=state.entities[-50:],
            bot_answers=state.bot_answers[-20:],
            channels=state.channels,
            transcript=state.transcript,
            skills=route.skills,
            queue=route.queue,
            priority=route.priority,
            customer_id=state.customer_id,
        )
        handoff = HandoffRequested(
            **event.follow(1, source=SOURCE, subject=cid), data=HandoffRequestedData(packet=packet)
        )
        work = WorkSubmitted(
            **event.follow(2, source=SOURCE, subject=cid),
            data=WorkSubmittedData(
                conversation_id=cid,
                channel=state.channel or "webchat",
                packet=packet,
                preferred_agent_id=state.last_agent_id,
            ),
        )
        return Decision(
            state,
            [
                _reply(event, 0, notice_text, event.data.message_id, bot.content.bot_name),
                Outgoing(topics.CONVERSATIONS, cid, handoff),
                Outgoing(topics.ROUTING, event.tenant, work),
            ],
            "handed_over",
            route.reason,
        )

    def fail_over(self, state: BotState, event: ConversationEvent) -> Decision:
        """The bot failed on this message: a person takes over instead of the customer hearing nothing.

        Uses nothing that could have failed (no model, no detector), only the state and the content.
        """
        state = state.model_copy(update={"tenant": event.tenant, "conversation_id": event.subject})
        if not isinstance(event, CustomerMessage) or state.mode != "bot":
            return Decision(state, [], "ignored" if isinstance(event, CustomerMessage) else None)
        d = event.data
        entry = TranscriptEntry(
            message_id=d.message_id, author_kind="customer", author_name=d.customer_name,
            channel=d.channel, text=d.text, at=event.time,
        )  # fmt: skip
        bot = self.tenant(event.tenant)
        state = state.model_copy(
            update={
                "transcript": _kept(state.transcript, entry),
                "channel": d.channel,
                "channels": state.channels if d.channel in state.channels else (*state.channels, d.channel),
                "language": (d.language or "")[:2] or state.language,
            }
        )
        queue = _queue_of(bot.content, state.intent)
        return self._hand_over(bot, state, event, _Route(HandoffReason.BOT_FAILURE, 50, *queue))

    # -- waiting ----------------------------------------------------------------------------------

    def _wait_updated(self, bot: TenantBot, state: BotState, event: WaitUpdated) -> Decision:
        if state.mode != "waiting":
            return Decision(state, [])
        d, rules, last = event.data, bot.content.waiting, state.wait_notice
        if last is not None:
            if (event.time - last.at).total_seconds() < rules.min_interval_s:
                return Decision(state, [])
            moved = last.position is None or abs(last.position - d.position) >= rules.min_position_change
            wait_changed = (last.expected_wait_s is None) != (d.expected_wait_s is None) or (
                d.expected_wait_s is not None
                and last.expected_wait_s is not None
                and abs(d.expected_wait_s - last.expected_wait_s) >= rules.min_wait_change_s
            )
            if not (moved or wait_changed):
                return Decision(state, [])
        language = _answer_language(bot, state)
        if d.expected_wait_s is None:
            text = bot.content.message(language, "wait_position").format(position=d.position)
        else:
            minutes = max(1, round(d.expected_wait_s / 60))
            text = bot.content.message(language, "wait_expected").format(position=d.position, minutes=minutes)
        notice = WaitNotice(at=event.time, position=d.position, expected_wait_s=d.expected_wait_s)
        return Decision(
            state.model_copy(update={"wait_notice": notice}),
            [_reply(event, 0, text, None, bot.content.bot_name)],
        )

    def _dequeued(self, bot: TenantBot, state: BotState, event: Dequeued) -> Decision:
        d = event.data
        state = _back_with_bot(state)
        if d.reason == "customer-left":
            return Decision(state, [])
        text = bot.content.message(_answer_language(bot, state), f"dequeued_{d.reason.replace('-', '_')}")
        if d.message:
            text = f"{text}\n{d.message}"  # the tenant's own words from the router (e.g. holiday closure)
        return Decision(state, [_reply(event, 0, text, None, bot.content.bot_name)])


def summarise(state: BotState, detectors: Detectors, limit: int = 600) -> str:
    """An extractive summary: the customer's own sentences that carry the request, facts or feelings.

    Greetings and one-word turns are left out; sentences with an entity, a sensitive or frustrated cue,
    or a request for a person come first; the latest sentence is always kept. Original order is kept.
    """
    sentences = [
        s.strip()
        for e in state.transcript
        if e.author_kind == "customer"
        for s in _SENTENCE.split(e.text)
        if len(normalise(s).split()) >= 3
    ]
    if not sentences:
        return " / ".join(e.text for e in state.transcript if e.author_kind == "customer")[-limit:]
    facts = {normalise(e.value) for e in state.entities}

    def weight(sentence: str) -> int:
        plain = normalise(sentence)
        return (
            2 * any(f and f in plain for f in facts)
            + 2 * bool(detectors.sensitive(plain, SENSITIVE_CATEGORIES))
            + detectors.frustration(plain, state.language or "en")[0]
            + detectors.human_request(detectors.canonical(sentence))
        )

    ranked = sorted(range(len(sentences)), key=lambda i: (-weight(sentences[i]), i))
    chosen = set(ranked[:3]) | {len(sentences) - 1}
    summary = " … ".join(dict.fromkeys(sentences[i] for i in sorted(chosen)))
    return summary if len(summary) <= limit else summary[: limit - 1] + "…"


def _kept(transcript: tuple[TranscriptEntry, ...], entry: TranscriptEntry) -> tuple[TranscriptEntry, ...]:
    if any(e.message_id == entry.message_id for e in transcript[-20:]):
        return transcript  # the same message seen twice (our own reply echoed back, a re-delivery)
    return (*transcript, entry)[-TRANSCRIPT_KEPT:]


def _flags(flags: tuple[str, ...], sensitivity: str) -> tuple[str, ...]:
    return flags if sensitivity == "none" or sensitivity in flags else (*flags, sensitivity)


def _queue_of(content: Content, intent_name: str | None) -> tuple[str, tuple[str, ...]]:
    intent = content.intent(intent_name) if intent_name else None
    if intent is None or intent.small_talk:
        return content.escalation.default_queue, ()
    return intent.queue or content.escalation.default_queue, intent.skills


def _route(reason: Reason, trigger: Trigger, queue: tuple[str, tuple[str, ...]]) -> _Route:
    """The trigger's own queue and skills when it has them (sensitive cases), else the intent's."""
    skills = trigger.skills if trigger.skills is not None else queue[1]
    return _Route(reason, trigger.priority, trigger.queue or queue[0], skills)


def _answer_language(bot: TenantBot, state: BotState) -> str:
    return bot.content.language(state.language or bot.content.default_language)


def _back_with_bot(state: BotState) -> BotState:
    """The bot has the conversation again, with a clean slate for its escalation counters."""
    return state.model_copy(
        update={
            "mode": "bot", "negative_streak": 0, "low_confidence_streak": 0, "intent_streak": 0,
            "turns": 0, "wait_notice": None,
        }
    )  # fmt: skip


def _reply(
    event: ConversationEvent,
    index: int,
    text: str,
    in_reply_to: str | None,
    name: str,
    quick_replies: tuple[QuickReply, ...] = (),
) -> Outgoing:
    fields = event.follow(index, source=SOURCE, subject=event.subject)
    reply = ReplyPosted(
        **fields,
        data=ReplyData(
            message_id=fields["id"],
            author=ReplyAuthor(kind="bot", name=name),
            text=text,
            in_reply_to=in_reply_to,
            quick_replies=quick_replies,
        ),
    )
    return Outgoing(topics.CONVERSATIONS, event.subject, reply)

"""The bot's handling of the routing and agent events, from the surviving mutants of `make mutate`
(`Bot.decide`): every event is played through the bot built by the fixture, as the log would bring it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from relais_bot.adapters.content_files import BUNDLED
from relais_bot.domain.content import Rule
from relais_bot.domain.policy import Bot, BotState, Decision
from relais_bot.domain.sentiment import VaderSentiment
from relais_contracts import derive_id
from relais_contracts.conversation import (
    Assigned,
    AssignedData,
    HandoffRequested,
    Queued,
    QueuedData,
    Reassigned,
    ReassignedData,
    Released,
    ReleasedData,
    ReplyAuthor,
    ReplyData,
    ReplyPosted,
    ReturnedToBot,
    ReturnedToBotData,
    TranscriptEntry,
    Transferred,
    TransferredData,
    WaitUpdated,
    WaitUpdatedData,
)
from relais_contracts.routing import WorkSubmitted

if TYPE_CHECKING:
    from conftest import Chat  # the fixture's type; conftest is not importable at run time


def replies(decision: Decision) -> list[str]:
    return [o.event.data.text for o in decision.outputs if isinstance(o.event, ReplyPosted)]


def handoff(decision: Decision) -> WorkSubmitted:
    kinds = [type(o.event) for o in decision.outputs]
    assert kinds == [ReplyPosted, HandoffRequested, WorkSubmitted], kinds
    work = decision.outputs[2].event
    assert isinstance(work, WorkSubmitted)
    return work


pytestmark = pytest.mark.unit


def test_a_conversation_queued_without_the_bots_handoff_is_in_line(chat: Chat) -> None:
    """A conversation the bot still had (put in line by another service): once queued, the bot only keeps
    the customer informed."""
    chat.open()
    assert chat.say("bonjour").outcome == "answered"
    queued = QueuedData(queue="general", position=2, enqueued_at=chat.envelope()["time"])
    assert chat.feed(Queued(**chat.envelope(), data=queued)).outputs == []
    assert chat.state.mode == "waiting"
    assert chat.say("où est ma commande", after_s=600).outcome == "waiting"


def test_a_transfer_from_an_agent_puts_the_customer_back_in_line(chat: Chat) -> None:
    chat.open()
    handoff(chat.say("un conseiller svp"))
    chat.feed(Assigned(**chat.envelope(), data=AssignedData(offer_id="o", agent_id="agent-7")))
    assert chat.say("merci", after_s=600).outputs == []  # the agent has it: the bot is quiet
    chat.feed(Transferred(**chat.envelope(), data=TransferredData(to_queue="billing")))
    assert chat.state.mode == "waiting"
    assert chat.state.wait_notice is None
    waiting = chat.say("toujours là ?", after_s=600)
    assert waiting.outcome == "waiting"
    assert len(replies(waiting)) == 1  # the customer hears they are still in line


def test_the_agent_who_had_the_conversation_is_preferred_after_a_release(chat: Chat) -> None:
    chat.open()
    handoff(chat.say("un conseiller svp"))
    chat.feed(Assigned(**chat.envelope(), data=AssignedData(offer_id="o", agent_id="agent-7")))
    chat.feed(Released(**chat.envelope(), data=ReleasedData(agent_id="agent-7", reason="completed")))
    assert chat.state.mode == "bot"
    work = handoff(chat.say("un conseiller svp"))
    assert work.data.preferred_agent_id == "agent-7"


def test_a_reply_joins_the_transcript_and_publishes_nothing(chat: Chat) -> None:
    chat.open()
    envelope = chat.envelope()
    reply = ReplyPosted(
        **envelope,
        data=ReplyData(message_id="m-1", author=ReplyAuthor(kind="agent", name="Ana"), text="Bonjour"),
    )
    decision = chat.bot.decide(chat.state, reply)
    assert decision.outputs == []
    assert [(e.message_id, e.author_name, e.text) for e in decision.state.transcript] == [
        ("m-1", "Ana", "Bonjour")
    ]


def _assigned_after_a_wait_notice(chat: Chat) -> None:
    chat.open()
    handoff(chat.say("un conseiller svp"))
    notice = WaitUpdatedData(queue="general", position=2, expected_wait_s=120)
    assert replies(chat.feed(WaitUpdated(**chat.envelope(), data=notice)))
    assert chat.state.wait_notice is not None
    chat.feed(Assigned(**chat.envelope(), data=AssignedData(offer_id="o", agent_id="agent-7")))


def test_a_transfer_or_a_reassignment_forgets_the_last_wait_notice(chat: Chat) -> None:
    """The customer waits in a new line: its first wait update is news, whatever was said before."""
    _assigned_after_a_wait_notice(chat)
    chat.feed(Transferred(**chat.envelope(), data=TransferredData(to_queue="billing")))
    assert (chat.state.mode, chat.state.wait_notice) == ("waiting", None)
    notice = WaitUpdatedData(queue="billing", position=2, expected_wait_s=120)
    assert replies(chat.feed(WaitUpdated(**chat.envelope(), data=notice)))  # news in the new line
    assert chat.state.wait_notice is not None
    chat.feed(Assigned(**chat.envelope(), data=AssignedData(offer_id="o2", agent_id="agent-8")))
    reassigned = Reassigned(
        **chat.envelope(), data=ReassignedData(from_agent_id="agent-8", queue="general", reason="silent")
    )
    decision = chat.feed(reassigned)
    assert (chat.state.mode, chat.state.wait_notice) == ("waiting", None)
    assert decision.outputs[0].event.id == derive_id("test", reassigned.id, 0)


def test_an_agent_handing_back_gives_the_conversation_to_the_bot(chat: Chat) -> None:
    _assigned_after_a_wait_notice(chat)
    chat.feed(Released(**chat.envelope(), data=ReleasedData(agent_id="agent-7", reason="returned-to-bot")))
    assert chat.state.mode == "bot"


def test_the_agent_who_returned_the_conversation_is_preferred_next_time(chat: Chat) -> None:
    _assigned_after_a_wait_notice(chat)
    returned = ReturnedToBot(**chat.envelope(), data=ReturnedToBotData(agent_id="agent-9"))
    decision = chat.feed(returned)
    assert decision.outputs[0].event.id == derive_id("test", returned.id, 0)
    assert handoff(chat.say("un conseiller svp")).data.preferred_agent_id == "agent-9"


def test_the_bots_own_handoff_coming_back_changes_nothing(chat: Chat) -> None:
    chat.open()
    decision = chat.say("un conseiller svp")
    handoff(decision)
    echoed = decision.outputs[1].event
    assert isinstance(echoed, HandoffRequested)
    again = chat.bot.decide(chat.state, echoed)
    assert again.outputs == []
    assert again.state == chat.state


# -- where a tenant rule sends the conversation, what an answer flags (`_route_of`, `_flags`) --------


def _rule_bot(bot: Bot, rule: Rule) -> Bot:
    demo = bot.tenant("acme")
    escalation = demo.content.escalation.model_copy(update={"rules": (rule,)})
    strict = replace(demo, content=demo.content.model_copy(update={"escalation": escalation}))
    return Bot({"strict": strict}, demo, VaderSentiment(BUNDLED / "sentiment"))


def test_a_tenant_rule_sends_the_conversation_to_its_own_queue_and_skills(
    bot: Bot, chat_with: Callable[..., Chat]
) -> None:
    """Not the intent's (billing, no skills): the rule's own."""
    rule = Rule(
        name="billing-by-people", intents=("billing",), queue="finance", skills=("ledger",), priority=65
    )
    chat = chat_with(_rule_bot(bot, rule), tenant="strict")
    chat.open()
    packet = handoff(chat.say("I was charged twice for my order")).data.packet
    assert (packet.reason, packet.queue, packet.skills, packet.priority) == (
        "tenant-rule", "finance", ("ledger",), 65,
    )  # fmt: skip


def test_a_tenant_rule_without_a_queue_sends_the_conversation_to_the_intents(
    bot: Bot, chat_with: Callable[..., Chat]
) -> None:
    rule = Rule(name="billing-by-people", intents=("billing",), priority=65)
    chat = chat_with(_rule_bot(bot, rule), tenant="strict")
    chat.open()
    packet = handoff(chat.say("I was charged twice for my order")).data.packet
    billing = bot.tenant("acme").content.intent("billing")
    assert billing is not None
    assert (packet.reason, packet.queue, packet.skills) == ("tenant-rule", billing.queue, billing.skills)


def test_only_a_confidential_intent_flags_the_conversation_and_only_once(chat: Chat) -> None:
    chat.open()
    assert chat.say("what are your opening hours").outcome == "answered"
    assert chat.state.sensitivity == ()  # a routine intent's "none" is no flag
    for _ in range(2):
        assert chat.say("where can i download my bill", after_s=60).outcome == "answered"
        assert chat.state.sensitivity == ("confidential",)


# -- one transcript entry per message (`_kept`) --------------------------------------------------------


def test_the_bots_question_back_through_the_log_is_in_the_transcript_once(chat: Chat) -> None:
    chat.open()
    assert chat.say("do you have a phone number i can call", language="en").outcome == "asked"
    ids = [e.message_id for e in chat.state.transcript]  # the question, taken at once, then echoed back
    assert len(ids) == len(set(ids)) == 2


def _reply_of(chat: Chat, message_id: str) -> ReplyPosted:
    author = ReplyAuthor(kind="agent", name="Ana")
    return ReplyPosted(**chat.envelope(), data=ReplyData(message_id=message_id, author=author, text="again"))


def test_a_message_seen_again_is_looked_for_among_the_last_twenty_entries_only(chat: Chat) -> None:
    """The look-back is bounded (a re-delivery comes soon after); an older id is a new entry."""
    time = chat.envelope()["time"]
    entries = tuple(
        TranscriptEntry(message_id=f"m-{i}", author_kind="agent", text=f"line {i}", at=time)
        for i in range(21)
    )
    state = BotState(transcript=entries)
    # m-1 is the 20th entry from the end: seen, nothing added.
    assert chat.bot.decide(state, _reply_of(chat, "m-1")).state.transcript == entries
    # m-0 is the 21st: out of sight, added again.
    again = chat.bot.decide(state, _reply_of(chat, "m-0")).state.transcript
    assert [e.message_id for e in again] == [*(e.message_id for e in entries), "m-0"]

"""Conversation facts (`relais.facts.v1`, keyed by conversation id): one record a conversation, for history.

The context store derives each fact from the conversation log when the conversation is wrapped up or
closed, so the facts of all history can be recomputed from the log when a definition changes. A fact
holds no personal data: no text, no address, no customer id.
"""

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from relais_contracts import topics
from relais_contracts.channel import Channel
from relais_contracts.envelope import CloudEvent, Payload

# contained: the bot served the customer alone (it answered, nobody was asked for); handed-over: the
# conversation went to a person; unanswered: no handover and no reply from the bot.
BotOutcome = Literal["contained", "handed-over", "unanswered"]


class ConversationFactData(Payload):
    conversation_id: str = Field(min_length=1, max_length=200)
    # 1 for a conversation's first fact; a conversation that goes on after its wrap-up (the customer writes
    # again) gets a new revision when it ends again. The highest revision of a conversation is its fact.
    revision: int = Field(ge=1)
    # What ended it: the agent's wrap-up, or the close (inactivity).
    ended_by: Literal["wrap-up", "close"]
    opened_at: AwareDatetime | None = None  # None when the log's first events of it are gone
    closed_at: AwareDatetime  # the time of the wrap-up or close that ended it
    channels: tuple[Channel, ...] = ()  # in the order the customer used them
    languages: tuple[str, ...] = ()  # given by the channel or detected by the bot, in order of appearance
    handed_over: bool
    bot_outcome: BotOutcome
    handoff_reason: str | None = Field(default=None, max_length=64)  # the first handover's
    handoffs: int = Field(default=0, ge=0)
    queue: str | None = Field(default=None, max_length=64)  # the first queue it waited in
    queues: tuple[str, ...] = ()  # every queue it waited in, in order (transfers, overflow)
    # From the first handover to the first offer to an agent, and to the first agent's acceptance.
    wait_to_offer_s: float | None = Field(default=None, ge=0)
    wait_to_accept_s: float | None = Field(default=None, ge=0)
    # From the customer's first message to the first reply (the bot's or an agent's).
    first_response_s: float | None = Field(default=None, ge=0)
    # From the first acceptance to the first agent reply.
    agent_first_response_s: float | None = Field(default=None, ge=0)
    # Time agents held it: every assignment to its release, summed (None: never assigned).
    handle_s: float | None = Field(default=None, ge=0)
    transfers: int = Field(default=0, ge=0)
    reassignments: int = Field(default=0, ge=0)
    agents: tuple[str, ...] = ()  # every agent who accepted it, in order
    disposition: str | None = Field(default=None, max_length=64)  # the last wrap-up's
    # The customer left (or went silent until the close) while waiting for an agent.
    abandoned: bool = False
    # Why the router stopped looking for an agent, when it did (customer-left, closed, max-wait, no-queue).
    dequeue_reason: str | None = Field(default=None, max_length=64)
    customer_messages: int = Field(default=0, ge=0)
    bot_replies: int = Field(default=0, ge=0)
    agent_replies: int = Field(default=0, ge=0)


class ConversationFact(CloudEvent):
    """One conversation as a record for reporting, written when it is wrapped up or closed."""

    topics: ClassVar = (topics.FACTS,)
    type: Literal["relais.fact.conversation.recorded"] = "relais.fact.conversation.recorded"
    subject: str = Field(min_length=1, max_length=200)  # the conversation id
    data: ConversationFactData

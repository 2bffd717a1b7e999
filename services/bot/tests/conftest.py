"""The bot built once from its bundled content, and one conversation played through it (`Chat`).

Fitting the intent classifiers (scikit-learn, in a child process) is most of the build's cost, and
`make mutate` builds the bot again for every mutant (each mutant runs its tests in a fresh pytest
session, forked from the process that ran them first). The fitted arrays are a function of the training
examples alone, so they are kept here per examples: a build whose examples are the same (every mutant
outside the code that makes them) reuses them, and one whose examples differ fits anew. Everything
else of the build, and all of the domain code, runs every time.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from relais_bot.adapters import intent_training
from relais_bot.adapters.content_files import build_bot
from relais_bot.domain.content import Content
from relais_bot.domain.intents import IntentWeights, training_examples
from relais_bot.domain.policy import Bot, BotState, Decision
from relais_contracts import Outgoing
from relais_contracts.conversation import (
    CustomerMessage,
    CustomerMessageData,
    Opened,
    OpenedData,
    ReplyPosted,
)

# Module state on purpose: pytest keeps this conftest imported across sessions in one process, and
# mutmut forks its mutant runs from that process.
_FITTED: dict[str, dict[str, IntentWeights]] = {}
_train = intent_training.train


def _train_once_per_examples(
    contents: dict[str, Content], timeout_s: float = 300.0, cache_dir: Path | None = None
) -> dict[str, IntentWeights]:
    if cache_dir is not None:  # a test of the on-disk cache itself: the real thing
        return _train(contents, timeout_s, cache_dir)
    key = json.dumps({tenant: training_examples(content) for tenant, content in contents.items()})
    if key not in _FITTED:
        _FITTED[key] = _train(contents, timeout_s)
    return _FITTED[key]


@pytest.fixture(scope="session")
def bot() -> Iterator[Bot]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(intent_training, "train", _train_once_per_examples)
        yield build_bot()


T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@dataclass
class Chat:
    """One conversation played through the bot, the bot's replies echoed back as the log would."""

    bot: Bot
    tenant: str = "acme"
    state: BotState = field(default_factory=BotState)
    seconds: float = 0
    n: int = 0
    outputs: list[Outgoing] = field(default_factory=list)

    def envelope(self, after_s: float = 5) -> dict[str, Any]:
        self.n += 1
        self.seconds += after_s
        return {
            "id": f"e-{self.n}",
            "source": "test",
            "time": T0 + timedelta(seconds=self.seconds),
            "tenant": self.tenant,
            "subject": "conv-1",
        }

    def open(self, customer_id: str | None = None, channel: str = "webchat") -> Decision:
        data = OpenedData(channel=channel, address="visitor", customer_id=customer_id)
        return self.feed(Opened(**self.envelope(), data=data))

    def say(
        self, text: str, after_s: float = 5, channel: str = "webchat", language: str | None = None
    ) -> Decision:
        envelope = self.envelope(after_s)
        data = CustomerMessageData(
            message_id=envelope["id"],
            channel=channel,
            address="visitor",
            text=text,
            external_id=envelope["id"],
            language=language,
        )
        return self.feed(CustomerMessage(**envelope, data=data))

    def feed(self, event: Any) -> Decision:
        decision = self.bot.decide(self.state, event)
        self.state = decision.state
        self.outputs += decision.outputs
        for out in decision.outputs:
            if isinstance(out.event, ReplyPosted):  # our reply comes back through the log
                self.state = self.bot.decide(self.state, out.event).state
        return decision


# conftest is not importable at run time (`--import-mode=importlib`): tests get `Chat` through these.
@pytest.fixture
def chat(bot: Bot) -> Chat:
    """A conversation with the bundled bot, tenant `acme`."""
    return Chat(bot)


@pytest.fixture
def chat_with() -> Callable[..., Chat]:
    """A conversation with another bot or tenant: `chat_with(bot, tenant="strict")`."""
    return Chat

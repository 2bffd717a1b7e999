"""The bot built once from its bundled content (training the models takes a few seconds)."""

import pytest

from relais_bot.adapters.content_files import build_bot
from relais_bot.domain.policy import Bot


@pytest.fixture(scope="session")
def bot() -> Bot:
    return build_bot()

"""The demo's day plan: one seed plays the same day; the mix has every language, channel and kind of
customer the demo promises; a customer keeps one identity across the channels they switch between."""

import random
from collections import Counter

import pytest

from demo import script

pytestmark = pytest.mark.unit


def day(seed: int, n: int = 400) -> list[script.Conversation]:
    rng = random.Random(seed)
    return [script.conversation(rng, number) for number in range(1, n + 1)]


def test_the_same_seed_plays_the_same_day_and_another_seed_another() -> None:
    assert day(7) == day(7)
    assert day(7) != day(8)


def test_the_mix_has_every_language_channel_and_kind_and_most_are_routine() -> None:
    conversations = day(1)
    kinds = Counter(c.kind for c in conversations)
    assert set(kinds) == set(script.KINDS)
    assert kinds["routine"] > len(conversations) / 2  # most served by the bot
    assert {c.language for c in conversations} == set(script.LANGUAGES)
    assert {m.channel for c in conversations for m in c.messages} == set(script.CHANNELS)
    for c in conversations:
        assert c.messages[0].after_s == 0
        assert all(4 <= m.after_s <= 15 for m in c.messages[1:])  # a person reads, then types
        assert all(m.text for m in c.messages)


def test_a_switching_customer_writes_on_two_channels_with_one_identity() -> None:
    switches = [c for c in day(1) if c.kind == "switch"]
    assert switches
    for c in switches:
        first, second = (m.channel for m in c.messages)
        assert first != second
        # SMS and WhatsApp share the phone number; the web chat vouches for the email the mail comes from.
        pair = {first, second}
        assert pair <= set(script.PHONE_CHANNELS) or pair == {"webchat", "email"}
        if pair <= set(script.PHONE_CHANNELS):
            assert script.address(first, "abc123", c.number) == script.address(second, "abc123", c.number)


def test_addresses_are_distinct_between_customers_and_runs() -> None:
    for channel in script.CHANNELS:
        addresses = {script.address(channel, "0a1b2c", n) for n in range(1, 1000)}
        assert len(addresses) == 999
        assert script.address(channel, "0a1b2c", 5) != script.address(channel, "0a1b2d", 5)

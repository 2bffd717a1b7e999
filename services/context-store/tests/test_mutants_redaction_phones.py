"""An order or account number touching a phone number, from the surviving mutants of `make mutate`
(`_phones`, `_two_numbers`, `redact_message`): where the digits are the phone number and an order
number, and where they are still a card (grouped as cards are typed), at the edges of each rule."""

from datetime import UTC, datetime

import pytest

from relais_context_store.domain import redaction
from relais_context_store.domain.redaction import MASK, redact, redact_message
from relais_contracts.channel import MessageReceived

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def nothing_cached() -> None:
    """Each test works out its phone numbers and canonical characters: mutation testing runs every
    mutant in a process forked after the tests ran once, whose caches would answer for the code."""
    redaction._is_phone.cache_clear()
    redaction._TABLE.clear()
    redaction._canonical.cache_clear()


def test_an_international_number_at_the_very_start_of_a_message_is_no_card() -> None:
    # Its "+" is the message's first character: the run of digits starts right after it.
    assert redact("+49 1512 0000000").text == "+49 1512 0000000"


def test_a_message_that_starts_with_a_phone_number_and_ends_with_a_plus_keeps_both_numbers() -> None:
    # 06 12 34 56 78 1234565 passes the Luhn check. The run starts at the message's first character:
    # what comes before it is nothing, not the message's last character read from the end.
    assert redact("06 12 34 56 78 1234565 +", "FR").text == "06 12 34 56 78 1234565 +"


def test_a_phone_number_written_in_exactly_the_longest_width_is_read_as_one() -> None:
    # 24 characters, the "+" and the separators included: the longest a phone number is written.
    assert redact("+49   1  5  12   0000000").text == "+49   1  5  12   0000000"


def test_an_order_number_before_a_card_in_small_groups_does_not_make_the_card_a_phone_number() -> None:
    # 125 06 12 34 56 78: a card typed in small groups, whose last ten digits read as a phone number.
    # The long group before it (an order number) is not part of the card's digits.
    assert (
        redact("1234567 125 06 12 34 56 78", "FR").text
        == f"1234567 {MASK * 3} {MASK * 2} {MASK * 2} {MASK * 2} 56 78"
    )


def test_short_groups_far_into_a_message_are_still_a_cards_groups() -> None:
    # The length of a group, not where it is written, tells a card's group from an order number.
    assert (
        redact("carte 123455 06 12 34 56 78", "FR").text
        == f"carte {MASK * 6} {MASK * 2} {MASK * 2} {MASK * 2} 56 78"
    )


def test_an_international_number_followed_by_short_groups_is_still_read_as_a_card() -> None:
    # No group longer than a card's: the digits are grouped as cards are typed, "+" or not.
    masked = f"+{MASK * 2} {MASK} {MASK * 2} {MASK * 2} {MASK * 2} {MASK * 2} 12 31"
    assert redact("+33 6 12 34 56 78 12 31").text == masked
    assert redact("+33 6 12 34 56 78 12 31", "FR").text == masked


def test_a_card_in_one_piece_after_a_country_code_stays_a_card() -> None:
    # "+49 64778835440755" is a German number to phonenumbers, but its second group alone is 14
    # Luhn-valid digits in one piece: one group is one number, a card.
    assert redact("+49 64778835440755").text == f"+49 {MASK * 10}0755"


def test_a_phone_number_next_to_an_order_number_of_a_cards_group_length_is_read_as_a_card() -> None:
    # The long group is the phone number itself (in one piece, or its last group): no order number
    # written in one piece longer than a card's groups, so the digits may be a card's.
    assert redact("0612345678 123455", "FR").text == f"{MASK * 10} {MASK * 2}3455"
    assert redact("01512 3456789 19", "DE").text == f"{MASK * 5} {MASK * 5}89 19"


def test_the_name_and_the_attachment_names_are_redacted_with_the_stores_phone_region() -> None:
    written = "commande 1234569 06 12 34 56 78"
    event = MessageReceived.model_validate(
        {"id": "e-1", "source": "test", "time": datetime(2026, 11, 30, tzinfo=UTC), "tenant": "acme",
         "data": {"channel": "webchat", "from": {"address": "v-1", "name": written}, "text": "bonjour",
                  "attachments": [{"url": "https://files.example/a", "content_type": "image/png",
                                   "name": f"{written}.png"}],
                  "external_id": "x-1"}}
    )  # fmt: skip
    clean = redact_message(event.data, "FR")
    assert clean.name == written
    assert clean.attachments[0].name == f"{written}.png"
    assert clean.kinds == ()
    # Without a region the joined digits are read as a card, as before the rule.
    assert redact_message(event.data).name == "commande ••••••• •• •• 34 56 78"

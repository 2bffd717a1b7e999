"""The phone windows of `entities.extract`, from the surviving mutants of `make mutate` (`_phones`,
`_written_at`): each case is a message whose phone numbers a mutant of those functions loses, joins to
another number or reads wrongly."""

import pytest

from relais_bot.domain.entities import extract

pytestmark = pytest.mark.unit


def phones(text: str, language: str) -> list[str]:
    return [e.value for e in extract(text, language) if e.kind == "phone"]


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        # A national number in one piece, alone in its run: only the matcher, in the customer's region,
        # reads it (the windows are for runs of several groups).
        ("appelez-moi au 0612345678", "fr", ["+33612345678"]),
        # A run of one group before the run that holds the phone number: the next runs are still read.
        ("ref 42: account 806360 07401777631", "en", ["+447401777631"]),
        # Two phone numbers side by side: the second is looked for although the first was found.
        ("tel 07401777631 07406 907439", "en", ["+447401777631", "+447406907439"]),
        # A German number is of any length: two numbers in a row longer together than a phone number
        # is written are two numbers, not the first joined to the second's area code.
        ("tel +49 - 30 - 141432 - 01511 5881796", "de", ["+4930141432", "+4915115881796"]),
        # A window of exactly the longest a phone number is written (24 characters) is still read.
        ("tel +33   6   12  34  56  78 / 123456789", "fr", ["+33612345678"]),
    ],
)
def test_phone_numbers_in_runs_of_numbers(text: str, language: str, expected: list[str]) -> None:
    assert phones(text, language) == expected


def test_what_the_matcher_reads_from_the_start_or_to_the_end_of_a_run_is_not_taken_as_it_is() -> None:
    # The matcher, given the whole run, reads a wrong number from its start ("362180221 02") or up to
    # its end ("397258"); the windows read the phone number written.
    assert phones("ordine 362180221 02 - 1722 - 7220", "it") == ["+390217227220"]
    assert phones("Konto 213493108 015077 397258", "de") == ["+4915077397258"]


def test_a_number_glued_to_letters_is_no_phone_number_even_with_other_numbers_after_it() -> None:
    # The windows read only the groups of one run: "0612345678abc" is one run of one group, which the
    # matcher refuses (glued to letters); the numbers of later runs do not make it a window.
    assert phones("ref 0612345678abc commande 123456789", "fr") == []
    assert phones("tel 0612345678abc 06 12 34 56 79", "fr") == ["+33612345679"]


def test_a_phone_number_right_before_or_after_another_number_glued_by_a_plus_is_found() -> None:
    # The window ends where the next phone number's "+" starts, or starts at a "+" right after the
    # order number or right after another phone number: touching is not overlapping.
    assert phones("commande 123456789 06 12 34 56 78+33 6 12 34 56 79", "fr") == [
        "+33612345678",
        "+33612345679",
    ]
    assert phones("commande 123456789+33 6 12 34 56 78, 06 12 34 56 79", "fr") == [
        "+33612345678",
        "+33612345679",
    ]
    # A window starting at a "+" right where the phone number before it ends.
    assert phones("tel 06 12 34 56 78+33 6 12 34 56 79 / 1234567", "fr") == ["+33612345678", "+33612345679"]


def test_an_order_number_repeated_after_the_phone_number_it_touches_leaves_the_phone_number() -> None:
    # The order number's first writing is in the phone number's run, after it: the longest window holds
    # it, a shorter one is the phone number.
    assert phones("tel 07401777631 806360, account 806360", "en") == ["+447401777631"]


def test_every_order_number_read_is_left_out_of_the_windows_not_only_the_last() -> None:
    assert phones("ordine 3355108 312 197 7631, ordine 88427018 02 0210 6953", "it") == [
        "+393121977631",
        "+390202106953",
    ]

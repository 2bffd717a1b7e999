"""The escalation model's input at its edges: how long a message is read whole, what counts as
shouting and as a bare keypad zero, which runs of punctuation are marked, and the features of a text."""

import pytest

from relais_bot.domain.normalizer import HEAD_CHARS, TAIL_CHARS, bounded, features, normalize, shouting

pytestmark = pytest.mark.unit


def test_a_message_up_to_head_and_tail_is_read_whole() -> None:
    whole = "a" * (HEAD_CHARS + TAIL_CHARS)
    assert bounded(whole) == whole
    longer = "h" * HEAD_CHARS + "m" + "t" * TAIL_CHARS
    assert bounded(longer) == "h" * HEAD_CHARS + "\n" + "t" * TAIL_CHARS


def test_shouting_is_ten_letters_or_more_seven_tenths_of_them_capitals() -> None:
    assert shouting("ABCDEFGHIJ")
    assert not shouting("ABCDEFGHI")  # nine letters
    assert not shouting("ABCDEFGHI 123 !!!")  # digits and marks are no letters
    assert shouting("ABCDEFGhij")  # seven tenths
    assert not shouting("ABCDEFghij")
    assert normalize("WHERE IS MY PARCEL") == "where is my parcel tok_caps"
    assert normalize("Where is my parcel") == "where is my parcel"


@pytest.mark.parametrize("text", ["0", " 0 ", "0\ufe0f\u20e3", "#0", "zero"])
def test_a_bare_keypad_zero_is_marked(text: str) -> None:
    assert normalize(text).endswith(" tok_keypad")


def test_only_a_bare_zero_is_a_keypad_press() -> None:
    assert normalize("ZERO") == "zero"
    assert normalize("10") == "10"
    assert normalize("0 0") == "0 0"


def test_runs_of_question_or_exclamation_marks_are_marked_apart() -> None:
    assert normalize("no way!!") == "no way punct_xxx"
    assert normalize("what?!") == "what punct_qqq"
    assert normalize("what?") == "what"
    assert normalize("😡x") == "emo_angry x"
    assert normalize("it’s ok, it`s fine") == "it's ok it's fine"


def test_features_are_words_pairs_and_the_character_ngrams_of_plain_words() -> None:
    assert features("call 123 me") == [
        "w call", "w 0", "w me", "b call 0", "b 0 me",
        " ca", "cal", "all", "ll ", " cal", "call", "all ", " call", "call ",
        " 0 ",
        " me", "me ", " me ",
    ]  # fmt: skip
    # Tokens made by the normalizer are words and pairs, never cut in n-grams.
    assert features("emo_ok punct_qqq tok_caps hi") == [
        "w emo_ok", "w punct_qqq", "w tok_caps", "w hi",
        "b emo_ok punct_qqq", "b punct_qqq tok_caps", "b tok_caps hi",
        " hi", "hi ", " hi ",
    ]  # fmt: skip
    assert features("") == []


def test_an_sms_spelling_with_a_letter_held_down_is_written_out() -> None:
    assert normalize("plzzz call me") == "please call me"
    assert normalize("thxxx") == "thanks"

"""Redaction rules: cards masked whatever their formatting, order numbers kept, CVVs and IBANs removed."""

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum import luhn

from relais_context_store.domain.redaction import CVV_REDACTED, IBAN_REDACTED, MASK, redact
from relais_context_store.domain.resolution import fit_to_log

pytestmark = pytest.mark.unit

SEPARATORS = st.sampled_from([" ", "-", ".", "/", "  ", " - ", "\u00a0", "\t"])


def luhn_valid(body: str) -> str:
    return body + luhn.calc_check_digit(body)


card_numbers = st.integers(13, 19).flatmap(
    lambda n: st.text("0123456789", min_size=n - 1, max_size=n - 1).map(luhn_valid)
)


@st.composite
def formatted(draw: st.DrawFn, digits: str) -> str:
    """The digits cut into groups of 1 to 6, joined by any separators."""
    out, i = [], 0
    while i < len(digits):
        size = draw(st.integers(1, 6))
        out.append(digits[i : i + size])
        i += size
    seps = [draw(SEPARATORS) for _ in out[1:]]
    return out[0] + "".join(s + g for s, g in zip(seps, out[1:], strict=True))


def digits_of(text: str) -> str:
    return re.sub(r"\D", "", text)


@given(
    number=card_numbers,
    data=st.data(),
    before=st.sampled_from(["", "my card is ", "carte: ", "pay with "]),
    after=st.sampled_from(["", " thanks", ", merci", "."]),
)
def test_every_luhn_valid_card_in_any_formatting_is_masked_to_its_last_four(
    number: str, data: st.DataObject, before: str, after: str
) -> None:
    text = before + data.draw(formatted(number)) + after
    redacted = redact(text)
    assert number not in digits_of(redacted.text)
    assert "card" in redacted.kinds
    # The last four digits stay readable, the rest is masked.
    assert redacted.text.count(MASK) == len(number) - 4
    assert digits_of(redacted.text).endswith(number[-4:])


@given(
    body=st.integers(13, 19).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n)),
    prefix=st.sampled_from(["order ", "commande n°", "#", "tracking: ", "ORD-"]),
)
def test_numbers_that_fail_the_luhn_check_are_kept(body: str, prefix: str) -> None:
    assume(not luhn.is_valid(body))
    text = f"{prefix}{body} please"
    assert redact(text).text == text


@given(number=card_numbers, data=st.data())
def test_a_card_stays_masked_with_a_trailing_security_code(number: str, data: st.DataObject) -> None:
    cvv = data.draw(st.text("0123456789", min_size=3, max_size=3))
    redacted = redact(f"{data.draw(formatted(number))} {cvv}")
    assert number not in digits_of(redacted.text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111 1111 1111 1111 cvv 123", f"card •••• •••• •••• 1111 cvv {CVV_REDACTED}"),
        ("4111-1111-1111-1111, 987", f"••••-••••-••••-1111, {CVV_REDACTED}"),
        ("le cryptogramme est 4321", f"le cryptogramme est {CVV_REDACTED}"),
        ("CVC: 0421", f"CVC: {CVV_REDACTED}"),
        ("I have 123 apples", "I have 123 apples"),  # no card context: not a code
        ("room 404 at 9:30", "room 404 at 9:30"),
    ],
)
def test_security_codes_are_redacted_only_near_card_context(text: str, expected: str) -> None:
    assert redact(text).text == expected


@pytest.mark.parametrize(
    "iban",
    [
        "FR76 3000 6000 0112 3456 7890 189",
        "DE89370400440532013000",
        "gb82 west 1234 5698 7654 32",
        "NL91ABNA0417164300",
    ],
)
def test_valid_ibans_are_redacted(iban: str) -> None:
    redacted = redact(f"IBAN: {iban}, merci")
    assert redacted.text == f"IBAN: {IBAN_REDACTED}, merci"
    assert redacted.kinds == ("iban",)


def test_an_iban_with_a_wrong_checksum_is_kept() -> None:
    assert redact("FR77 3000 6000 0112 3456 7890 189").text == "FR77 3000 6000 0112 3456 7890 189"


def test_plain_text_is_untouched() -> None:
    text = "Bonjour, ma commande 4521 n'est pas arrivée, appelez le +33 6 12 34 56 78"
    assert redact(text).text == text
    assert redact(text).kinds == ()


def test_a_message_that_redaction_makes_too_long_is_cut_not_lost() -> None:
    long = ("card 4111 1111 1111 1111 cvv 123 " * 700)[:20_000]
    text = fit_to_log(redact(long).text)
    assert len(text) == 20_000
    assert text.endswith(" […]")
    assert "4111 1111" not in text

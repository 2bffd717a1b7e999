"""Redaction rules: cards masked in any script and any formatting, order numbers kept, CVVs and IBANs
removed, names and attachment names too, and the rest of the customer's text left as written."""

import unicodedata
from datetime import UTC, datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum import luhn

from relais_context_store.domain import redaction
from relais_context_store.domain.redaction import (
    CUT_MARKER,
    CVV_REDACTED,
    IBAN_REDACTED,
    MASK,
    redact,
    redact_message,
)
from relais_contracts.channel import CUSTOMER_TEXT_MAX, Attachment, MessageReceived

pytestmark = pytest.mark.unit

# The ten digits in scripts a customer may type them in (ASCII, full-width, Arabic-Indic, Eastern
# Arabic-Indic, Devanagari, Bengali, Thai, Mathematical bold).
DIGIT_SCRIPTS = ["0", "\uff10", "\u0660", "\u06f0", "\u0966", "\u09e6", "\u0e50", "\U0001d7ce"]
SEPARATORS = [
    " ", "  ", "-", " - ", ".", "/", "_", ",", "\t", "\n", "\r\n",
    "\u00a0",  # no-break space
    "\u2009",  # thin space
    "\u202f",  # narrow no-break space
    "\u3000",  # ideographic space
    "\u200b",  # zero-width space
    "\u200c", "\u200d", "\u2060", "\ufeff",  # zero-width (non-)joiners, word joiner, BOM
    "\u2013", "\u2014", "\u2212", "\uff0d",  # en dash, em dash, minus sign, full-width hyphen
    "\u200b-\u200b",
]  # fmt: skip
# Words of several scripts (no digits), and emoji, for the text around a number.
WORDS = st.sampled_from(
    [
        "ma carte",
        "my card",
        "Карта",
        "номер",
        "カード番号",
        "信用卡",
        "بطاقتي",
        "कार्ड",
        "κάρτα",
        "😀",
        "🙏🏽",
        "ok",
    ]
)
GLUE = st.sampled_from(["card", "Карта", "カード", "بطاقة", "exp", "x"])


def in_script(digits: str, scripts: list[int]) -> str:
    return "".join(chr(ord(DIGIT_SCRIPTS[s]) + int(d)) for d, s in zip(digits, scripts, strict=True))


def luhn_valid(body: str) -> str:
    return body + luhn.calc_check_digit(body)


def ascii_digits(text: str) -> str:
    """Every digit of the text, of any script, as ASCII digits (the way redaction reads them)."""
    normal = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.decimal(c)) for c in normal if c.isdecimal())


card_numbers = st.integers(13, 19).flatmap(
    lambda n: st.text("0123456789", min_size=n - 1, max_size=n - 1).map(luhn_valid)
)


@st.composite
def written(draw: st.DrawFn, digits: str) -> tuple[str, list[tuple[int, int]]]:
    """The digits as a customer may type them: each in a random script, cut into groups of 1 to 6 joined
    by random separators; with where each digit ended up in the string."""
    scripts = draw(
        st.lists(st.integers(0, len(DIGIT_SCRIPTS) - 1), min_size=len(digits), max_size=len(digits))
    )
    text, spans, i = "", [], 0
    while i < len(digits):
        if i:
            text += draw(st.sampled_from(SEPARATORS))
        size = draw(st.integers(1, 6))
        for d, s in zip(digits[i : i + size], scripts[i : i + size], strict=False):
            c = in_script(d, [s])
            spans.append((len(text), len(text) + len(c)))
            text += c
        i += size
    return text, spans


def shortest_reading(number: str, spans: list[tuple[int, int]]) -> int:
    """Digits in the shortest prefix of whole groups of the written card that passes the Luhn check."""
    digits = 0
    for i, (start, _) in enumerate(spans):
        if i and spans[i - 1][1] != start and digits >= 13 and luhn.is_valid(number[:digits]):
            return digits
        digits += 1
    return digits


@given(
    number=card_numbers,
    data=st.data(),
    before=st.lists(WORDS, max_size=3).map(" ".join),
    after=st.lists(WORDS, max_size=3).map(" ".join),
    glued=st.booleans(),
)
def test_a_card_in_any_script_and_formatting_is_masked_to_its_last_four(
    number: str, data: st.DataObject, before: str, after: str, glued: bool
) -> None:
    card, spans = data.draw(written(number))
    prefix = data.draw(GLUE) if glued else before + " "
    suffix = data.draw(GLUE) if glued else " " + after
    text = prefix + card + suffix
    redacted = redact(text)
    assert "card" in redacted.kinds
    # Only four digits are left: the last four, unless the card also reads as a shorter card (its first
    # 13 to 18 digits pass the Luhn check too), then the last four of that reading.
    shown = shortest_reading(number, spans)
    assert ascii_digits(redacted.text) == number[shown - 4 : shown]
    assert redacted.text.startswith(prefix)
    assert redacted.text.endswith(suffix)
    masked = redacted.text[len(prefix) : len(redacted.text) - len(suffix)]
    # Each masked digit became one mask character; separators and the last four stay as they were.
    assert masked.count(MASK) == len(number) - 4
    shown = shortest_reading(number, spans)
    assert masked.replace(MASK, "") == "".join(
        c for i, c in enumerate(card) if not any(a <= i < b for a, b in spans[: shown - 4] + spans[shown:])
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card4111111111111111exp12/29", "card••••••••••••1111exp12/29"),
        ("４１１１ １１１１ １１１１ １１１１", "•••• •••• •••• １１１１"),  # full-width
        ("٤١١١٫١١١١٫١١١١٫١١١١", "••••٫••••٫••••٫١١١١"),  # Arabic-Indic digits and decimal separator
        ("४१११ ११११ ११११ ११११ धन्यवाद", "•••• •••• •••• ११११ धन्यवाद"),  # Devanagari
        ("4111\u20091111\u20091111\u20091111", "••••\u2009••••\u2009••••\u20091111"),  # thin space
        ("4111\u202f1111\u202f1111\u202f1111", "••••\u202f••••\u202f••••\u202f1111"),  # narrow nbsp
        ("4\u200b111111111111111", "•\u200b•••••••••••1111"),  # zero-width space
        ("4111\n1111\n1111\n1111", "••••\n••••\n••••\n1111"),
        ("4111–1111–1111–1111 🙏", "••••–••••–••••–1111 🙏"),  # en dash, emoji kept
        ("4111_1111_1111_1111", "••••_••••_••••_1111"),
        ("Карта4111111111111111спасибо", "Карта••••••••••••1111спасибо"),
    ],
)
def test_the_forms_that_leaked(text: str, expected: str) -> None:
    redacted = redact(text)
    assert redacted.text == expected
    assert redacted.kinds == ("card",)


@st.composite
def digit_groups(draw: st.DrawFn) -> list[str]:
    return draw(st.lists(st.text("0123456789", min_size=1, max_size=6), min_size=1, max_size=5))


@given(
    groups=digit_groups(),
    data=st.data(),
    prefix=st.sampled_from(["order ", "commande n°", "#", "ORD-", "Заказ"]),
)
def test_numbers_that_fail_the_luhn_check_are_kept(
    groups: list[str], data: st.DataObject, prefix: str
) -> None:
    # No run of whole groups with 13 to 19 digits is a valid card number.
    for i in range(len(groups)):
        for j in range(i + 1, len(groups) + 1):
            digits = "".join(groups[i:j])
            assume(not (13 <= len(digits) <= 19 and luhn.is_valid(digits)))
    seps = [data.draw(st.sampled_from(SEPARATORS)) for _ in groups[1:]]
    scripts = [data.draw(st.integers(0, len(DIGIT_SCRIPTS) - 1)) for _ in groups]
    shown = [in_script(g, [s] * len(g)) for g, s in zip(groups, scripts, strict=True)]
    text = prefix + shown[0] + "".join(s + g for s, g in zip(seps, shown[1:], strict=True)) + " please"
    assert redact(text).text == text


@pytest.mark.parametrize(
    "text",
    [
        "appelez le +33 6 12 34 56 78",
        "call +1 (555) 123-4567",
        "電話 +81 90-1234-5678",
        "звоните +7 912 345-67-89",
        "livré le 12/05/2024 à 14:30",
        "2024-05-12T14:30:00+02:00",
        "le 12.05.2024",
        "order 4111111111111112 please",  # fails the Luhn check
        "suivi 1Z999AA10123456784",
        "I have 123 apples",
        "room 404 at 9:30",
    ],
)
def test_phone_numbers_dates_and_order_numbers_are_kept(text: str) -> None:
    assert redact(text).text == text
    assert redact(text).kinds == ()


@given(number=card_numbers, data=st.data())
def test_a_card_stays_masked_with_a_trailing_security_code(number: str, data: st.DataObject) -> None:
    cvv = data.draw(st.text("0123456789", min_size=3, max_size=3))
    card, spans = data.draw(written(number))
    word = data.draw(st.sampled_from(["cvv ", "", "\n", "/"]))
    redacted = redact(f"{card} {word}{cvv}")
    shown = shortest_reading(number, spans)
    # Never more than four digits of the card, and never a digit of the code.
    assert ascii_digits(redacted.text) == number[shown - 4 : shown]
    assert "card" in redacted.kinds


def test_a_card_and_its_code_that_also_read_as_a_longer_card_leave_only_the_last_four() -> None:
    assert redact("4111-1111-1111-1111, 987").text == "••••-••••-••••-1111, •••"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111 1111 1111 1111 cvv 123", f"card •••• •••• •••• 1111 cvv {CVV_REDACTED}"),
        ("4111-1111-1111-1111, 986", f"••••-••••-••••-1111, {CVV_REDACTED}"),
        ("le cryptogramme est 4321", f"le cryptogramme est {CVV_REDACTED}"),
        ("CVC: 0421", f"CVC: {CVV_REDACTED}"),
        ("cvv123", f"cvv{CVV_REDACTED}"),
        ("CVV2 ４５６", f"CVV2 {CVV_REDACTED}"),
        ("mon code de sécurité: 123", f"mon code de sécurité: {CVV_REDACTED}"),
        ("el código de seguridad es ٤٥٦", f"el código de seguridad es {CVV_REDACTED}"),
        ("die Prüfziffer lautet 789", f"die Prüfziffer lautet {CVV_REDACTED}"),
        ("Sicherheitscode 1234", f"Sicherheitscode {CVV_REDACTED}"),
        ("код безопасности 321", f"код безопасности {CVV_REDACTED}"),
        ("I have 123 apples", "I have 123 apples"),  # no card context: not a code
        ("an accident on 12 May, 450 euros", "an accident on 12 May, 450 euros"),  # "cid" is not a word here
        ("カードのセキュリティコードは１２３です", f"カードのセキュリティコードは{CVV_REDACTED}です"),
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
        "ＦＲ７６３０００６００００１１２３４５６７８９０１８９",  # full-width
        "DE89\u202f3704\u202f0044\u202f0532\u202f0130\u202f00",
        "DE89-3704-0044-0532-0130-00",
        "DE89\u200b370400440532013000",
    ],
)
def test_valid_ibans_are_redacted(iban: str) -> None:
    redacted = redact(f"IBAN: {iban}, merci 🙏")
    assert redacted.text == f"IBAN: {IBAN_REDACTED}, merci 🙏"
    assert redacted.kinds == ("iban",)


def test_an_iban_glued_to_words_is_redacted() -> None:
    assert redact("monIBANFR7630006000011234567890189merci").text == f"monIBAN{IBAN_REDACTED}merci"


def test_an_iban_with_a_wrong_checksum_is_kept() -> None:
    assert redact("FR77 3000 6000 0112 3456 7890 189").text == "FR77 3000 6000 0112 3456 7890 189"


def test_plain_text_is_untouched() -> None:
    text = "Bonjour, ma commande 4521 n'est pas arrivée 😞, appelez le +33 6 12 34 56 78\nПривет, 注文"
    assert redact(text).text == text
    assert redact(text).kinds == ()


def received(text: str, name: str | None = None, attachment: str | None = None) -> MessageReceived:
    data: dict[str, object] = {"channel": "webchat", "from": {"address": "v-1", "name": name}, "text": text}
    if attachment is not None:
        data["attachments"] = [
            {"url": "https://files.example/a", "content_type": "image/png", "name": attachment}
        ]
    return MessageReceived.model_validate(
        {"id": "e-1", "source": "test", "time": datetime(2025, 1, 1, tzinfo=UTC), "tenant": "acme",
         "data": {**data, "external_id": "x-1"}}
    )  # fmt: skip


def test_names_and_attachment_names_are_redacted() -> None:
    clean = redact_message(
        received(
            "bonjour", name="Camille 4111 1111 1111 1111", attachment="carte_4111111111111111_cvv_123.png"
        ).data
    )
    assert clean.name == "Camille •••• •••• •••• 1111"
    assert clean.attachments[0].name == f"carte_••••••••••••1111_cvv_{CVV_REDACTED}.png"
    assert clean.kinds == ("card", "cvv")
    assert clean.text == "bonjour"


def test_a_text_longer_than_the_log_keeps_is_cut_and_the_cut_recorded() -> None:
    long = "Привет 😀 " * 5000  # 45,000 characters
    clean = redact_message(received(long).data)
    assert len(clean.text) == CUSTOMER_TEXT_MAX
    assert clean.text.endswith(CUT_MARKER)
    assert clean.truncated_from == len(long)
    assert redact_message(received("court").data).truncated_from is None


def test_a_message_that_redaction_makes_too_long_is_cut_not_lost() -> None:
    long = ("card 4111 1111 1111 1111 cvv 123 " * 700)[:CUSTOMER_TEXT_MAX]
    clean = redact_message(received(long).data)
    assert len(clean.text) == CUSTOMER_TEXT_MAX
    assert clean.text.endswith(CUT_MARKER)
    assert "4111 1111" not in clean.text
    assert clean.truncated_from == CUSTOMER_TEXT_MAX


def test_a_card_on_the_cut_is_masked_before_the_cut() -> None:
    text = "x" * (CUSTOMER_TEXT_MAX - 10) + " 4111 1111 1111 1111"
    clean = redact_message(received(text).data)
    assert "4111" not in clean.text
    assert "1111 1" not in clean.text


@pytest.fixture(autouse=True)
def no_canonical_characters_cached() -> None:
    """Each test works out the canonical characters it reads: mutation testing runs every mutant in a
    process forked after the tests ran once, whose caches would otherwise answer for the code."""
    redaction._TABLE.clear()
    redaction._canonical.cache_clear()


def test_a_character_that_expands_keeps_the_card_after_it_masked_in_place() -> None:
    # "⑽" reads as "(10)": four canonical characters for one written.
    assert redact("⑽ ⑽ 4111 1111 1111 1111 ok").text == "⑽ ⑽ •••• •••• •••• 1111 ok"


def test_an_iban_at_the_very_start_and_one_glued_to_it_are_both_redacted() -> None:
    redacted = redact("DE89370400440532013000FR7630006000011234567890189 merci")
    assert redacted.text == f"{IBAN_REDACTED}{IBAN_REDACTED} merci"


def test_an_iban_after_letters_and_digits_of_no_country_is_redacted() -> None:
    assert redact("ZZ12 puis DE89 3704 0044 0532 0130 00").text == f"ZZ12 puis {IBAN_REDACTED}"


def test_a_text_of_exactly_the_logs_size_is_kept_whole() -> None:
    text = "a" * CUSTOMER_TEXT_MAX
    clean = redact_message(received(text).data)
    assert (clean.text, clean.truncated_from) == (text, None)


def test_what_was_redacted_is_counted_from_the_text_the_name_and_every_attachment() -> None:
    event = received("IBAN DE89370400440532013000", name="Camille 4111 1111 1111 1111")
    attachments = [
        {"url": "https://files.example/a", "content_type": "image/png"},  # no name: kept as it is
        {"url": "https://files.example/b", "content_type": "image/png", "name": "recu.png"},
        {"url": "https://files.example/c", "content_type": "image/png", "name": "cvv_123.png"},
    ]
    data = event.data.model_copy(
        update={"attachments": tuple(Attachment.model_validate(a) for a in attachments)}
    )
    clean = redact_message(data)
    assert [a.model_dump(exclude_none=True) for a in clean.attachments] == [
        attachments[0],
        attachments[1],
        {**attachments[2], "name": f"cvv_{CVV_REDACTED}.png"},
    ]
    assert clean.kinds == ("card", "cvv", "iban")
    assert clean.text == f"IBAN {IBAN_REDACTED}"


def test_a_card_after_a_group_that_starts_no_card_keeps_that_group_and_its_two_readings() -> None:
    # "12" starts no card; from "4111" on, the card (16 digits) and card and code (19) both pass Luhn.
    assert redact("n° 12 4111-1111-1111-1111, 987").text == "n° 12 ••••-••••-••••-1111, •••"


def test_two_cards_in_one_run_of_digits_are_both_masked() -> None:
    # The second card's last four, a lone 4-digit number right after a card, read as its code too.
    redacted = redact("4111 1111 1111 1111 5555 5555 5555 4444")
    assert redacted.text == f"•••• •••• •••• 1111 •••• •••• •••• {CVV_REDACTED}"


def test_twenty_digits_that_pass_the_luhn_check_are_not_a_card() -> None:
    assert redact("suivi 12345678901234567894").text == "suivi 12345678901234567894"


def test_a_security_code_is_taken_up_to_its_reach_and_not_beyond() -> None:
    # The word ends at 3; a code starting 32 characters further is within reach, 33 is not.
    assert redact("cvv:" + " " * 31 + "123").text == "cvv:" + " " * 31 + CVV_REDACTED
    assert redact("cvv:" + " " * 32 + "123").text == "cvv:" + " " * 32 + "123"


def test_a_character_written_for_two_digits_across_the_last_four_is_masked() -> None:
    # "⑪" reads as "11": the 12th and 13th digits, the first of the last four among them.
    assert redact("4111 1111 111⑪111").text == "•••• •••• ••••111"

"""Facts the bot pulls out of the customer's words for the agent: order numbers, amounts, dates, ..."""

import re
from collections import Counter

import phonenumbers

from relais_bot.domain.language import normalise
from relais_contracts.conversation import Entity

_ORDER = re.compile(
    r"\b(?:order|commande|cde|cmd|pedido|encomenda|bestellung|bestellnummer|ordine|ordre|parcel|colis|paquete"
    r"|paket|pacco|n(?:o|r|um(?:ero)?)?)\b\.?\s*(?:n(?:o|r|um(?:ero)?)?\.?\s*|#\s*|:\s*|°\s*)*"
    r"([a-z]{0,3}-?\d[\d-]{3,14}\d)\b"
    r"|#\s?([a-z]{0,3}-?\d{4,15})\b",
    re.IGNORECASE,
)
_AMOUNT = re.compile(
    r"(?:(?:€|eur|\$|usd|£|gbp|chf)\s?(\d{1,7}(?:[.,]\d{1,2})?)"
    r"|(\d{1,7}(?:[.,]\d{1,2})?)\s?(?:€|eur(?:os?)?|\$|usd|dollars?|£|gbp|pounds?|chf|francs?|reais|r\$))",
    re.IGNORECASE,
)
_MONTHS = (
    "jan(?:uary|vier)?|feb(?:ruary)?|fev(?:rier)?|mar(?:ch|s)?|apr(?:il)?|avr(?:il)?|may|mai|june?|juin|"
    "july?|juil(?:let)?|aug(?:ust)?|aout|sep(?:t(?:ember|embre)?)?|oct(?:ober|obre)?|nov(?:ember|embre)?|"
    "dec(?:ember|embre)?|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|"
    "diciembre|januar|februar|marz|juni|juli|oktober|dezember|gennaio|febbraio|aprile|maggio|giugno|"
    "luglio|settembre|ottobre|dicembre|janeiro|fevereiro|marco|maio|junho|julho|setembro|outubro|"
    "novembro|dezembro"
)
_DATE = re.compile(
    r"\b(\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}(?:[/.]\d{2,4})?"
    rf"|\d{{1,2}}(?:er|st|nd|rd|th)? (?:de )?(?:{_MONTHS})\b(?: (?:de )?\d{{4}})?"
    rf"|(?:{_MONTHS}) \d{{1,2}}(?:st|nd|rd|th)?\b"
    r"|yesterday|today|last week|hier|aujourd'hui|avant-hier|la semaine derniere|ayer|hoy|gestern|heute"
    r"|ieri|oggi|ontem|hoje)\b"
)
# A local part of at most 64 characters (RFC 5321): unbounded, each start in a run of "1.1.1." scanned
# to its end, 16 ms for 2,500 characters with no "@" at all.
_EMAIL = re.compile(r"\b[\w.+-]{1,64}@[\w-]+(?:\.[\w-]+)+\b")
_ACCOUNT = re.compile(
    r"\b(?:account|compte|client|cuenta|konto|kundennummer|kunden-nr|conta|cliente)\s*(?:n(?:o|r|um(?:ero)?)?\.?\s*|#\s*|:\s*|°\s*)*"
    r"([a-z]{0,3}-?\d{4,14})\b",
    re.IGNORECASE,
)
_REGION = {"fr": "FR", "en": "GB", "es": "ES", "de": "DE", "it": "IT", "pt": "PT"}
# Digit groups with what people put between the numbers they write in a row: phonenumbers' matcher
# reads such a run as one candidate and finds no phone number in "commande 123456789 06 12 34 56 78".
_DIGIT_RUN = re.compile(r"\+?\d+(?:[\s./,\-]{1,3}\d+)*")
_GROUP = re.compile(r"\d+")
# The longest phone number written, separators included.
_PHONE_CHARS = 24


def extract(text: str, language: str) -> tuple[Entity, ...]:
    """Every entity found, in a stable order, without duplicates."""
    plain = normalise(text)
    found: list[Entity] = []
    for m in _ORDER.finditer(plain):
        found.append(Entity(kind="order_number", value=(m.group(1) or m.group(2)).upper()))
    for m in _ACCOUNT.finditer(plain):
        found.append(Entity(kind="account", value=m.group(1).upper()))
    amounts = list(_AMOUNT.finditer(plain))
    found += [Entity(kind="amount", value=m.group(0).strip()) for m in amounts]
    for m in _DATE.finditer(plain):
        if not any(a.start() <= m.start() < a.end() for a in amounts):  # "35.50 €" is not a date
            found.append(Entity(kind="date", value=m.group(1)))
    for m in _EMAIL.finditer(text):
        found.append(Entity(kind="email", value=m.group(0)))
    region = _REGION.get(language, "FR")
    # A phone number that an order or account number is (written in any format) is that number, not a
    # phone number. Each number is compared whole and apart: compared by their last digits, or joined,
    # an order number next to a phone number, or two side by side, took the phone number away.
    read = [e.value for e in found if e.kind in ("order_number", "account")]
    numbers = {p for n in read for p in _read_as_phone(n, region)}
    for number in _phones(text, region, _written_at(read, text)):
        value = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if value not in numbers:
            found.append(Entity(kind="phone", value=value))
    return tuple(dict.fromkeys(found))


def _read_as_phone(number: str, region: str) -> set[str]:
    """The phone numbers (E.164) an order or account number's digits read as: in the customer's region,
    or as an international number written without its "+"."""
    digits = "".join(c for c in number if c.isdigit())
    read = set()
    for raw in (digits, f"+{digits}"):
        try:
            parsed = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        read.add(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    return read


def _alone(candidate: str, region: str) -> phonenumbers.PhoneNumber | None:
    """The phone number `candidate` is, written alone, as phonenumbers' matcher finds it whole."""
    for match in phonenumbers.PhoneNumberMatcher(candidate, region):
        if (match.start, match.end) == (0, len(candidate)):
            return match.number
    return None


def _phones(text: str, region: str, taken: list[tuple[int, int]]) -> list[phonenumbers.PhoneNumber]:
    """The phone numbers of the text, in order.

    phonenumbers' matcher reads a run of digit groups as one candidate: with other numbers touching a
    phone number (order numbers, another phone number) it finds none, or a part that is no phone number
    ("01510 0201000 10000" gives "0201000"). So in each run of several groups, the phone numbers are the
    longest windows of whole groups, from the left, that the matcher finds whole written alone; its
    finds elsewhere (spanning punctuation such as "+1 (555) 123-4567") are kept. The characters `taken`
    (order and account numbers read already) are part of no window.
    """
    runs = [run.span() for run in _DIGIT_RUN.finditer(text)]
    found = [
        (m.start, m.end, m.number)
        for m in phonenumbers.PhoneNumberMatcher(text, region)
        if not any(a <= m.start and m.end <= b and (a, b) != (m.start, m.end) for a, b in runs)
    ]
    for run_start, run_end in runs:
        groups = [(g.start(), g.end()) for g in _GROUP.finditer(text, run_start, run_end)]
        if len(groups) == 1:
            continue  # one number alone: the matcher read it
        first = 0
        while first < len(groups):
            # The window may start at the run's "+" (an international number).
            start = run_start if first == 0 else groups[first][0]
            for last in range(len(groups) - 1, first - 1, -1):
                end = groups[last][1]
                if end - start > _PHONE_CHARS or any(a < end and start < b for a, b, _ in found):
                    continue  # too long for a phone number, or holding one the matcher found
                if any(a < end and start < b for a, b in taken):
                    continue
                if number := _alone(text[start:end], region):
                    found.append((start, end, number))
                    first = last
                    break
            first += 1
    return [number for _, _, number in sorted(found, key=lambda f: f[0])]


def _written_at(numbers: list[str], text: str) -> list[tuple[int, int]]:
    """Where these order and account numbers (as read, a number read twice given twice) are written in
    the text: the first place their digits are written as one piece, as often as each was read."""
    spans = []
    for number, times in Counter(numbers).items():
        digits = number[next((i for i, c in enumerate(number) if c.isdigit()), len(number)) :]
        pattern = rf"(?<![\d-]){re.escape(digits)}(?![\d-])"
        spans += [m.span() for m in re.finditer(pattern, text, re.IGNORECASE)][:times]
    return spans

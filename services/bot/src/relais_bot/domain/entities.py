"""Facts the bot pulls out of the customer's words for the agent: order numbers, amounts, dates, ..."""

import re

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
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_ACCOUNT = re.compile(
    r"\b(?:account|compte|client|cuenta|konto|kundennummer|kunden-nr|conta|cliente)\s*(?:n(?:o|r|um(?:ero)?)?\.?\s*|#\s*|:\s*|°\s*)*"
    r"([a-z]{0,3}-?\d{4,14})\b",
    re.IGNORECASE,
)
_REGION = {"fr": "FR", "en": "GB", "es": "ES", "de": "DE", "it": "IT", "pt": "PT"}


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
    for match in phonenumbers.PhoneNumberMatcher(text, _REGION.get(language, "FR")):
        number = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        found.append(Entity(kind="phone", value=number))
    numbers = {e.value for e in found if e.kind in ("order_number", "account")}
    # A phone-like digit run already read as an order or account number is not a phone number.
    found = [e for e in found if not (e.kind == "phone" and e.value.lstrip("+")[-8:] in "".join(numbers))]
    return tuple(dict.fromkeys(found))

"""A phone number is found whatever other numbers touch it (an order or account number before or after
it, with a space, a slash, a comma, a dash between), in each language's region, and an order or account
number is never taken for a phone number."""

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from relais_bot.domain.entities import extract

pytestmark = pytest.mark.unit

REGIONS = {"fr": "FR", "en": "GB", "es": "ES", "de": "DE", "it": "IT", "pt": "PT"}
# What comes before an order or account number, and a word before a phone number, in each language.
ORDER_WORDS = {
    "fr": ["commande", "commande n°", "compte", "colis"],
    "en": ["order", "order no.", "account", "parcel"],
    "es": ["pedido", "cuenta", "paquete"],
    "de": ["Bestellung", "Bestellnummer", "Kundennummer", "Konto"],
    "it": ["ordine", "cliente", "pacco"],
    "pt": ["encomenda", "pedido", "conta"],
}
PHONE_WORDS = {"fr": "tel", "en": "call me on", "es": "llámame al", "de": "Tel.", "it": "tel", "pt": "ligue"}
SEPARATORS = [" ", "  ", "/", " / ", ",", ", ", " - ", "\n", "\u00a0"]
KINDS = [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
FORMATS = [
    phonenumbers.PhoneNumberFormat.NATIONAL,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.E164,
]


def alone(text: str, region: str) -> str | None:
    """The phone number (E.164) phonenumbers' matcher finds in `text` written alone, whole."""
    for match in phonenumbers.PhoneNumberMatcher(text, region):
        if (match.start, match.end) == (0, len(text)):
            return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
    return None


@st.composite
def phone_numbers(draw: st.DrawFn, region: str) -> tuple[str, str]:
    """A valid phone number of the region as a customer writes it (national with its spaces, national in
    one piece, international, E.164) that the matcher finds written alone; and its E.164 form."""
    kind = draw(st.sampled_from(KINDS))
    example = phonenumbers.example_number_for_type(region, kind)
    assert example is not None
    national = phonenumbers.national_significant_number(example)
    keep = draw(st.integers(2, 4))  # the range's first digits kept, the subscriber's drawn
    tail = draw(st.text("0123456789", min_size=len(national) - keep, max_size=len(national) - keep))
    number = phonenumbers.parse(f"+{example.country_code}{national[:keep]}{tail}")
    assume(phonenumbers.is_valid_number(number))
    style = draw(st.sampled_from([*FORMATS, "in one piece"]))
    if style == "in one piece":
        written = "".join(phonenumbers.format_number(number, FORMATS[0]).split())
    else:
        written = phonenumbers.format_number(number, style)
    e164 = alone(written, region)
    assume(e164 is not None)
    assert e164 is not None
    return written, e164


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, str, str, str]:
    """(language, text, the phone number's E.164 form, the order number) of a message where an order
    or account number touches a phone number, before or after it."""
    language = draw(st.sampled_from(sorted(REGIONS)))
    region = REGIONS[language]
    phone, e164 = draw(phone_numbers(region))
    order = draw(st.text("0123456789", min_size=5, max_size=12).filter(lambda o: o[0] != "0"))
    assume(alone(order, region) is None)  # an order number that is no phone number by itself
    sep = draw(st.sampled_from(SEPARATORS))
    word = draw(st.sampled_from(ORDER_WORDS[language]))
    if draw(st.booleans()):
        text = f"{word} {order}{sep}{phone}"
    else:
        # Unless the two are one valid number together (German numbers have no fixed length: "030
        # 123456 10000" is one), where nothing tells which the customer meant.
        assume(alone(f"{phone}{sep}{order}", region) is None)
        text = f"{PHONE_WORDS[language]} {phone}{sep}{order} ({word})"
    return language, text, e164, order


@given(messages())
def test_a_phone_number_touching_an_order_number_is_found_and_the_order_number_is_no_phone(
    message: tuple[str, str, str, str],
) -> None:
    language, text, e164, _ = message
    phones = [e.value for e in extract(text, language) if e.kind == "phone"]
    assert phones == [e164]


@pytest.mark.parametrize(
    ("text", "language", "phone"),
    [
        ("order 123456789 call me on +33 6 12 34 56 78", "fr", "+33612345678"),
        ("commande 123456789 06 12 34 56 78", "fr", "+33612345678"),
        ("commande 123456789/0612345678", "fr", "+33612345678"),
        ("commande 123456789, 06 12 34 56 78", "fr", "+33612345678"),
        ("compte 1212, commande 121212, tel 06 12 12 12 12", "fr", "+33612121212"),
        ("order 12345678 07400 123456", "en", "+447400123456"),
        ("pedido 98765432 612 34 56 78", "es", "+34612345678"),
        ("Bestellung 98765432 01512 3456789", "de", "+4915123456789"),
        ("ordine 98765432, 312 345 6789", "it", "+393123456789"),
        ("encomenda 98765432 / 912 345 678", "pt", "+351912345678"),
    ],
)
def test_the_phone_numbers_that_were_dropped(text: str, language: str, phone: str) -> None:
    assert [e.value for e in extract(text, language) if e.kind == "phone"] == [phone]

"""An order or account number (seven digits or more, in one piece) touching a phone number is neither
a card nor part of one: both are kept as written whatever separates them (a space, a slash, a comma, a
dash), with the store's phone region set to the region of each of the six languages the bot speaks.
Cards stay masked in every layout they are typed in (test_redaction.py)."""

from datetime import UTC, datetime, timedelta

import phonenumbers
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from relais_context_store.domain.identity import resolve_customer
from relais_context_store.domain.redaction import CVV_REDACTED, MASK, redact
from relais_context_store.domain.resolution import resolve_message
from relais_contracts.channel import MessageReceived, MessageReceivedData
from relais_contracts.conversation import CustomerMessage

pytestmark = pytest.mark.unit

REGIONS = {"fr": "FR", "en": "GB", "es": "ES", "de": "DE", "it": "IT", "pt": "PT"}
ORDER_WORDS = {
    "fr": ["commande", "commande n°", "compte", "réf"],
    "en": ["order", "order no.", "account", "ref"],
    "es": ["pedido", "cuenta", "referencia"],
    "de": ["Bestellung", "Kundennummer", "Konto"],
    "it": ["ordine", "cliente", "rif."],
    "pt": ["encomenda", "pedido", "conta"],
}
PHONE_WORDS = {"fr": "tel", "en": "call me on", "es": "llámame al", "de": "Tel.", "it": "tel", "pt": "ligue"}
SEPARATORS = [" ", "  ", "/", " / ", ",", ", ", " - ", "-", ".", "\n", "\u00a0", "\u2013"]
KINDS = [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
FORMATS = [
    phonenumbers.PhoneNumberFormat.NATIONAL,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.E164,
]


def alone(text: str, region: str) -> bool:
    """Whether phonenumbers' matcher finds `text`, written alone, whole as a phone number."""
    return any((m.start, m.end) == (0, len(text)) for m in phonenumbers.PhoneNumberMatcher(text, region))


@st.composite
def phone_numbers(draw: st.DrawFn, region: str) -> str:
    """A valid phone number of the region, written as customers write it (national with its spaces,
    international, E.164, or national in one piece where the region has a national prefix), that the
    matcher finds written alone."""
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
        # Nine digits in one piece (Spain, Italy, Portugal: no national prefix) are as like a card's
        # digits as the order number's: the two together are still read as a card (see the module).
        # So are fewer than ten digits in one piece (a short German number).
        assume(phonenumbers.ndd_prefix_for_region(region, True))
        written = "".join(phonenumbers.format_number(number, FORMATS[0]).split())
        assume(len(written) >= 10)
    else:
        written = phonenumbers.format_number(number, style)
    assume(alone(written, region))
    return written


# Order and account numbers written in one piece, of seven digits or more (a card is typed in groups of
# at most six, or in one piece: six digits or fewer next to a phone number may be a card's groups).
order_numbers = st.text("0123456789", min_size=7, max_size=12)


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, str]:
    """(region, text)"""
    language = draw(st.sampled_from(sorted(REGIONS)))
    phone = draw(phone_numbers(REGIONS[language]))
    order = draw(order_numbers)
    sep = draw(st.sampled_from(SEPARATORS))
    word = draw(st.sampled_from(ORDER_WORDS[language]))
    where = draw(st.sampled_from(["before", "after", "both"]))
    if where == "before":
        return REGIONS[language], f"{word} {order}{sep}{phone}"
    if where == "after":
        return REGIONS[language], f"{PHONE_WORDS[language]} {phone}{sep}{order} ({word})"
    return REGIONS[
        language
    ], f"{word} {order}{sep}{phone}{draw(st.sampled_from(SEPARATORS))}{draw(order_numbers)}"


@given(messages())
@example(("GB", "order 12345678 07400 123456"))  # 12345678 07400: 13 digits that pass the Luhn check
@example(("FR", "commande 123456789 06 12 34 56 78"))
@example(("DE", "Bestellung 12345678/01512 3456789"))
def test_an_order_number_touching_a_phone_number_is_kept_and_so_is_the_phone_number(
    message: tuple[str, str],
) -> None:
    region, text = message
    redacted = redact(text, region)
    assert redacted.text == text
    assert redacted.kinds == ()


@pytest.mark.parametrize(
    ("region", "text", "without_region"),
    [
        ("FR", "commande 1234569 06 12 34 56 78", "commande ••••••• •• •• 34 56 78"),
        ("FR", "commande 1234574/0612345678", "commande •••••••/••••••5678"),
        ("FR", "commande 1234569, 06 12 34 56 78", "commande •••••••, •• •• 34 56 78"),
        ("ES", "pedido 1234569 612 34 56 78", "pedido ••••••• ••• •• 56 78"),
        ("DE", "Bestellung 1234567 01512 3456789", "Bestellung ••••••• ••••• •••6789"),
        ("IT", "ordine 1234569 312 345 6789", f"ordine ••••••• ••2 345 {CVV_REDACTED}"),
        ("PT", "encomenda 1234574 912 345 678", f"encomenda ••••••• ••2 345 {CVV_REDACTED}"),
        ("GB", "order 1234569 07400 123456", "order ••••••• ••••• ••3456"),
    ],
)
def test_the_forms_that_were_taken_for_a_card(region: str, text: str, without_region: str) -> None:
    # Without a phone region (national numbers unknown) the joined digits still read as a card, as
    # every such text did before: part of the phone number masked, the rest taken for a code.
    assert redact(text).text == without_region
    assert redact(text, region).text == text


def test_a_card_next_to_a_phone_number_is_masked_and_the_phone_number_kept() -> None:
    assert redact("4111111111111111 06 12 34 56 78", "FR").text == f"{MASK * 12}1111 06 12 34 56 78"
    assert redact("carte 4111 1111 1111 1111, tel 06 12 34 56 78", "FR").text == (
        f"carte {MASK * 4} {MASK * 4} {MASK * 4} 1111, tel 06 12 34 56 78"
    )


def test_an_international_phone_number_that_passes_the_luhn_check_is_no_card() -> None:
    # 49 1512 0000000: 13 digits, Luhn-valid, but after a "+", where no card is written.
    assert redact("Tel. +49 1512 0000000").text == "Tel. +49 1512 0000000"


def test_digits_grouped_as_cards_are_typed_stay_a_card_even_when_part_of_them_is_a_phone_number() -> None:
    # Six digits or fewer in a group: a card's groups. 123455 06 12 34 56 78 passes the Luhn check.
    assert redact("123455 06 12 34 56 78", "FR").kinds == ("card",)
    # Two long pieces, neither a phone number written as one (a local German number without its area
    # code, "16480656", is one only to phonenumbers): a card typed in two halves stays a card.
    assert redact("39749711 16480656", "DE").kinds == ("card",)


def test_a_message_is_redacted_with_the_phone_region_the_store_is_given() -> None:
    event = MessageReceived(
        id="in-1",
        source="test",
        time=datetime(2026, 11, 30, tzinfo=UTC),
        tenant="acme",
        data=MessageReceivedData.model_validate(
            {
                "channel": "sms",
                "from": {"address": "+33600000000"},
                "text": "commande 1234569 06 12 34 56 78",
                "external_id": "x",
            }
        ),
    )
    customer = resolve_customer([], {}, "cust-1")
    for region, text in [
        ("FR", "commande 1234569 06 12 34 56 78"),
        (None, "commande ••••••• •• •• 34 56 78"),
    ]:
        resolved = resolve_message(event, customer, None, timedelta(hours=1), region)
        (message,) = (o.event for o in resolved.outgoing if isinstance(o.event, CustomerMessage))
        assert message.data.text == text

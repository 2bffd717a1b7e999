"""The facts the bot hands the agent: each kind of entity, in its order, once, and a phone number only
where it is not an order or account number already."""

import pytest

from relais_bot.domain.entities import extract

pytestmark = pytest.mark.unit


def found(text: str, language: str = "en") -> list[tuple[str, str]]:
    return [(e.kind, e.value) for e in extract(text, language)]


def test_order_numbers_after_a_word_or_a_hash_are_read_in_capitals() -> None:
    assert found("#a12345 and order no 98765") == [("order_number", "A12345"), ("order_number", "98765")]
    assert found("commande n° cd-20240 arrivée") == [("order_number", "CD-20240")]


def test_an_account_number_is_read_in_capitals() -> None:
    assert found("compte a-1234", "fr") == [("account", "A-1234")]


def test_amounts_with_the_currency_before_or_after_and_dates_that_are_not_part_of_an_amount() -> None:
    assert found("€ 12 then 12 €") == [("amount", "€ 12"), ("amount", "12 €")]
    # "35.50" reads as a date too; inside the amount it is not one ...
    assert found("35.50 € on 3 march 2024") == [("amount", "35.50 €"), ("date", "3 march 2024")]
    # ... but a date right after an amount is.
    assert found("paid 35€12/03") == [("amount", "35€"), ("date", "12/03")]


def test_an_email_keeps_its_spelling() -> None:
    assert found("Mail Jo.Doe@Example.FR") == [("email", "Jo.Doe@Example.FR")]


def test_a_phone_number_is_read_in_the_customers_country_or_in_france_by_default() -> None:
    assert found("call 06 12 34 56 78", "fr") == [("phone", "+33612345678")]
    assert found("call 06 12 34 56 78", "ja") == [("phone", "+33612345678")]  # no region of its own
    assert found("call 06 12 34 56 78", "en") == []  # not a British number
    assert found("call 020 7946 0018", "en") == [("phone", "+442079460018")]
    assert found("call 020 7946 0018", "fr") == []


def test_a_phone_number_that_is_an_order_or_account_number_already_is_left_out() -> None:
    assert found("account 0612345678, ring 06 12 34 56 78", "fr") == [("account", "0612345678")]
    assert found("order 0612345678, ring 06 12 34 56 78", "fr") == [("order_number", "0612345678")]
    # The same number written otherwise, or as an international number without its "+".
    assert found("order 0612345678, ring +33 6 12 34 56 78", "fr") == [("order_number", "0612345678")]
    assert found("order 33612345678, ring 06 12 34 56 78", "fr") == [("order_number", "33612345678")]
    # The whole number is compared, not its last digits: another number ending the same is kept.
    assert found("order a12345678 ring 06 12 34 56 78", "fr") == [
        ("order_number", "A12345678"),
        ("phone", "+33612345678"),
    ]
    assert found("order x2345678 ring 06 12 34 56 78", "fr") == [
        ("order_number", "X2345678"),
        ("phone", "+33612345678"),
    ]


def test_each_entity_is_given_once_in_the_order_found() -> None:
    assert found("order 12345 again order 12345, 12 € and 12 €") == [
        ("order_number", "12345"),
        ("amount", "12 €"),
    ]

"""Sealing customer text with per-customer keys: readable with the key, unreadable once it is destroyed."""

from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet

from relais_contracts.conversation import CustomerMessage, CustomerMessageData
from relais_platform.sealing import ERASED_TEXT, key_id, open_sealed, seal

pytestmark = pytest.mark.unit


def test_a_sealed_text_opens_only_with_its_key() -> None:
    key = Fernet(Fernet.generate_key())
    token = seal(key, "ma carte •••• 1111", "Camille")
    assert "Camille" not in token
    assert "carte" not in token
    assert open_sealed(key, token) == ("ma carte •••• 1111", "Camille")
    assert open_sealed(Fernet(Fernet.generate_key()), token) == (ERASED_TEXT, None)
    assert open_sealed(None, token) == (ERASED_TEXT, None)  # the key was destroyed


def test_a_sealed_message_travels_without_its_text() -> None:
    key = Fernet(Fernet.generate_key())
    message = CustomerMessage(
        id="m-1", source="relais/context-store", time=datetime(2026, 11, 24, tzinfo=UTC), tenant="acme",
        subject="conv-1",
        data=CustomerMessageData(
            message_id="m-1", channel="sms", address="+33612345678", text="", external_id="x",
            text_sealed=seal(key, "bonjour", None), key_id=key_id("acme", "cust-1"),
        ),
    )  # fmt: skip
    assert message.data.sealed
    assert b"bonjour" not in message.to_json()

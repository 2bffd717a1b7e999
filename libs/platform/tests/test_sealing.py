"""Sealing customer text with per-customer keys: readable with the key, unreadable once it is destroyed."""

from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet

from relais_contracts.conversation import (
    CustomerMessage,
    CustomerMessageData,
    Entity,
    HandoffPacket,
    TranscriptEntry,
)
from relais_platform.sealing import ERASED_TEXT, key_id, open_packet, open_sealed, seal, seal_packet

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
        id="m-1",
        source="relais/context-store",
        time=datetime(2026, 11, 24, tzinfo=UTC),
        tenant="acme",
        subject="conv-1",
        data=CustomerMessageData(
            message_id="m-1",
            channel="sms",
            address="+33612345678",
            text="",
            external_id="x",
            text_sealed=seal(key, "bonjour", None),
            key_id=key_id("acme", "cust-1"),
        ),
    )
    assert message.data.sealed
    assert b"bonjour" not in message.to_json()


def test_a_sealed_packet_keeps_its_routing_fields_and_hides_the_customers_words() -> None:
    key = Fernet(Fernet.generate_key())
    packet = HandoffPacket(
        reason="sensitive",
        summary="my card was stolen",
        queue="care",
        skills=("care",),
        priority=90,
        language="en",
        customer_id="cust-1",
        transcript=(
            TranscriptEntry(
                message_id="m1",
                author_kind="customer",
                text="my card was stolen",
                at=datetime(2026, 1, 1, tzinfo=UTC),
            ),
        ),
        entities=(Entity(kind="amount", value="120 EUR"),),
    )
    sealed = seal_packet(key, "acme/cust-1", packet)
    assert b"stolen" not in sealed.model_dump_json().encode()
    assert b"120 EUR" not in sealed.model_dump_json().encode()
    assert (sealed.queue, sealed.skills, sealed.priority, sealed.reason) == (
        "care",
        ("care",),
        90,
        "sensitive",
    )
    opened = open_packet(key, sealed)
    assert opened.model_dump(exclude={"key_id"}) == packet.model_dump(exclude={"key_id"})
    assert open_packet(None, sealed).summary == ERASED_TEXT  # the key was destroyed
    assert open_packet(None, sealed).transcript == ()
    assert open_packet(Fernet(Fernet.generate_key()), sealed).summary == ERASED_TEXT  # not our key
    assert open_packet(None, packet) == packet  # never sealed: as it is

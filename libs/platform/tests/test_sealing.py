"""Sealing customer text with per-customer keys: readable with the key, unreadable once it is destroyed."""

from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from relais_contracts.channel import CUSTOMER_NAME_MAX, CUSTOMER_TEXT_MAX
from relais_contracts.conversation import (
    PACKET_MAX_BYTES,
    SEALED_TEXT_MAX,
    CustomerMessage,
    CustomerMessageData,
    Entity,
    HandoffPacket,
    NoteAdded,
    NoteData,
    ReplyAuthor,
    ReplyData,
    ReplyPosted,
    TranscriptEntry,
)
from relais_contracts.routing import WorkSubmitted, WorkSubmittedData
from relais_platform.sealing import (
    ERASED_TEXT,
    fit_packet,
    key_id,
    open_packet,
    open_sealed,
    open_written,
    packet_bytes,
    seal,
    seal_packet,
    seal_written,
    sealed_length,
)

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


# Texts in the scripts whose UTF-8 bytes outnumber their characters (2 for Cyrillic, 3 for CJK, 4 for
# emoji), and control characters that JSON escapes to 6 bytes.
SCRIPTS = ["Привет, мир! ", "注文はどこですか", "😀🙏🏽👍", "\x01\x02\t", "plain ASCII "]


def long_text(chars: int, script: str) -> str:
    return (script * (chars // len(script) + 1))[:chars]


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 100, 4095, 4096, 100_000])
def test_the_sealed_length_is_the_tokens_length(size: int) -> None:
    key = Fernet(Fernet.generate_key())
    assert len(key.encrypt(b"x" * size)) == sealed_length(size)


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_customer_text_at_its_maximum_seals_within_the_contract(script: str) -> None:
    key = Fernet(Fernet.generate_key())
    text, name = long_text(CUSTOMER_TEXT_MAX, script), long_text(CUSTOMER_NAME_MAX, script)
    token = seal(key, text, name)
    assert len(token) <= SEALED_TEXT_MAX
    assert open_sealed(key, token) == (text, name)


def packet_with(entries: int, chars: int, script: str) -> HandoffPacket:
    at = datetime(2026, 11, 24, tzinfo=UTC)
    transcript = tuple(
        TranscriptEntry(
            message_id=f"m-{i}", author_kind="customer", text=f"{i}:" + long_text(chars, script), at=at
        )
        for i in range(entries)
    )
    return HandoffPacket(reason="customer-request", summary=long_text(600, script), transcript=transcript)


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_size_of_a_sealed_packet_is_known_before_sealing(script: str) -> None:
    key = Fernet(Fernet.generate_key())
    packet = packet_with(5, 3000, script)
    sealed = seal_packet(key, "acme/cu-1", packet)
    assert packet_bytes(packet, "acme/cu-1") == len(sealed.model_dump_json(exclude_none=True).encode())
    assert packet_bytes(packet) == len(packet.model_dump_json(exclude_none=True).encode())


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("sealed", [False, True])
def test_a_long_transcript_keeps_its_newest_entries_within_the_budget(script: str, sealed: bool) -> None:
    key = Fernet(Fernet.generate_key())
    kid = "acme/cu-1" if sealed else None
    packet = packet_with(50, 20_000, script)
    fitted = fit_packet(packet, kid)
    assert fitted.transcript == packet.transcript[-len(fitted.transcript) :]
    assert fitted.transcript_omitted == 50 - len(fitted.transcript)
    assert fitted.transcript_omitted > 0
    on_topic = seal_packet(key, "acme/cu-1", fitted) if sealed else fitted
    assert len(on_topic.model_dump_json(exclude_none=True).encode()) <= PACKET_MAX_BYTES
    # The routing event around it stays far under the broker's 1 MiB record.
    work = WorkSubmitted(
        id="e" * 200, source="s" * 500, time=datetime(2026, 11, 24, tzinfo=UTC), tenant="acme",
        subject="c" * 200, correlationid="r" * 200, causationid="r" * 200,
        data=WorkSubmittedData(conversation_id="c" * 200, channel="webchat", packet=on_topic),
    )  # fmt: skip
    assert len(work.to_json()) <= PACKET_MAX_BYTES + 2048 < 1_048_576 // 4
    # As many entries as fit: one more would not.
    more = packet.transcript[-len(fitted.transcript) - 1 :]
    assert packet_bytes(fitted.model_copy(update={"transcript": more}), kid) > PACKET_MAX_BYTES


def test_a_newest_entry_too_large_alone_is_cut_not_dropped() -> None:
    packet = packet_with(3, 20_000, "😀")
    fitted = fit_packet(packet, "acme/cu-1", max_bytes=40_000)
    (entry,) = fitted.transcript
    assert entry.message_id == "m-2"
    assert entry.text.endswith(" […]")
    assert packet.transcript[-1].text.startswith(entry.text.removesuffix(" […]"))
    assert fitted.transcript_omitted == 2
    assert packet_bytes(fitted, "acme/cu-1") <= 40_000


def test_a_packet_within_the_budget_is_left_as_it_is() -> None:
    packet = packet_with(3, 100, "Привет ")
    assert fit_packet(packet, "acme/cu-1") == packet


def _reply(text: str) -> ReplyPosted:
    return ReplyPosted(
        id="r-1", source="relais/bot", time=datetime(2026, 11, 24, tzinfo=UTC), tenant="acme", subject="c-1",
        data=ReplyData(message_id="r-1", author=ReplyAuthor(kind="bot", name="Relais"), text=text),
    )  # fmt: skip


def test_a_sealed_reply_or_note_travels_without_its_text_and_reads_erased_without_its_key() -> None:
    key, kid = Fernet(Fernet.generate_key()), key_id("acme", "cust-1")
    note = NoteAdded(
        id="n-1", source="relais/agent-gateway", time=datetime(2026, 11, 24, tzinfo=UTC), tenant="acme",
        subject="c-1", data=NoteData(note_id="n-1", author=ReplyAuthor(kind="agent", name="Ana"), text="VIP"),
    )  # fmt: skip
    for written in (_reply("your parcel 8812 ships today"), note):
        sealed = seal_written(key, kid, written)
        assert sealed.data.sealed
        assert sealed.data.text == ""
        assert written.data.text.encode() not in sealed.to_json()
        travelled = type(written).model_validate_json(sealed.to_json())  # the contract accepts it
        assert open_written(key, travelled).data.text == written.data.text
        assert open_written(None, travelled).data.text == ERASED_TEXT  # the key was destroyed
        assert open_written(Fernet(Fernet.generate_key()), travelled).data.text == ERASED_TEXT
        assert open_written(key, written) == written  # not sealed: as it is


def test_a_reply_has_its_text_in_clear_or_sealed_never_neither_nor_both() -> None:
    author = ReplyAuthor(kind="bot", name="Relais")
    with pytest.raises(ValidationError, match="text is required"):
        ReplyData(message_id="r-1", author=author, text="")
    with pytest.raises(ValidationError, match="empty text and a key_id"):
        ReplyData(message_id="r-1", author=author, text="hi", text_sealed="token", key_id="acme/c")
    with pytest.raises(ValidationError, match="empty text and a key_id"):
        NoteData(note_id="n-1", author=author, text="", text_sealed="token")


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_reply_at_its_maximum_seals_within_the_contract(script: str) -> None:
    key = Fernet(Fernet.generate_key())
    longest = (script * 20_000)[:20_000]
    sealed = seal_written(key, key_id("acme", "cust-1"), _reply(longest))
    assert sealed.data.text_sealed is not None
    assert len(sealed.data.text_sealed) <= SEALED_TEXT_MAX
    assert ReplyPosted.model_validate_json(sealed.to_json()).data.sealed

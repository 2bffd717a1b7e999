"""Client messages of the WebSocket protocol: what parses, and what error an invalid one gets."""

import json

import pytest

from relais_agent_gateway.protocol import (
    AcceptOffer,
    PostReply,
    ProtocolError,
    RejectOffer,
    SetPresence,
    parse_client_message,
    with_seq,
)

pytestmark = pytest.mark.unit


def parse(message: object) -> object:
    return parse_client_message(json.dumps(message))


def test_presence() -> None:
    command = parse({"type": "presence", "presence": "available", "capacity": {"*": 2, "email": 5}, "ref": 7})
    assert command == SetPresence(type="presence", presence="available", capacity={"*": 2, "email": 5}, ref=7)


def test_presence_capacity_is_optional() -> None:
    command = parse({"type": "presence", "presence": "away"})
    assert isinstance(command, SetPresence)
    assert command.capacity is None


def test_accept_and_reject() -> None:
    assert parse({"type": "accept", "offer_id": "o-1", "ref": "r1"}) == AcceptOffer(
        type="accept", offer_id="o-1", ref="r1"
    )
    assert parse({"type": "reject", "offer_id": "o-1", "reason": "busy"}) == RejectOffer(
        type="reject", offer_id="o-1", reason="busy"
    )


def test_reply_with_client_msg_id() -> None:
    command = parse({"type": "reply", "conversation_id": "c-1", "text": "Hello", "client_msg_id": "m-1"})
    assert command == PostReply(type="reply", conversation_id="c-1", text="Hello", client_msg_id="m-1")


def test_unknown_fields_are_ignored() -> None:
    assert isinstance(parse({"type": "accept", "offer_id": "o-1", "tenant": "someone-else"}), AcceptOffer)


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"type": "teleport", "ref": "r"}, "unsupported"),
        ({"presence": "available", "ref": "r"}, "invalid"),
        ({"type": "presence", "presence": "asleep", "ref": "r"}, "invalid"),
        ({"type": "presence", "presence": "available", "capacity": {"*": -1}, "ref": "r"}, "invalid"),
        ({"type": "presence", "presence": "available", "capacity": {"Bad Key": 1}, "ref": "r"}, "invalid"),
        ({"type": "accept", "ref": "r"}, "invalid"),
        ({"type": "accept", "offer_id": "", "ref": "r"}, "invalid"),
        ({"type": "reply", "conversation_id": "c-1", "text": "", "ref": "r"}, "invalid"),
        ({"type": "reply", "conversation_id": "c-1", "text": "x" * 20_001, "ref": "r"}, "invalid"),
    ],
)
def test_invalid_messages_get_an_error_with_their_ref(message: dict[str, object], code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse(message)
    assert (caught.value.code, caught.value.ref) == (code, "r")
    assert caught.value.message


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '"accept"', "{}", ""])
def test_non_objects_are_invalid_without_ref(text: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(text)
    assert caught.value.code == "invalid"
    assert caught.value.ref is None


def test_missing_field_is_named_in_the_error() -> None:
    with pytest.raises(ProtocolError, match="offer_id"):
        parse({"type": "accept"})


def test_inbox_entry_is_sent_with_its_seq() -> None:
    assert json.loads(with_seq(b'{"type":"offer","offer_id":"o-1"}', "17-0")) == {
        "type": "offer",
        "offer_id": "o-1",
        "seq": "17-0",
    }

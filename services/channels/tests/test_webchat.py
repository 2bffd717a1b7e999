"""The web chat's pure core: visitor tokens, frames, the events and entries they become, and limits."""

import json
from datetime import UTC, datetime

import pytest

from relais_channels.domain import webchat
from relais_channels.domain.integrators import Integrator
from relais_contracts.channel import MessageSend
from relais_contracts.conversation import Assigned, Released

pytestmark = pytest.mark.unit

WEB = Integrator(
    id="acme-web",
    tenant="acme",
    channels=frozenset({"webchat"}),
    secrets=(b"new-secret-0123456789abcdef0123456", b"old-secret-0123456789abcdef0123456"),
    widget=True,
    widget_origins=frozenset({"https://shop.example"}),
)
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def frame(**fields: object) -> str:
    return json.dumps({"type": "message", "text": "Bonjour", **fields})


def parse(raw: str | None) -> webchat.VisitorMessage:
    return webchat.parse_frame(raw, max_chars=100, max_bytes=2048)


def test_a_token_names_its_visitor_only_with_the_integrators_secret() -> None:
    visitor = webchat.new_visitor()
    token = webchat.visitor_token(WEB, visitor)
    assert webchat.visitor_of(WEB, token) == visitor
    other = webchat.new_visitor()
    assert other != visitor
    mac = token.split(".")[1]
    assert webchat.visitor_of(WEB, f"{other}.{mac}") is None  # another visitor's id with this MAC
    assert webchat.visitor_of(WEB, token[:-1] + ("0" if token[-1] != "0" else "1")) is None
    another = Integrator(id="acme-other", tenant="acme", channels=frozenset({"webchat"}), secrets=WEB.secrets)
    assert webchat.visitor_of(another, token) is None  # the integrator's id is in the MAC
    for bad in (None, "", visitor, "x.y", "v-short." + "0" * 64, "a" * 300):
        assert webchat.visitor_of(WEB, bad) is None


def test_a_token_signed_with_a_secret_being_rotated_out_still_names_its_visitor() -> None:
    visitor = webchat.new_visitor()
    before = Integrator(
        id="acme-web", tenant="acme", channels=frozenset({"webchat"}), secrets=(WEB.secrets[1],)
    )
    assert webchat.visitor_of(WEB, webchat.visitor_token(before, visitor)) == visitor


def test_origins_the_service_own_page_listed_sites_and_non_browsers() -> None:
    assert webchat.origin_allowed(WEB, "https://shop.example", "relais.example")
    assert webchat.origin_allowed(WEB, "https://relais.example", "relais.example")
    assert webchat.origin_allowed(WEB, None, "relais.example")
    assert not webchat.origin_allowed(WEB, "https://evil.example", "relais.example")
    assert not webchat.origin_allowed(WEB, "https://shop.example.evil", "relais.example")


def test_a_message_frame_with_its_client_id_name_and_signed_identity() -> None:
    identity = {"customer_ref": "C-17", "signed_at": 1764496800, "signature": "ab" * 32}
    message = parse(frame(client_id="c-1", name="Camille", identity=identity))
    assert (message.text, message.client_id, message.name) == ("Bonjour", "c-1", "Camille")
    assert message.identity is not None
    assert message.identity.model_dump(exclude_defaults=True) == identity


@pytest.mark.parametrize(
    ("raw", "code", "detail", "client_id"),
    [
        (None, "invalid", "frames are JSON text, not binary", None),
        ("{", "invalid", "a frame is one JSON object", None),
        ("[1]", "invalid", "a frame is one JSON object", None),
        (frame(client_id="bad id"), "invalid", "client_id is 1 to 64 letters, digits, - or _", None),
        (json.dumps({"type": "typing", "client_id": "c-1"}), "invalid", "unknown frame type 'typing'", "c-1"),
        (json.dumps({"type": "t" * 50}), "invalid", f"unknown frame type {'t' * 40!r}", None),
        (frame(text="   ", client_id="c-2"), "invalid", "text is a non-empty string", "c-2"),
        (frame(text=3), "invalid", "text is a non-empty string", None),
        (frame(text="x" * 101, client_id="c-3"), "too_large", "a message is at most 100 characters", "c-3"),
        (frame(text="é" * 90, pad="x" * 2000), "too_large", "a frame is at most 2048 bytes", None),
        # 1,100 characters, 2,100 bytes: the byte count decides.
        (frame(text="é" * 90, pad="é" * 1000), "too_large", "a frame is at most 2048 bytes", None),
        (frame(name="", client_id="c-4"), "invalid", "name is a string of at most 200 characters", "c-4"),
        (frame(name="n" * 201), "invalid", "name is a string of at most 200 characters", None),
        (frame(identity="me", client_id="c-5"), "invalid", "identity is an object", "c-5"),
    ],
)
def test_refused_frames_say_why(raw: str | None, code: str, detail: str, client_id: str | None) -> None:
    with pytest.raises(webchat.FrameError) as refused:
        parse(raw)
    assert (refused.value.code, refused.value.detail, refused.value.client_id) == (code, detail, client_id)
    assert str(refused.value) == f"{code}: {detail}"


def test_frames_at_the_limits_are_taken() -> None:
    assert parse(frame(text="x" * 100)).text == "x" * 100
    assert parse(frame(name="n")).name == "n"
    assert parse(frame(name="n" * 200)).name == "n" * 200
    exact = frame(text="hi", pad="x" * 100)
    exact = frame(text="hi", pad="x" * (100 + 2048 - len(exact.encode())))
    assert len(exact.encode()) == 2048
    assert parse(exact).text == "hi"


def test_a_refusal_names_the_message_it_refuses() -> None:
    with pytest.raises(webchat.FrameError) as refused:
        parse(frame(client_id="c-9", text=""))
    assert refused.value.client_id == "c-9"


def test_the_visitors_message_as_the_contract_event() -> None:
    visitor = webchat.new_visitor()
    message = parse(frame(client_id="c-1", name="Camille"))
    id_ = webchat.event_id(WEB, visitor, "c-1")
    assert id_ == webchat.event_id(WEB, visitor, "c-1")  # sent again: the same event, applied once
    assert id_ != webchat.event_id(WEB, webchat.new_visitor(), "c-1")
    assert webchat.event_id(WEB, visitor, None) != webchat.event_id(WEB, visitor, None)
    event = webchat.received(WEB, visitor, message, id_, NOW)
    assert (event.tenant, event.source, event.id) == ("acme", "acme-web/webchat", id_)
    assert (event.data.channel, event.data.from_.address, event.data.from_.name) == (
        "webchat",
        visitor,
        "Camille",
    )
    assert event.data.external_id == id_
    entry = webchat.visitor_entry(message, id_, NOW)
    assert entry == {
        "kind": "message",
        "from": "visitor",
        "id": id_,
        "text": "Bonjour",
        "at": NOW.isoformat(),
    }


def test_replies_keep_author_and_quick_replies_and_a_person_is_a_name() -> None:
    send = MessageSend.model_validate(
        {
            "id": "e1", "source": "relais/context-store", "time": NOW, "tenant": "acme", "subject": "c1",
            "data": {
                "channel": "webchat", "to": {"address": "v-x"}, "text": "Which one?", "message_id": "m1",
                "author": {"kind": "bot", "name": "Relais"},
                "quick_replies": [{"title": "A person", "payload": "I want a person"}],
            },
        }
    )  # fmt: skip
    entry = webchat.reply_entry(send)
    assert entry["from"] == "bot"
    assert entry["name"] == "Relais"
    assert entry["quick_replies"] == [{"title": "A person", "payload": "I want a person"}]
    common = {"id": "e2", "source": "relais/router", "time": NOW, "tenant": "acme", "subject": "c1"}
    assigned = Assigned.model_validate(
        {**common, "data": {"offer_id": "o", "agent_id": "agent-7f3", "agent_name": "Ana"}}
    )
    assert webchat.person_entry(assigned) == {
        "kind": "person",
        "joined": True,
        "name": "Ana",
        "at": NOW.isoformat(),
    }
    released = Released.model_validate({**common, "data": {"agent_id": "agent-7f3", "reason": "completed"}})
    left = webchat.person_entry(released)
    assert left["joined"] is False
    assert "agent-7f3" not in json.dumps(left)


def test_only_the_widgets_visitors_are_its_addresses() -> None:
    assert webchat.is_visitor(webchat.new_visitor())
    assert not webchat.is_visitor("visitor-42")
    assert not webchat.is_visitor("+33611112222")


def test_sockets_per_ip_and_messages_per_visitor() -> None:
    limits = webchat.SocketLimits(sockets_per_ip=2, messages_per_minute=3)
    assert limits.open("1.2.3.4", "v-a", 0.0)
    assert limits.open("1.2.3.4", "v-a", 0.0)
    assert not limits.open("1.2.3.4", "v-b", 0.0)
    assert limits.open("5.6.7.8", "v-b", 0.0)
    assert limits.sockets == 3
    assert [limits.take("v-a", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limits.take("v-a", 0.0) == pytest.approx(20.0)  # one a minute at 3 a minute: 20 s
    # Closing and reopening does not refill the bucket.
    limits.close("1.2.3.4", "v-a")
    limits.close("1.2.3.4", "v-a")
    assert limits.open("1.2.3.4", "v-a", 1.0)
    assert limits.take("v-a", 1.0) > 0
    assert limits.take("v-a", 21.0) == 0.0
    # A visitor gone for a minute is forgotten; one still connected is kept.
    limits.close("1.2.3.4", "v-a")
    assert limits.open("9.9.9.9", "v-c", 90.0)
    assert limits.visitors_tracked == 2  # v-b (connected) and v-c


@pytest.mark.parametrize(
    ("identity", "detail"),
    [
        ("me", "identity is an object"),
        ({"verified": True}, "a browser cannot send a verified identity: have your backend sign it"),
        ({"signature": "zz"}, "identity.signature: String should match pattern '^[0-9a-fA-F]{64}$'"),
    ],
)
def test_an_identity_refusal_says_exactly_why_and_names_the_message(identity: object, detail: str) -> None:
    with pytest.raises(webchat.FrameError) as refused:
        parse(frame(client_id="c-3", identity=identity))
    assert (refused.value.code, refused.value.detail, refused.value.client_id) == ("invalid", detail, "c-3")
    assert str(refused.value) == f"invalid: {detail}"


def test_the_identity_a_visitor_sent_is_on_the_contract_event() -> None:
    identity = {"customer_ref": "C-17", "signed_at": 1764496800, "signature": "ab" * 32}
    message = parse(frame(client_id="c-1", identity=identity))
    event = webchat.received(WEB, webchat.new_visitor(), message, "id-1", NOW)
    assert event.data.identity is not None
    assert event.data.identity.model_dump(exclude_defaults=True) == identity


def test_an_origin_is_the_page_host_only_when_it_is_exactly_scheme_and_host() -> None:
    assert webchat.origin_allowed(WEB, "https://chat.relais.example", "chat.relais.example")
    # A sandboxed page sends "null"; a forged origin nests a scheme to end with the host.
    assert not webchat.origin_allowed(WEB, "null", "chat.relais.example")
    assert not webchat.origin_allowed(
        WEB, "https://evil.example://chat.relais.example", "chat.relais.example"
    )


def test_an_entry_holds_exactly_what_the_widget_draws() -> None:
    send = MessageSend.model_validate(
        {
            "id": "e1", "source": "relais/context-store", "time": NOW, "tenant": "acme", "subject": "c1",
            "data": {
                "channel": "webchat", "to": {"address": "v-x"}, "text": "Which one?", "message_id": "m1",
                "author": {"kind": "agent", "name": "Ana"},
            },
        }
    )  # fmt: skip
    assert webchat.reply_entry(send) == {
        "kind": "message",
        "from": "agent",
        "name": "Ana",
        "id": "m1",
        "text": "Which one?",
        "quick_replies": [],
        "at": NOW.isoformat(),
    }
    common = {"id": "e2", "source": "relais/router", "time": NOW, "tenant": "acme", "subject": "c1"}
    released = Released.model_validate({**common, "data": {"agent_id": "agent-7f3", "reason": "completed"}})
    assert webchat.person_entry(released) == {
        "kind": "person",
        "joined": False,
        "name": None,
        "at": NOW.isoformat(),
    }


def test_closing_one_of_several_sockets_keeps_the_others_counted() -> None:
    limits = webchat.SocketLimits(sockets_per_ip=2, messages_per_minute=3)
    assert limits.open("1.2.3.4", "v-a", 0.0)
    assert limits.open("1.2.3.4", "v-a", 0.0)
    limits.close("1.2.3.4", "v-a")
    assert limits.sockets == 1
    limits.close("5.5.5.5", "v-never")  # a socket never counted: nothing to take away
    assert limits.sockets == 1
    assert limits.open("1.2.3.4", "v-a", 0.0)
    assert not limits.open("1.2.3.4", "v-a", 0.0)  # two again: the IP address has its share
    # v-a still holds sockets: a prune a minute later keeps its bucket.
    assert limits.open("9.9.9.9", "v-z", 61.0)
    assert limits.visitors_tracked == 2


def test_one_socket_per_ip_admits_the_first() -> None:
    limits = webchat.SocketLimits(sockets_per_ip=1, messages_per_minute=3)
    assert limits.open("1.2.3.4", "v-a", 0.0)
    assert not limits.open("1.2.3.4", "v-b", 0.0)


def test_buckets_of_visitors_gone_a_full_minute_are_dropped_once_a_minute() -> None:
    limits = webchat.SocketLimits(sockets_per_ip=1, messages_per_minute=3)
    for ip, visitor, at in (("1.1.1.1", "v-a", 0.0), ("2.2.2.2", "v-x", 50.0)):
        assert limits.open(ip, visitor, at)
        limits.close(ip, visitor)
    # At 60 s the minute since the last look is over: v-a, gone for 60 s, is dropped; v-x (10 s) kept.
    assert limits.open("3.3.3.3", "v-b", 60.0)
    assert limits.visitors_tracked == 2
    # At 115 s v-x has been gone 65 s, but the next look is only due at 120 s.
    assert limits.open("4.4.4.4", "v-c", 115.0)
    assert limits.visitors_tracked == 3


def test_the_wait_for_the_next_message_counts_what_has_refilled() -> None:
    limits = webchat.SocketLimits(sockets_per_ip=1, messages_per_minute=3)
    assert limits.open("1.2.3.4", "v-a", 0.0)
    assert [limits.take("v-a", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limits.take("v-a", 10.0) == pytest.approx(10.0)  # half a message refilled: 10 s more


def test_a_frame_is_measured_in_bytes_too() -> None:
    # 1,110 characters but over 2,048 bytes in UTF-8.
    raw = json.dumps({"type": "message", "text": "é" * 50, "pad": "é" * 1050}, ensure_ascii=False)
    assert len(raw) < 2048 < len(raw.encode())
    with pytest.raises(webchat.FrameError) as refused:
        parse(raw)
    assert refused.value.detail == "a frame is at most 2048 bytes"


def test_a_visitor_still_connected_by_another_socket_keeps_their_bucket() -> None:
    limits = webchat.SocketLimits(sockets_per_ip=2, messages_per_minute=3)
    assert limits.open("1.2.3.4", "v-a", 0.0)
    assert limits.open("1.2.3.4", "v-a", 0.0)
    limits.close("1.2.3.4", "v-a")
    assert limits.open("9.9.9.9", "v-z", 61.0)  # the look a minute later
    assert limits.visitors_tracked == 2

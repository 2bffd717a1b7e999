"""The event contracts: decoding, deterministic ids, and the exported schemas staying current."""

import contextlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relais_contracts import (
    EVENT_TYPES,
    DecodeError,
    decode,
    derive_id,
    derive_key,
    event_uid,
    now_time,
    topics,
)
from relais_contracts.channel import MessageReceived
from relais_contracts.schema_export import asyncapi, render

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]


def message(**overrides: object) -> dict[str, object]:
    event: dict[str, object] = {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "test/webchat",
        "type": "relais.channel.message.received",
        "time": "2026-11-24T10:00:00Z",
        "tenant": "acme",
        "data": {
            "channel": "webchat",
            "from": {"address": "visitor-1"},
            "text": "Bonjour",
            "external_id": "m1",
        },
    }
    event.update(overrides)
    return event


def test_a_channel_message_decodes_to_its_type() -> None:
    event = decode(json.dumps(message()).encode())
    assert isinstance(event, MessageReceived)
    assert event.data.from_.address == "visitor-1"
    assert event.tenant == "acme"


def test_encoding_round_trips_with_the_wire_names() -> None:
    event = decode(json.dumps(message()))
    wire = json.loads(event.to_json())
    assert wire["data"]["from"] == {"address": "visitor-1"}
    assert decode(event.to_json()) == event


def _nested(depth: int) -> object:
    value: object = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "invalid-json"),
        (b"\xff\xfe", "invalid-json"),
        (json.dumps({"hello": "world"}).encode(), "not-cloudevent"),
        (json.dumps([1, 2]).encode(), "not-cloudevent"),
        (json.dumps(message(specversion="0.3")).encode(), "not-cloudevent"),
        (json.dumps(message(type="relais.channel.teleport")).encode(), "unknown-type"),
        (json.dumps(message(data={"channel": "webchat"})).encode(), "schema"),
        (json.dumps(message(tenant="")).encode(), "schema"),
        (json.dumps(message(time="yesterday")).encode(), "schema"),
        (json.dumps(message(time="2026-11-24T10:00:00")).encode(), "schema"),  # no timezone
        (None, "null-value"),  # a tombstone
        (b"", "invalid-json"),
        (b"null", "not-cloudevent"),
        (b'"a string"', "not-cloudevent"),
        (json.dumps(message(type=[])).encode(), "not-cloudevent"),
        (json.dumps(message(type={"a": 1})).encode(), "not-cloudevent"),
        (json.dumps(message(specversion=[])).encode(), "not-cloudevent"),
        (json.dumps(message(id=[], source={})).encode(), "schema"),
        (json.dumps(message(data=[])).encode(), "schema"),
        (json.dumps(message(data="text")).encode(), "schema"),
        (json.dumps(message(data={**message()["data"], "from": []})).encode(), "schema"),  # type: ignore[dict-item]
        (b"[" * 100_000 + b"]" * 100_000, "invalid-json"),  # json.loads: RecursionError
        (json.dumps(message(data={"x": _nested(150)})).encode(), "schema"),
        (b'{"specversion": "1.0", "id": "\\ud800", "source": "s", "type": "x"}', "invalid-json"),
        (json.dumps(message()).encode().replace(b"Bonjour", b"Bon\xed\xa0\x80jour"), "invalid-json"),
        (json.dumps(message()).encode().replace(b"Bonjour", b"\\udc00"), "invalid-json"),
        (b"1" * 5000, "invalid-json"),
        (b'{"a": NaN}', "invalid-json"),
    ],
)
def test_what_is_not_a_relais_event_is_refused_with_a_reason(raw: bytes | None, reason: str) -> None:
    with pytest.raises(DecodeError) as refused:
        decode(raw)
    assert refused.value.reason == reason


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000) | st.text(max_size=500).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_bytes_decode_to_an_event_or_a_decode_error(raw: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode(raw)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            attribute: st.sampled_from([message(subject="s")[attribute]]) | _JSON
            for attribute in ("specversion", "id", "source", "type", "time", "tenant", "data", "subject")
        },
    )
)
def test_any_json_object_decodes_to_an_event_or_a_decode_error(obj: dict[str, object]) -> None:
    with contextlib.suppress(DecodeError):
        decode(json.dumps(obj))


def test_a_schema_error_names_the_field() -> None:
    with pytest.raises(DecodeError, match=r"data\.text"):
        decode(json.dumps(message(data={"channel": "webchat", "from": {"address": "a"}, "external_id": "x"})))


def test_a_schema_error_never_quotes_the_customers_words() -> None:
    # Errors reach logs and dead-letter headers; the text may hold anything the customer wrote.
    too_long = {**message()["data"], "from": {"address": "a", "name": "my secret code is 4242 " * 20}}  # type: ignore[dict-item]
    with pytest.raises(DecodeError, match=r"data\.from\.name") as refused:
        decode(json.dumps(message(data=too_long)))
    assert "secret" not in str(refused.value)


def test_unknown_fields_are_ignored_so_producers_can_add_optional_ones() -> None:
    event = decode(json.dumps(message(newattribute="x", data={**message()["data"], "mood": "happy"})))  # type: ignore[dict-item]
    assert isinstance(event, MessageReceived)


def test_output_ids_depend_only_on_the_input_source_id_and_index() -> None:
    # Pinned values: a replay in another process, or by another release, must derive the same ids,
    # since consumers drop a record whose id they have seen (a counter or a random id would not).
    assert event_uid("a", "evt-1") == "b3732942-31b6-5e70-8c65-2a6a88621d51"
    assert derive_id("a", "evt-1", 0) == "928b608c-7c90-5e45-af4b-8920a7a87d7a"
    ids = {derive_id("a", "evt-1", 0), derive_id("a", "evt-1", 1), derive_id("a", "evt-2", 0)}
    # CloudEvents ids are unique per source only: two integrators reusing an id stay two events.
    ids |= {derive_id("b", "evt-1", 0), derive_id("a/", "vt-1", 0)}
    assert len(ids) == 5


def test_an_events_identity_is_its_source_and_id() -> None:
    first = decode(json.dumps(message(source="integrator-a")))
    second = decode(json.dumps(message(source="integrator-b")))
    assert first.id == second.id
    assert first.uid != second.uid
    assert first.uid == decode(first.to_json()).uid, "the same on every replay"


def test_follow_carries_tenant_correlation_and_causation() -> None:
    event = decode(json.dumps(message(correlationid="corr-9")))
    fields = event.follow(2, source="relais/test")
    assert fields["id"] == derive_id("test/webchat", "evt-1", 2)
    assert fields["tenant"] == "acme"
    assert fields["correlationid"] == "corr-9"
    assert fields["causationid"] == "evt-1"
    assert fields["time"] == event.time  # dated by its cause: a replay writes the same event


def test_entity_keys_are_pinned_and_wall_clock_time_is_aware_utc() -> None:
    # An entity first seen in an event (a reply, an offer) keeps its id across processes and releases.
    assert derive_key("acme", "a-1", "cm-1") == "7cbbe1e5-783b-5ac6-b854-2a866ab35edc"
    assert derive_key("acme", "a-2", "cm-1") != derive_key("acme", "a-1", "cm-1")
    before = datetime.now(UTC)
    now = now_time()
    assert now.tzinfo is UTC
    assert before <= now <= datetime.now(UTC)


def test_a_tombstone_is_refused_with_its_reason_and_detail() -> None:
    with pytest.raises(DecodeError) as refused:
        decode(None)
    assert (refused.value.reason, refused.value.detail) == (
        "null-value",
        "the record has no value (a tombstone)",
    )
    assert str(refused.value) == "null-value: the record has no value (a tombstone)"


def test_every_event_type_is_named_by_its_area() -> None:
    for event_type, model in EVENT_TYPES.items():
        assert event_type.startswith("relais.")
        assert model.topics, f"{event_type} names no topic"


def test_checked_in_schemas_are_current() -> None:
    """`make schemas` regenerates docs/; this fails when someone changed a model and forgot to."""
    docs = REPO / "docs"
    expected = render(docs)
    stale = [
        str(p.relative_to(REPO)) for p, text in expected.items() if not p.exists() or p.read_text() != text
    ]
    extra = sorted(str(p.relative_to(REPO)) for p in (docs / "schemas").glob("*.json") if p not in expected)
    assert not stale, f"run `make schemas`: stale {stale}"
    assert not extra, f"run `make schemas`: unexpected {extra}"


def test_every_reference_in_the_asyncapi_document_resolves() -> None:
    document = asyncapi()
    refs: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            refs.extend(v for k, v in node.items() if k == "$ref")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert refs
    for ref in refs:
        target: object = document
        for part in ref.removeprefix("#/").split("/"):
            assert isinstance(target, dict), f"dangling {ref}"
            assert part in target, f"dangling {ref}"
            target = target[part]
    assert document["asyncapi"] == "3.0.0"
    assert {c["address"] for c in document["channels"].values()} == set(topics.ALL)


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ([], "an array"),
        ({}, "an object"),
        (True, "a boolean"),
        (None, "null"),
        (4.5, "a number"),
        (7, "a number"),
    ],
)
def test_a_type_that_is_not_a_string_is_named_in_json_terms(value: object, named: str) -> None:
    raw = json.dumps({"specversion": "1.0", "id": "e", "source": "s", "type": value})
    with pytest.raises(DecodeError, match=f"type must be a string, not {named}$") as refused:
        decode(raw)
    assert refused.value.reason == "not-cloudevent"


def refusal(raw: bytes | str) -> DecodeError:
    with pytest.raises(DecodeError) as refused:
        decode(raw)
    return refused.value


def test_each_refusal_says_what_is_wrong() -> None:
    # The detail goes to the dead-letter record's headers: what an integrator reads to fix their event.
    assert refusal(b"{not json").detail == "key must be a string at line 1 column 2"  # where, for a fix
    assert refusal(json.dumps({"hello": "world"})).detail == (
        "a CloudEvent is a JSON object with specversion, id, source, type"
    )
    assert refusal(json.dumps(message(specversion="0.3"))).detail == "unsupported specversion '0.3'"
    assert refusal(json.dumps(message(type="x" * 150))).detail == f"unknown event type {'x' * 100!r}"
    two = refusal(json.dumps(message(time="yesterday", data={"channel": "webchat"})))
    assert two.reason == "schema"
    # every error, each named by its field path, one after the other
    fields = [part.split(": ")[0] for part in two.detail.split("; ")]
    assert fields == ["time", "data.from", "data.text", "data.external_id"]
    assert (
        refusal(json.dumps(message(specversion="9" * 60))).detail == f"unsupported specversion {'9' * 50!r}"
    )


@given(st.text(), st.text(), st.integers(min_value=0, max_value=1000))
@settings(max_examples=300)
def test_ids_are_the_uuid5_they_always_were(source: str, event_id: str, index: int) -> None:
    # Ids derived before the fast path must be derived again the same (a replay drops duplicates by id).
    namespace = uuid.UUID("6f1c3e4a-52a4-4c11-9a54-0d7c3f1e2b90")
    uid = str(uuid.uuid5(namespace, json.dumps([source, event_id])))
    assert event_uid(source, event_id) == uid
    assert derive_id(source, event_id, index) == str(uuid.uuid5(namespace, f"{uid}#{index}"))
    assert derive_key(source, event_id) == str(uuid.uuid5(namespace, f"{source}/{event_id}"))


def _supervisor_event(event_type: str, data: dict[str, object]) -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": "sup-1",
        "source": "relais/agent-gateway",
        "type": event_type,
        "time": "2026-11-24T10:00:00Z",
        "tenant": "acme",
        "data": {"by": {"id": "sam", "name": "Sam"}, **data},
    }


def test_a_supervisor_action_carries_its_actor_on_the_log() -> None:
    moved = decode(
        json.dumps(
            _supervisor_event(
                "relais.routing.supervisor.move.requested", {"conversation_id": "c1", "to_queue": "billing"}
            )
        )
    )
    assert moved.data.by.id == "sam"
    assert moved.data.by.role == "supervisor"


@pytest.mark.parametrize(
    ("event_type", "data", "says"),
    [
        ("relais.routing.supervisor.move.requested", {"conversation_id": "c1"}, "to_queue or to_agent_id"),
        (
            "relais.routing.supervisor.presence.set",
            {"agent_id": "a1", "presence": "offline", "away_reason": "break"},
            "away reason goes with presence 'away'",
        ),
        ("relais.routing.supervisor.presence.set", {"agent_id": "a1", "presence": "available"}, "presence"),
        ("relais.routing.supervisor.takeback.requested", {"conversation_id": ""}, "conversation_id"),
    ],
)
def test_a_supervisor_action_that_names_no_effect_is_refused(
    event_type: str, data: dict[str, object], says: str
) -> None:
    with pytest.raises(DecodeError) as refused:
        decode(json.dumps(_supervisor_event(event_type, data)))
    assert refused.value.reason == "schema"
    assert says in refused.value.detail


def test_a_supervisor_action_without_its_actor_is_refused() -> None:
    event = _supervisor_event("relais.routing.supervisor.takeback.requested", {"conversation_id": "c1"})
    del event["data"]["by"]  # type: ignore[attr-defined]
    with pytest.raises(DecodeError, match="by"):
        decode(json.dumps(event))

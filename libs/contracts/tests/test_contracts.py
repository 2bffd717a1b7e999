"""The event contracts: decoding, deterministic ids, and the exported schemas staying current."""

import json
from pathlib import Path

import pytest

from relais_contracts import EVENT_TYPES, DecodeError, decode, derive_id, topics
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
    ],
)
def test_what_is_not_a_relais_event_is_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as refused:
        decode(raw)
    assert refused.value.reason == reason


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


def test_output_ids_depend_only_on_the_input_id_and_index() -> None:
    assert derive_id("evt-1", 0) == derive_id("evt-1", 0)
    assert len({derive_id("evt-1", 0), derive_id("evt-1", 1), derive_id("evt-2", 0)}) == 3


def test_follow_carries_tenant_correlation_and_causation() -> None:
    event = decode(json.dumps(message(correlationid="corr-9")))
    fields = event.follow(2, source="relais/test")
    assert fields["id"] == derive_id("evt-1", 2)
    assert fields["tenant"] == "acme"
    assert fields["correlationid"] == "corr-9"
    assert fields["causationid"] == "evt-1"


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

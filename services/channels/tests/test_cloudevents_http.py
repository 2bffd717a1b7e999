"""CloudEvents over HTTP into contract events: the three modes, the precise 4xx, the keys."""

import json

import pytest

from relais_channels.domain.cloudevents_http import (
    BATCH,
    STRUCTURED,
    IngressError,
    Request,
    authorize,
    events_of,
    media_type,
    outgoing,
)
from relais_channels.domain.integrators import Integrator
from relais_contracts import topics
from relais_contracts.channel import DeliveryUpdated, MessageReceived, MessageSend

from .events import body, message

pytestmark = pytest.mark.unit

ACME = Integrator("acme-web", "acme", frozenset({"webchat", "sms"}), (b"k" * 32,))


def refused(request: Request) -> IngressError:
    with pytest.raises(IngressError) as caught:
        events_of(request, max_batch=3)
    return caught.value


def test_structured_mode() -> None:
    (event,) = events_of(Request(STRUCTURED + "; charset=utf-8", {}, body(message("hi"))), 3)
    assert isinstance(event, MessageReceived)
    assert event.data.text == "hi"


def test_binary_mode_reads_the_attributes_from_ce_headers() -> None:
    whole = message("salut")
    headers = {f"ce-{k}": v for k, v in whole.items() if k != "data"}
    headers["ce-source"] = "acme%2Fwidget%20%C3%A9"  # percent-encoded UTF-8, as the binding says
    (event,) = events_of(Request("application/json", headers, body(whole["data"])), 3)
    assert isinstance(event, MessageReceived)
    assert (event.data.text, event.source) == ("salut", "acme/widget é")


def test_batch_mode() -> None:
    events = events_of(Request(BATCH, {}, body([message("a"), message("b")])), 3)
    assert [e.data.text for e in events if isinstance(e, MessageReceived)] == ["a", "b"]


def test_schema_errors_say_where() -> None:
    broken = message()
    del broken["data"]["text"]
    error = refused(Request(STRUCTURED, {}, body(broken)))
    assert (error.status, error.detail) == (400, "schema: data.text: Field required")
    error = refused(Request(BATCH, {}, body([message(), broken])))
    assert error.detail == "[1] schema: data.text: Field required"


@pytest.mark.parametrize(
    ("request_", "status", "detail"),
    [
        (Request(STRUCTURED, {}, b'{"text": "caf\xe9"}'), 400, "the body is not valid JSON in UTF-8"),
        (Request(STRUCTURED, {}, b"{"), 400, "the body is not valid JSON"),
        (Request(STRUCTURED, {}, b"[]"), 400, "not-cloudevent"),
        (Request(BATCH, {}, b"{}"), 400, "a batch is a JSON array of events"),
        (Request(BATCH, {}, b"["), 400, "the body is not valid JSON in UTF-8: "),
        (Request(BATCH, {}, b"[]"), 400, "the batch is empty"),
        (Request(BATCH, {}, json.dumps([message()] * 4).encode()), 413, "4 events in one batch (at most 3)"),
        (
            Request("text/plain", {}, b"hi"),
            415,
            "send application/cloudevents+json, application/cloudevents-batch+json, "
            "or binary mode (application/json with ce-* headers)",
        ),
        (
            Request("text/plain", {"ce-specversion": "1.0"}, b"hi"),
            415,
            "binary mode carries data as application/json",
        ),
    ],
)
def test_bad_requests_are_refused_precisely(request_: Request, status: int, detail: str) -> None:
    error = refused(request_)
    assert error.status == status
    assert error.title == TITLES[status]
    assert error.detail.startswith(detail)


TITLES = {400: "invalid event", 403: "forbidden", 413: "batch too large", 415: "unsupported media type"}


def test_a_ce_header_must_be_percent_encoded_utf8() -> None:
    whole = message("salut")
    headers = {f"ce-{k}": v for k, v in whole.items() if k != "data"}
    headers["ce-source"] = "acme%FFwidget"  # a percent-encoded byte that is not UTF-8
    error = refused(Request("application/json", headers, body(whole["data"])))
    assert (error.status, error.title, error.detail) == (
        400,
        "invalid event",
        "a ce-* header is not percent-encoded UTF-8",
    )


def test_a_binary_event_that_breaks_the_contract_is_refused_with_the_field() -> None:
    whole = message("salut")
    headers = {f"ce-{k}": v for k, v in whole.items() if k != "data"}
    del whole["data"]["text"]
    error = refused(Request("application/json", headers, body(whole["data"])))
    assert (error.status, error.detail) == (400, "schema: data.text: Field required")


def test_a_refused_integrator_is_told_which_event_and_what_it_may_speak_for() -> None:
    def refusal(*events: dict[str, object]) -> tuple[int, str, str]:
        decoded = events_of(Request(BATCH, {}, body(list(events))), 3)
        with pytest.raises(IngressError) as caught:
            authorize(ACME, decoded)
        return caught.value.status, caught.value.title, caught.value.detail

    assert refusal(message(tenant="globex")) == (
        403,
        "forbidden",
        "integrator acme-web may not speak for tenant globex",
    )
    assert refusal(message(), message(channel="email")) == (
        403,
        "forbidden",
        "[1] integrator acme-web may not speak for channel email (only sms, webchat)",
    )


def test_only_inbound_events_have_an_inbound_record() -> None:
    (event,) = events_of(Request(STRUCTURED, {}, body(message())), 3)
    sent = MessageSend.model_validate(
        {
            **message(),
            "type": "relais.channel.message.send",
            "data": {
                "channel": "sms",
                "to": {"address": "+1"},
                "text": "x",
                "message_id": "m",
                "author": {"kind": "bot", "name": "b"},
            },
        }
    )
    assert outgoing(event).topic == topics.INBOUND
    with pytest.raises(TypeError, match=r"^relais.channel.message.send is not an inbound event$"):
        outgoing(sent)


def test_only_channel_events_come_in() -> None:
    event = message()
    event["type"] = "relais.channel.message.send"
    event["data"] = {"channel": "sms", "to": {"address": "+1"}, "text": "x", "message_id": "m"}
    event["data"]["author"] = {"kind": "bot", "name": "b"}
    assert "is not a channel event" in refused(Request(STRUCTURED, {}, body(event))).detail


def test_an_integrator_speaks_for_its_tenant_and_channels_only() -> None:
    ok = events_of(Request(STRUCTURED, {}, body(message(channel="sms"))), 3)
    authorize(ACME, ok)
    for other in (message(tenant="globex"), message(channel="email")):
        with pytest.raises(IngressError) as caught:
            authorize(ACME, events_of(Request(STRUCTURED, {}, body(other)), 3))
        assert caught.value.status == 403


def test_records_are_keyed_as_the_contract_says() -> None:
    (event,) = events_of(Request(STRUCTURED, {}, body(message(channel="sms", address="+33612"))), 3)
    record = outgoing(event)
    assert (record.topic, record.key) == (topics.INBOUND, "acme:sms:+33612")
    report = DeliveryUpdated.model_validate(
        {
            **message(),
            "type": "relais.channel.delivery.updated",
            "data": {"message_id": "m7", "status": "read"},
        }
    )
    assert outgoing(report).key == "acme:delivery:m7"


def test_not_a_number_is_not_json() -> None:
    # The batch is parsed before its events: NaN is refused for the whole body, not as event [0].
    error = refused(Request(BATCH, {}, b'[{"specversion": "1.0", "n": NaN}]'))
    assert error.detail.startswith("the body is not valid JSON in UTF-8: ")


def test_a_refusal_reads_as_status_title_and_detail() -> None:
    error = refused(Request(BATCH, {}, b"[]"))
    assert str(error) == "400 invalid event: the batch is empty"


def test_a_full_batch_is_taken_and_media_types_are_read_before_their_parameters() -> None:
    assert len(events_of(Request(BATCH, {}, body([message()] * 3)), 3)) == 3
    content_type = " Application/CloudEvents-Batch+JSON ; charset=utf-8; x=1"
    assert len(events_of(Request(content_type, {}, body([message()])), 3)) == 1
    assert media_type(None) == ""


def test_an_event_of_another_kind_is_told_which_kinds_come_in() -> None:
    event = message()
    event["type"] = "relais.channel.message.send"
    event["data"] = {"channel": "sms", "to": {"address": "+1"}, "text": "x", "message_id": "m"}
    event["data"]["author"] = {"kind": "bot", "name": "b"}
    assert refused(Request(STRUCTURED, {}, body(event))).detail == (
        "relais.channel.message.send is not a channel event (send one of relais.channel.delivery.updated, "
        "relais.channel.message.received, relais.channel.session.ended)"
    )

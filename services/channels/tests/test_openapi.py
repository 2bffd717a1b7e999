"""The checked-in OpenAPI document is the app's own (`make schemas` writes it)."""

import pytest

from relais_channels.openapi import DOCUMENT, document, render

pytestmark = pytest.mark.unit


def test_the_openapi_document_is_fresh() -> None:
    assert DOCUMENT.read_text() == render(), "stale: run `make schemas`"


def test_it_documents_the_ingress_signature_and_every_refusal() -> None:
    post = document()["paths"]["/v1/events"]["post"]
    assert {p["name"] for p in post["parameters"]} >= {"Relais-Integrator", "Relais-Signature"}
    assert set(post["requestBody"]["content"]) == {
        "application/cloudevents+json",
        "application/cloudevents-batch+json",
        "application/json",
    }
    assert {"202", "400", "401", "403", "413", "429"} <= set(post["responses"])

"""Addresses and identity values sealed on the log, opened by the materializer, gone after erasure."""

from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from relais_context_store.service_layer.sealing import (
    open_address,
    open_identities,
    seal_address,
    seal_identities,
)
from relais_contracts import decode
from relais_contracts.conversation import SEALED_ADDRESS, Opened
from relais_contracts.customers import (
    Identity,
    IdentityClaim,
    IdentityConfirmed,
    IdentityConfirmedData,
    IdentityLinked,
    IdentityLinkedData,
    IdentityUnlinked,
    IdentityUnlinkedData,
)
from relais_platform.sealing import ERASED_TEXT

pytestmark = pytest.mark.unit

KEY, OTHER_KEY = Fernet(Fernet.generate_key()), Fernet(Fernet.generate_key())
KID = "acme/c-1"
EMAIL = Identity(kind="email", value="nadia@example.com")
ADDRESS = Identity(kind="address", value="visitor-9", channel="webchat")


def _envelope(subject: str) -> dict[str, Any]:
    return {
        "id": "e-1",
        "source": "relais/context-store",
        "time": "2026-01-01T00:00:00Z",
        "tenant": "acme",
        "subject": subject,
    }


def _opened() -> Opened:
    return Opened(
        **_envelope("conv-1"),
        data={"channel": "webchat", "address": "visitor-9", "customer_id": "c-1"},
    )


def test_an_address_travels_sealed_and_opens_with_the_key_or_reads_erased_without_it() -> None:
    sealed = seal_address(KEY, KID, _opened())
    assert isinstance(sealed, Opened)
    assert sealed.data.address == SEALED_ADDRESS
    assert sealed.data.key_id == KID
    assert b"visitor-9" not in sealed.to_json()
    # What travels decodes again (the log's readers), and opens to the original.
    on_the_log = decode(sealed.to_json())
    assert isinstance(on_the_log, Opened)
    assert open_address(KEY, on_the_log).data.address == "visitor-9"
    assert open_address(KEY, on_the_log).data.address_sealed is None
    assert open_address(None, on_the_log).data.address == ERASED_TEXT
    assert open_address(OTHER_KEY, on_the_log).data.address == ERASED_TEXT
    # An event written before sealing existed (or of a tenant that does not seal) is left as it is.
    assert open_address(None, _opened()) == _opened()


@pytest.mark.parametrize(
    "event",
    [
        IdentityLinked(
            **_envelope("c-1"),
            data=IdentityLinkedData(
                identities=(EMAIL, ADDRESS),
                claims=(IdentityClaim(identity=Identity(kind="phone", value="+33611111111")),),
                conversation_id="conv-1",
            ),
        ),
        IdentityUnlinked(**_envelope("c-1"), data=IdentityUnlinkedData(identities=(EMAIL,))),
        IdentityConfirmed(
            **_envelope("c-1"),
            data=IdentityConfirmedData(
                identity=EMAIL, customer_id="c-2", moved=(ADDRESS,), confirmed_by="ana"
            ),
        ),
    ],
    ids=["linked", "unlinked", "confirmed"],
)
def test_identity_events_travel_sealed_and_cannot_be_applied_once_the_key_is_gone(
    event: IdentityLinked | IdentityUnlinked | IdentityConfirmed,
) -> None:
    sealed = seal_identities(KEY, KID, event)
    raw = sealed.to_json()
    assert not [v for v in (b"nadia@example.com", b"visitor-9", b"+33611111111") if v in raw]
    on_the_log = decode(raw)
    assert isinstance(on_the_log, type(event))
    assert open_identities(KEY, on_the_log) == event
    assert open_identities(None, on_the_log) is None
    assert open_identities(OTHER_KEY, on_the_log) is None
    assert open_identities(None, event) == event  # in clear: nothing to open


def test_identity_events_need_their_identities_unless_sealed() -> None:
    with pytest.raises(ValidationError, match="unless they are sealed"):
        IdentityUnlinkedData(identities=())
    with pytest.raises(ValidationError, match="unless it is sealed"):
        IdentityConfirmedData(customer_id="c-2", confirmed_by="ana")

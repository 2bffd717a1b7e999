"""Claimed and proven identities (pure core): the tenant's signature, what a claim may and may not do,
and a property: no sequence of unproven hints moves a message, a reply or a timeline across customers."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relais_context_store.adapters.identity_secrets import IdentitySecrets, InvalidSecretsFile
from relais_context_store.domain.identity import (
    Confirmation,
    check_signature,
    claim_id,
    confirm_claim,
    identity_key,
    mask_identity,
    resolve_customer,
    sign_identity,
    split_identities,
)
from relais_context_store.domain.resolution import OpenConversation, new_customer_id, resolve_message
from relais_context_store.domain.timeline import NoAddress, reply_destination
from relais_context_store.settings import ContextStoreSettings
from relais_contracts.channel import IdentityHints, MessageReceived, MessageReceivedData
from relais_contracts.conversation import CustomerMessage, Opened, ReplyAuthor, ReplyData, ReplyPosted
from relais_contracts.customers import Identity

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
SECRET = "tenant-acme-identity-secret"
MAX_AGE = 600.0


def signed(
    hints: dict[str, str], *, secret: str = SECRET, at: datetime = T0, tenant: str = "acme"
) -> IdentityHints:
    plain = IdentityHints.model_validate(hints)
    stamp = int(at.timestamp())
    return plain.model_copy(
        update={"signature": sign_identity(secret, tenant, plain, stamp), "signed_at": stamp}
    )


# -- the signature


def test_a_signature_of_the_tenant_made_now_is_valid() -> None:
    hints = signed({"email": "camille@example.com", "customer_ref": "C-9"})
    assert check_signature("acme", hints, SECRET, T0 + timedelta(seconds=30), MAX_AGE) == "valid"


def test_a_signature_with_another_secret_is_invalid() -> None:
    hints = signed({"email": "camille@example.com"}, secret="someone-elses-secret")
    assert check_signature("acme", hints, SECRET, T0, MAX_AGE) == "invalid"


def test_a_signature_for_another_tenant_is_invalid_here() -> None:
    hints = signed({"email": "camille@example.com"}, tenant="globex")
    assert check_signature("acme", hints, SECRET, T0, MAX_AGE) == "invalid"


def test_an_old_or_future_signature_is_stale() -> None:
    hints = signed({"email": "camille@example.com"})
    assert check_signature("acme", hints, SECRET, T0 + timedelta(seconds=MAX_AGE + 1), MAX_AGE) == "stale"
    assert check_signature("acme", hints, SECRET, T0 - timedelta(seconds=MAX_AGE + 1), MAX_AGE) == "stale"


@pytest.mark.parametrize(
    "tamper",
    [
        {"email": "victim@example.com"},
        {"phone": "+33612345678"},
        {"customer_ref": "C-10"},
        {"signed_at": int(T0.timestamp()) + 1},
    ],
)
def test_a_tampered_identifier_or_time_breaks_the_signature(tamper: dict[str, object]) -> None:
    hints = signed({"email": "camille@example.com", "customer_ref": "C-9"}).model_copy(update=tamper)
    assert check_signature("acme", hints, SECRET, T0, MAX_AGE) == "invalid"


def test_without_a_secret_for_the_tenant_nothing_is_signed() -> None:
    hints = signed({"email": "camille@example.com"})
    assert check_signature("acme", hints, None, T0, MAX_AGE) == "no-secret"


def test_hints_without_a_signature_are_not_checked() -> None:
    assert check_signature("acme", IdentityHints(email="c@example.com"), SECRET, T0, MAX_AGE) == "absent"


def test_identifiers_with_line_breaks_cannot_pass_for_others() -> None:
    # "C-9\ncamille@example.com" as a reference must not sign the same string as ref C-9 + that email.
    crafted = IdentityHints(customer_ref="C-9\ncamille@example.com")
    with pytest.raises(ValueError, match="line breaks"):
        sign_identity(SECRET, "acme", crafted, 1)
    forged = crafted.model_copy(update={"signature": "0" * 64, "signed_at": int(T0.timestamp())})
    assert check_signature("acme", forged, SECRET, T0, MAX_AGE) == "invalid"


def test_the_signature_is_lowercase_hex_sha256_of_the_documented_string() -> None:
    # The canonical string as docs/channel-contract.md spells it, so integrators in any language match.
    import hashlib
    import hmac

    base = "relais-identity-v1\nacme\n1764000000\nC-9\ncamille@example.com\n"
    expected = hmac.new(SECRET.encode(), base.encode(), hashlib.sha256).hexdigest()
    hints = IdentityHints(customer_ref="C-9", email="camille@example.com")
    assert sign_identity(SECRET, "acme", hints, 1764000000) == expected


# -- the secrets, from the settings and a mounted file


def test_secrets_come_from_the_variable_and_the_file_and_are_never_shown(tmp_path: Path) -> None:
    file = tmp_path / "identity-secrets.json"
    file.write_text(json.dumps({"globex": "from-the-file", "acme": "file-wins"}))
    settings = ContextStoreSettings(
        identity_secrets={"acme": "from-env", "initech": "i"}, identity_secrets_file=file
    )  # type: ignore[arg-type]
    secrets = IdentitySecrets(settings)
    assert (secrets.of("acme"), secrets.of("globex"), secrets.of("initech"), secrets.of("nope")) == (
        "file-wins", "from-the-file", "i", None,
    )  # fmt: skip
    assert "file-wins" not in repr(secrets)
    assert "from-env" not in repr(settings)


def test_an_unreadable_secrets_file_stops_the_service_without_echoing_it(tmp_path: Path) -> None:
    file = tmp_path / "bad.json"
    file.write_text('{"acme": 42, "leak": "s3cret-value"')
    with pytest.raises(InvalidSecretsFile) as raised:
        IdentitySecrets(ContextStoreSettings(identity_secrets_file=file))
    assert "s3cret-value" not in str(raised.value)


# -- what a claim does


def test_unproven_hints_are_claims_and_proven_ones_are_identities() -> None:
    hints = IdentityHints(email="Victim@Example.com", customer_ref="V-1")
    proven, claimed = split_identities("webchat", "visitor-1", hints, None, hints_proven=False)
    assert [identity_key(i) for i in proven] == ["address:webchat:visitor-1"]
    assert [identity_key(i) for i in claimed] == ["customer_ref:V-1", "email:victim@example.com"]
    proven, claimed = split_identities("webchat", "visitor-1", hints, None, hints_proven=True)
    assert (len(proven), claimed) == (3, [])


def test_a_claim_of_anothers_identity_never_decides_the_customer() -> None:
    owners = {"email:victim@example.com": "victim"}
    proven = [Identity(kind="address", channel="webchat", value="visitor-1")]
    claimed = [
        Identity(kind="email", value="victim@example.com"),
        Identity(kind="phone", value="+33600000000"),
    ]
    resolution = resolve_customer(proven, owners, "visitor", claimed)
    assert resolution.customer_id == "visitor"
    assert [identity_key(i) for i in resolution.new_links] == ["address:webchat:visitor-1"]
    assert [(c.identity.value, c.other_customer_id) for c in resolution.claims] == [
        ("victim@example.com", "victim"),
        ("+33600000000", None),
    ]
    # A claim of what is already the customer's own is no claim.
    again = resolve_customer(
        proven,
        {**owners, "address:webchat:visitor-1": "visitor", "phone:+33600000000": "visitor"},
        "x",
        claimed,
    )
    assert [c.identity.value for c in again.claims] == ["victim@example.com"]


def test_masks_keep_enough_to_ask_about_and_not_enough_to_learn() -> None:
    assert mask_identity(Identity(kind="email", value="victim@example.com")) == "v***@example.com"
    assert mask_identity(Identity(kind="phone", value="+33612345678")) == "+33*******78"
    assert mask_identity(Identity(kind="customer_ref", value="CUST-123456")) == "CU***"
    assert claim_id(Identity(kind="email", value="victim@example.com")) == claim_id(
        Identity(kind="email", value="victim@example.com")
    )
    assert "victim" not in claim_id(Identity(kind="email", value="victim@example.com"))


def test_confirming_a_free_identity_links_it_and_anothers_moves_the_claimant_to_them() -> None:
    claimed = Identity(kind="email", value="victim@example.com")
    own = [Identity(kind="address", channel="webchat", value="visitor-1")]
    free = confirm_claim("visitor", claimed, None, own)
    assert (free.customer_id, free.link, free.unlink_from_claimant) == ("visitor", (claimed,), ())
    taken = confirm_claim("visitor", claimed, "victim", own)
    assert (taken.customer_id, taken.link, taken.unlink_from_claimant) == ("victim", tuple(own), tuple(own))


# -- the property: unproven hints never cross customers

SENDERS = [
    ("email", "alice@example.com"),
    ("email", "bob@example.com"),
    ("webchat", "visitor-1"),
    ("webchat", "visitor-2"),
    ("sms", "+33612345678"),
]
HINTS = st.builds(
    IdentityHints,
    email=st.sampled_from([None, "alice@example.com", "BOB@example.com", "carol@example.com"]),
    phone=st.sampled_from([None, "+33612345678", "+33698765432"]),
    customer_ref=st.sampled_from([None, "R-1", "R-2"]),
    # A forged signature, or an old one of the right tenant: neither proves anything.
    signature=st.sampled_from([None, "0" * 64]),
    signed_at=st.sampled_from([None, 1]),
)
STEP = st.tuples(
    st.sampled_from(range(len(SENDERS))),
    HINTS,
    st.integers(min_value=1, max_value=7200),  # seconds since the previous message
    st.sampled_from([None, "email", "sms", "webchat", "whatsapp"]),  # a reply after it, on this channel
)


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(STEP, min_size=1, max_size=25))
def test_no_sequence_of_unproven_hints_moves_a_message_a_reply_or_a_timeline_across_customers(
    steps: list[tuple[int, IdentityHints, int, str | None]],
) -> None:
    owners: dict[str, str] = {}  # identity key -> customer (first link wins, as in the views)
    pointers: dict[str, OpenConversation] = {}
    customer_of_sender: dict[int, str] = {}
    senders_of_conversation: dict[str, set[int]] = {}
    conversations_of_customer: dict[str, set[str]] = {}
    at = T0
    for n, (sender, hints, gap, reply_channel) in enumerate(steps):
        at += timedelta(seconds=gap)
        channel, address = SENDERS[sender]
        event = MessageReceived(
            id=f"in-{n}", source="test", time=at, tenant="acme",
            data=MessageReceivedData.model_validate(
                {"channel": channel, "from": {"address": address}, "text": "hi", "external_id": f"x-{n}",
                 "identity": hints.model_dump(exclude_none=True)}
            ),
        )  # fmt: skip
        proven_hints = hints.verified or check_signature("acme", hints, SECRET, at, MAX_AGE) == "valid"
        proven, claimed = split_identities(channel, address, hints, None, proven_hints)
        customer = resolve_customer(proven, owners, new_customer_id(event), claimed)
        for identity in customer.new_links:
            owners.setdefault(identity_key(identity), customer.customer_id)
        resolved = resolve_message(event, customer, pointers.get(customer.customer_id), timedelta(hours=1))
        pointers[customer.customer_id] = resolved.open_conversation
        for o in resolved.outgoing:
            if isinstance(o.event, Opened):
                conversations_of_customer.setdefault(o.event.data.customer_id or "", set()).add(
                    o.event.subject or ""
                )
        message = next(o.event for o in resolved.outgoing if isinstance(o.event, CustomerMessage))

        # A message: each sender is one customer, and no two senders share one.
        assert customer_of_sender.setdefault(sender, customer.customer_id) == customer.customer_id
        assert list(customer_of_sender.values()).count(customer.customer_id) == 1
        senders_of_conversation.setdefault(message.subject or "", set()).add(sender)

        # A reply to this conversation, on the channel an agent picks, reaches only this sender.
        if reply_channel is not None:
            pointer = resolved.open_conversation
            reply = ReplyPosted(
                id=f"r-{n}", source="test", time=at, tenant="acme", subject=pointer.conversation_id,
                data=ReplyData(message_id=f"r-{n}", author=ReplyAuthor(kind="agent", name="A"), text="ok",
                               channel=reply_channel),
            )  # fmt: skip
            mine = [_identity_of(k) for k, c in owners.items() if c == customer.customer_id]
            fields = {"last_channel": pointer.channel, "last_address": pointer.address}
            try:
                _, to = reply_destination(reply, fields, mine)
            except NoAddress:
                continue
            assert to == address, (reply_channel, to, address)

    # A timeline read: every conversation of a customer holds the words of one sender only.
    for conversation, senders in senders_of_conversation.items():
        assert len(senders) == 1, (conversation, senders)
    for customer_id, conversations in conversations_of_customer.items():
        assert len({s for c in conversations for s in senders_of_conversation.get(c, set())}) <= 1, (
            customer_id
        )


def _identity_of(key: str) -> dict[str, str | None]:
    kind, _, rest = key.partition(":")
    if kind == "address":
        channel, _, value = rest.partition(":")
        return {"kind": kind, "channel": channel, "value": value}
    return {"kind": kind, "value": rest, "channel": None}


def test_masks_at_their_edges() -> None:
    # The domain is the part after the last @: a quoted local part holding an @ stays hidden.
    assert mask_identity(Identity(kind="email", value='"a@b"@example.com')) == '"***@example.com'
    # A short phone number keeps at least three stars between its ends.
    assert mask_identity(Identity(kind="phone", value="+33612")) == "+33***12"
    assert mask_identity(Identity(kind="phone", value="+336123")) == "+33***23"
    assert mask_identity(Identity(kind="phone", value="+3361234")) == "+33***34"
    assert mask_identity(Identity(kind="phone", value="+33612345")) == "+33****45"
    # Other identities show two characters only when more than four would remain hidden otherwise.
    assert mask_identity(Identity(kind="customer_ref", value="C-12")) == "***"
    assert mask_identity(Identity(kind="customer_ref", value="C-123")) == "C-***"
    assert mask_identity(Identity(kind="address", channel="webchat", value="visitor-1")) == "webchat:vi***"


def test_a_claim_id_is_pinned_so_a_desk_confirms_across_releases() -> None:
    # The desk confirms a claim by this id; a restarted or upgraded context store must derive the same.
    assert claim_id(Identity(kind="email", value="victim@example.com")) == "5b90e798e7e1b677"


def test_confirming_an_identity_the_claimant_already_owns_changes_nothing() -> None:
    claimed = Identity(kind="email", value="victim@example.com")
    own = [Identity(kind="address", channel="webchat", value="visitor-1")]
    assert confirm_claim("visitor", claimed, "visitor", own) == Confirmation("visitor", (), ())


def test_absent_identifiers_sign_as_empty_lines_and_no_identifier_may_hold_a_carriage_return() -> None:
    import hashlib
    import hmac

    base = "relais-identity-v1\nacme\n1764000000\n\n\n+33612345678"
    expected = hmac.new(SECRET.encode(), base.encode(), hashlib.sha256).hexdigest()
    assert sign_identity(SECRET, "acme", IdentityHints(phone="+33612345678"), 1764000000) == expected
    base = "relais-identity-v1\nacme\n1764000000\nC-9\n\n"
    expected = hmac.new(SECRET.encode(), base.encode(), hashlib.sha256).hexdigest()
    assert sign_identity(SECRET, "acme", IdentityHints(customer_ref="C-9"), 1764000000) == expected
    with pytest.raises(ValueError, match=r"^identity hints that contain line breaks cannot be signed$"):
        sign_identity(SECRET, "acme", IdentityHints(customer_ref="C-9\rcamille@example.com"), 1)


def test_a_national_number_in_the_hints_is_read_in_the_tenants_region() -> None:
    hints = IdentityHints(phone="06 12 34 56 78")
    _, claimed = split_identities("webchat", "visitor-1", hints, "FR", hints_proven=False)
    assert [identity_key(i) for i in claimed] == ["phone:+33612345678"]


def test_a_signature_exactly_as_old_as_allowed_is_still_valid() -> None:
    hints = signed({"email": "camille@example.com"}, at=T0)
    assert check_signature("acme", hints, SECRET, T0 + timedelta(seconds=MAX_AGE), MAX_AGE) == "valid"
    assert check_signature("acme", hints, SECRET, T0 + timedelta(seconds=MAX_AGE + 1), MAX_AGE) == "stale"

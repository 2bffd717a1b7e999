"""Who wrote: the identities a message carries, normalised, and the one customer they resolve to.

An identity links to at most one customer of a tenant. A message's identities are *proven* or
*claimed*. The address it came from is proven (the channel delivered it); its hints (customer
reference, phone, email) are proven only when the channel says it verified them or the tenant signed
them, and claimed otherwise. Proven identities are ranked by how much they prove: the address first,
then the customer reference, then phone and email. The strongest proven identity already linked decides
the customer; unlinked proven identities are linked to it; proven identities linked to someone else are
conflicts, recorded and never merged. Claimed identities are never linked and never decide the
customer: they are recorded on the sender as claims until a person confirms them.
"""

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import phonenumbers

from relais_contracts.channel import IdentityHints
from relais_contracts.customers import Identity, IdentityClaim, IdentityConflict

# Channels whose addresses are phone numbers, and the one whose addresses are emails.
PHONE_CHANNELS = frozenset({"sms", "whatsapp", "voice", "rcs"})
EMAIL_CHANNELS = frozenset({"email"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_phone(raw: str, default_region: str | None) -> str | None:
    """E.164 form of a valid phone number (`default_region` for national formats), else None."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str | None:
    email = raw.strip().lower()
    return email if _EMAIL.match(email) else None


def identity_key(identity: Identity) -> str:
    """The identity as one string, as it is indexed."""
    if identity.kind == "address":
        return f"address:{identity.channel}:{identity.value}"
    return f"{identity.kind}:{identity.value}"


def address_identity(channel: str, address: str, default_region: str | None) -> Identity:
    """The identity of a channel address: a phone number or an email when it is one."""
    if channel in PHONE_CHANNELS and (phone := normalise_phone(address, default_region)):
        return Identity(kind="phone", value=phone)
    if channel in EMAIL_CHANNELS and (email := normalise_email(address)):
        return Identity(kind="email", value=email)
    return Identity(kind="address", channel=channel, value=address)


def message_identities(
    channel: str, address: str, hints: IdentityHints | None, default_region: str | None
) -> list[Identity]:
    """Every identity of a message, strongest first, without duplicates; invalid hints are left out."""
    found = [address_identity(channel, address, default_region)]
    if hints is not None:
        if hints.customer_ref and hints.customer_ref.strip():
            found.append(Identity(kind="customer_ref", value=hints.customer_ref.strip()))
        if hints.phone and (phone := normalise_phone(hints.phone, default_region)):
            found.append(Identity(kind="phone", value=phone))
        if hints.email and (email := normalise_email(hints.email)):
            found.append(Identity(kind="email", value=email))
    unique: dict[str, Identity] = {}
    for identity in found:
        unique.setdefault(identity_key(identity), identity)
    return list(unique.values())


@dataclass(frozen=True)
class CustomerResolution:
    customer_id: str
    new_links: tuple[Identity, ...]
    conflicts: tuple[IdentityConflict, ...]
    claims: tuple[IdentityClaim, ...] = ()


def resolve_customer(
    identities: Sequence[Identity],
    owners: dict[str, str],
    new_customer_id: str,
    claimed: Sequence[Identity] = (),
) -> CustomerResolution:
    """The customer these proven identities (strongest first) belong to, given who owns each identity
    now; `claimed` identities never decide it and are never linked: the ones not already the customer's
    are returned as claims."""
    owner_of = [owners.get(identity_key(i)) for i in identities]
    customer = next((o for o in owner_of if o is not None), new_customer_id)
    return CustomerResolution(
        customer_id=customer,
        new_links=tuple(i for i, o in zip(identities, owner_of, strict=True) if o is None),
        conflicts=tuple(
            IdentityConflict(identity=i, other_customer_id=o)
            for i, o in zip(identities, owner_of, strict=True)
            if o is not None and o != customer
        ),
        claims=tuple(
            IdentityClaim(identity=i, other_customer_id=owners.get(identity_key(i)))
            for i in claimed
            if owners.get(identity_key(i)) != customer
        ),
    )


# -- proof of the hints: the channel's word, or the tenant's signature

SignatureCheck = Literal["valid", "absent", "no-secret", "stale", "invalid"]
SIGNATURE_VERSION = "relais-identity-v1"


def signature_base(tenant: str, hints: IdentityHints, signed_at: int) -> bytes | None:
    """The canonical string a tenant signs: version, tenant, time and the three identifiers exactly as
    sent (absent ones empty), one per line; None if an identifier holds a line break (ambiguous)."""
    values = (hints.customer_ref or "", hints.email or "", hints.phone or "")
    if any("\n" in v or "\r" in v for v in values):
        return None
    return "\n".join((SIGNATURE_VERSION, tenant, str(signed_at), *values)).encode()


def sign_identity(secret: str, tenant: str, hints: IdentityHints, signed_at: int) -> str:
    """What the tenant's backend computes (this is the reference implementation the docs describe)."""
    base = signature_base(tenant, hints, signed_at)
    if base is None:
        raise ValueError("identity hints that contain line breaks cannot be signed")
    return hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def check_signature(
    tenant: str, hints: IdentityHints, secret: str | None, now: datetime, max_age_s: float
) -> SignatureCheck:
    """Whether the hints carry a valid signature of this tenant, made at most `max_age_s` ago (or as
    far in the future: clocks drift both ways). Compared in constant time."""
    if hints.signature is None or hints.signed_at is None:
        return "absent"
    if secret is None:
        return "no-secret"
    if abs(now.timestamp() - hints.signed_at) > max_age_s:
        return "stale"
    base = signature_base(tenant, hints, hints.signed_at)
    if base is None:
        return "invalid"
    expected = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return "valid" if hmac.compare_digest(expected, hints.signature.lower()) else "invalid"


def split_identities(
    channel: str,
    address: str,
    hints: IdentityHints | None,
    default_region: str | None,
    hints_proven: bool,
) -> tuple[list[Identity], list[Identity]]:
    """(proven, claimed): the address is always proven, the hints only when `hints_proven`."""
    identities = message_identities(channel, address, hints, default_region)
    if hints_proven:
        return identities, []
    return identities[:1], identities[1:]


# -- what agents see of a claim, and what confirming it does


def claim_id(identity: Identity) -> str:
    """A stable id of a claimed identity that does not reveal it (the desk confirms by this id)."""
    return hashlib.sha256(identity_key(identity).encode()).hexdigest()[:16]


def mask_identity(identity: Identity) -> str:
    """Enough of an identity for an agent to ask the customer about it, not enough to learn it."""
    value = identity.value
    if identity.kind == "email":
        local, _, domain = value.rpartition("@")  # a quoted local part may hold an @ too
        return f"{local[:1]}***@{domain}"
    if identity.kind == "phone":
        return f"{value[:3]}{'*' * max(len(value) - 5, 3)}{value[-2:]}"
    shown = value[:2] if len(value) > 4 else ""
    prefix = f"{identity.channel}:" if identity.channel else ""
    return f"{prefix}{shown}***"


@dataclass(frozen=True)
class Confirmation:
    """What confirming a claim does: the customer who owns the identity afterwards, the identities that
    now belong to them (the claimed one, or the claimant's own identities, moved to the owner)."""

    customer_id: str
    link: tuple[Identity, ...]
    unlink_from_claimant: tuple[Identity, ...]


def confirm_claim(
    claimant_id: str, claimed: Identity, owner: str | None, claimant_identities: Sequence[Identity]
) -> Confirmation:
    """An agent vouches that the claimant is who `claimed` says. Nobody's identity: it becomes the
    claimant's. Someone else's: the claimant's identities move to that customer (their next message
    joins that customer's conversation); the claimant's past conversations stay where they are."""
    if owner is None or owner == claimant_id:
        return Confirmation(claimant_id, (claimed,) if owner is None else (), ())
    moved = tuple(claimant_identities)
    return Confirmation(owner, moved, moved)

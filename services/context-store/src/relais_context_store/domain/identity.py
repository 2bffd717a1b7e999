"""Who wrote: the identities a message carries, normalised, and the one customer they resolve to.

An identity links to at most one customer of a tenant. A message's identities are ranked by how much
they prove: the address it came from first, then the tenant's own customer reference, then the phone
and email hints. The strongest identity already linked decides the customer; unlinked identities are
linked to it; identities linked to someone else are conflicts, recorded and never merged.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

import phonenumbers

from relais_contracts.channel import IdentityHints
from relais_contracts.customers import Identity, IdentityConflict

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


def resolve_customer(
    identities: Sequence[Identity], owners: dict[str, str], new_customer_id: str
) -> CustomerResolution:
    """The customer these identities (strongest first) belong to, given who owns each identity now."""
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
    )

"""Customer identity events of the context store, on the conversation log.

They are keyed by tenant (so every link and unlink of a tenant stays in order on one partition) and
their `subject` is the customer id. Readers of the log that only follow conversations skip them.
"""

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from relais_contracts import topics
from relais_contracts.envelope import CloudEvent, Payload

IdentityKind = Literal["address", "phone", "email", "customer_ref"]


class Identity(Payload):
    """One way to recognise a customer: a phone number (E.164), an email, a reference in the tenant's
    systems, or a channel address that is neither (a web chat visitor id, a messenger id)."""

    kind: IdentityKind
    value: str = Field(min_length=1, max_length=320)
    # Only for kind "address": the channel the address belongs to.
    channel: str | None = Field(default=None, min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")


class IdentityConflict(Payload):
    """A hint that names another customer than the one the message was resolved to; never merged."""

    identity: Identity
    other_customer_id: str = Field(min_length=1, max_length=200)


class IdentityClaim(Payload):
    """An identity a message claimed without proof (not verified, not signed): recorded on the sender,
    shown to agents, never linked until an agent confirms it."""

    identity: Identity
    # The customer the identity belongs to, when it belongs to someone.
    other_customer_id: str | None = Field(default=None, min_length=1, max_length=200)


class CustomerEvent(CloudEvent):
    """An event about a customer rather than one conversation: `subject` is the customer id."""

    topics: ClassVar = (topics.CONVERSATIONS,)
    subject: str = Field(min_length=1, max_length=200)

    @property
    def customer_id(self) -> str:
        return self.subject


# A sealed set of identities: a Fernet token of their JSON (claims and conflicts included).
SEALED_IDENTITIES_MAX = 500_000


class _SealedIdentities(Payload):
    """For a tenant that seals, the identities of a customer event travel in one token of the key of
    the customer it is about (`subject`), and the clear fields are empty: erasing the customer destroys
    the key, so no email, phone or address of theirs stays readable on the log (a rebuild after erasure
    cannot recreate them). The context store opens them when it materializes the views."""

    sealed: str | None = Field(default=None, max_length=SEALED_IDENTITIES_MAX)
    key_id: str | None = Field(default=None, max_length=300)


class IdentityLinkedData(_SealedIdentities):
    identities: tuple[Identity, ...] = ()
    conflicts: tuple[IdentityConflict, ...] = ()
    claims: tuple[IdentityClaim, ...] = ()
    # message: resolved from an inbound message's address and proven hints; api: linked by an operator;
    # confirmed: an agent confirmed a claim (a `relais.customer.identity.confirmed` records who).
    origin: Literal["message", "api", "confirmed"] = "message"
    conversation_id: str | None = Field(default=None, max_length=200)


class IdentityLinked(CustomerEvent):
    """Identities now recognise this customer; conflicting hints are recorded, not merged."""

    type: Literal["relais.customer.identity.linked"] = "relais.customer.identity.linked"
    data: IdentityLinkedData


class IdentityUnlinkedData(_SealedIdentities):
    identities: tuple[Identity, ...] = ()

    @model_validator(mode="after")
    def _identities_or_sealed(self) -> "IdentityUnlinkedData":
        if not self.identities and self.sealed is None:
            raise ValueError("at least one identity is required unless they are sealed")
        return self


class IdentityUnlinked(CustomerEvent):
    """An operator detached identities from this customer; the next message with them is someone new."""

    type: Literal["relais.customer.identity.unlinked"] = "relais.customer.identity.unlinked"
    data: IdentityUnlinkedData


class IdentityConfirmedData(_SealedIdentities):
    identity: Identity | None = None  # the claimed identity (None only when sealed)
    # Whose the identity is now: the claimant (it belonged to no one), or its owner, to whom the
    # claimant's identities (`moved`) now belong, so the claimant's next message reaches them.
    customer_id: str = Field(min_length=1, max_length=200)
    moved: tuple[Identity, ...] = ()
    confirmed_by: str = Field(min_length=1, max_length=200)  # the agent or supervisor who confirmed
    role: Literal["agent", "supervisor", "operator"] = "agent"
    reason: str | None = Field(default=None, max_length=500)
    # The authenticated service that made the call on that person's behalf (its API caller name).
    via: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _identity_or_sealed(self) -> "IdentityConfirmedData":
        if self.identity is None and self.sealed is None:
            raise ValueError("the claimed identity is required unless it is sealed")
        return self


class IdentityConfirmed(CustomerEvent):
    """Audit: a person confirmed that the customer (`subject`) is who their claimed identity says."""

    type: Literal["relais.customer.identity.confirmed"] = "relais.customer.identity.confirmed"
    data: IdentityConfirmedData


class CustomerErasedData(Payload):
    conversation_ids: tuple[str, ...] = ()


class CustomerErased(CustomerEvent):
    """Right to erasure: the customer's views are deleted and their encryption key destroyed."""

    type: Literal["relais.customer.erased"] = "relais.customer.erased"
    data: CustomerErasedData

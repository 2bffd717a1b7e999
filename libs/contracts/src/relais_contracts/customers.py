"""Customer identity events of the context store, on the conversation log.

They are keyed by tenant (so every link and unlink of a tenant stays in order on one partition) and
their `subject` is the customer id. Readers of the log that only follow conversations skip them.
"""

from typing import ClassVar, Literal

from pydantic import Field

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


class IdentityLinkedData(Payload):
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


class IdentityUnlinkedData(Payload):
    identities: tuple[Identity, ...] = Field(min_length=1)


class IdentityUnlinked(CustomerEvent):
    """An operator detached identities from this customer; the next message with them is someone new."""

    type: Literal["relais.customer.identity.unlinked"] = "relais.customer.identity.unlinked"
    data: IdentityUnlinkedData


class IdentityConfirmedData(Payload):
    identity: Identity  # the claimed identity
    # Whose the identity is now: the claimant (it belonged to no one), or its owner, to whom the
    # claimant's identities (`moved`) now belong, so the claimant's next message reaches them.
    customer_id: str = Field(min_length=1, max_length=200)
    moved: tuple[Identity, ...] = ()
    confirmed_by: str = Field(min_length=1, max_length=200)  # the agent or supervisor who confirmed
    role: Literal["agent", "supervisor", "operator"] = "agent"
    reason: str | None = Field(default=None, max_length=500)
    # The authenticated service that made the call on that person's behalf (its API caller name).
    via: str | None = Field(default=None, max_length=64)


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

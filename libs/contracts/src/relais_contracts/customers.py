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
    # message: resolved from an inbound message's address and hints; api: linked by an operator.
    origin: Literal["message", "api"] = "message"
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


class CustomerErasedData(Payload):
    conversation_ids: tuple[str, ...] = ()


class CustomerErased(CustomerEvent):
    """Right to erasure: the customer's views are deleted and their encryption key destroyed."""

    type: Literal["relais.customer.erased"] = "relais.customer.erased"
    data: CustomerErasedData

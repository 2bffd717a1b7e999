"""Channel addresses, identity values and customers' words on the conversation log, sealed in the
customer's key.

For the tenants that seal, the context store writes no address and no identity value of a customer in
clear on the log: the text, name and attachments of `message.received`, the address of `opened`,
`message.received`, `channel.switched` and `customer.left`, and the identities (claims and conflicts
included) of `identity.linked`, `.unlinked` and `.confirmed`
travel in a token of the customer's key, and the materializer opens them before it builds the views.
Once erasure destroys the key, a replay of the log reads none of them: a rebuild cannot bring back
the erased customer's addresses or identity index entries. Unsealed tenants' events are untouched.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cryptography.fernet import Fernet

from relais_context_store.settings import ContextStoreSettings
from relais_contracts import CloudEvent, Event, Outgoing
from relais_contracts.channel import IdentityHints
from relais_contracts.conversation import (
    SEALED_ADDRESS,
    ChannelSwitched,
    CustomerLeft,
    CustomerMessage,
    Opened,
)
from relais_contracts.customers import IdentityConfirmed, IdentityLinked, IdentityUnlinked
from relais_platform.kafka import Publishes
from relais_platform.sealing import ERASED_TEXT, CustomerKeys, key_id, open_fields, seal, seal_fields

Addressed = Opened | CustomerMessage | ChannelSwitched | CustomerLeft
IdentityEvent = IdentityLinked | IdentityUnlinked | IdentityConfirmed

# The fields of each identity event that name identities; emptied on the log when sealed.
_IDENTITY_FIELDS: dict[type, dict[str, Any]] = {
    IdentityLinked: {"identities": (), "conflicts": (), "claims": ()},
    IdentityUnlinked: {"identities": ()},
    IdentityConfirmed: {"identity": None, "moved": ()},
}


def seal_address(key: Fernet, kid: str, event: Addressed) -> Addressed:
    token = seal_fields(key, {"address": event.data.address})
    data = event.data.model_copy(update={"address": SEALED_ADDRESS, "address_sealed": token, "key_id": kid})
    return event.model_copy(update={"data": data})


def seal_message(key: Fernet, kid: str, event: CustomerMessage) -> CustomerMessage:
    """The customer's text, name and attachments in their key, not in clear."""
    sealed = seal(key, event.data.text, event.data.customer_name, event.data.attachments)
    data = event.data.model_copy(
        update={"text": "", "customer_name": None, "attachments": (), "text_sealed": sealed, "key_id": kid}
    )
    return event.model_copy(update={"data": data})


def without_hints(event: Opened) -> Opened:
    """The opening without the customer's name, email or phone hints: they are on the customer's identity
    events already, where the key can shred them; only the tenant's own reference (which the bot reads)
    stays."""
    hints = event.data.identity
    kept = IdentityHints(customer_ref=hints.customer_ref) if hints and hints.customer_ref else None
    data = event.data.model_copy(update={"customer_name": None, "identity": kept})
    return event.model_copy(update={"data": data})


def seal_identities(key: Fernet, kid: str, event: IdentityEvent) -> IdentityEvent:
    cleared = _IDENTITY_FIELDS[type(event)]
    token = seal_fields(key, event.data.model_dump(mode="json", include=set(cleared), exclude_none=True))
    data = event.data.model_copy(update={**cleared, "sealed": token, "key_id": kid})
    return event.model_copy(update={"data": data})


def open_address(key: Fernet | None, event: Addressed) -> Addressed:
    """The event with its address in clear; after erasure the address reads `ERASED_TEXT`."""
    if event.data.address_sealed is None:
        return event
    fields = open_fields(key, event.data.address_sealed)
    address = str(fields["address"]) if fields else ERASED_TEXT
    data = event.data.model_copy(update={"address": address, "address_sealed": None})
    return event.model_copy(update={"data": data})


def open_identities(key: Fernet | None, event: IdentityEvent) -> IdentityEvent | None:
    """The event with its identities in clear, or None once the key is destroyed (nothing to apply)."""
    if event.data.sealed is None:
        return event
    fields = open_fields(key, event.data.sealed)
    if fields is None:
        return None
    data = type(event.data).model_validate(
        {**event.data.model_dump(mode="json", exclude={"sealed", "key_id"}), **fields}
    )
    return event.model_copy(update={"data": data})


async def open_events(keys: CustomerKeys, events: Iterable[Event]) -> list[Event]:
    """The events with their addresses and identities in clear; an identity event whose key was
    destroyed is left out (the customer was erased: nothing of theirs to apply)."""
    events = list(events)
    kids = [
        e.data.key_id
        for e in events
        if (isinstance(e, IdentityEvent) and e.data.sealed and e.data.key_id)
        or (isinstance(e, Addressed) and e.data.address_sealed and e.data.key_id)
    ]
    found = await keys.lookup(k for k in kids if k)
    out: list[Event] = []
    for e in events:
        if isinstance(e, IdentityEvent):
            if (opened := open_identities(found.get(e.data.key_id or ""), e)) is not None:
                out.append(opened)
        elif isinstance(e, Addressed):
            out.append(open_address(found.get(e.data.key_id or ""), e))
        else:
            out.append(e)
    return out


class LogSealing:
    """Seals what the context store writes on the log and opens what it reads back."""

    def __init__(self, keys: CustomerKeys, settings: ContextStoreSettings) -> None:
        self._keys = keys
        self._settings = settings

    async def seal(self, outgoing: Sequence[Outgoing], customers: Mapping[str, str]) -> list[Outgoing]:
        """For the tenants that seal, in the key of the customer each event is about (one key fetch for
        the batch): the identities of identity events; the address of the events in `customers` (event
        uid -> customer id), and a customer message's words; an opening loses its hints."""
        owners: dict[Outgoing, tuple[str, str]] = {}
        for o in outgoing:
            e = o.event
            if not self._settings.seals(e.tenant):
                continue
            if isinstance(e, IdentityEvent) and e.data.sealed is None:
                owners[o] = (e.tenant, e.subject)
            elif isinstance(e, Addressed) and e.uid in customers:
                owners[o] = (e.tenant, customers[e.uid])
        wanted: dict[str, set[str]] = {}
        for tenant, customer in owners.values():
            wanted.setdefault(tenant, set()).add(customer)
        keys = {
            kid: k
            for tenant, ids in wanted.items()
            for kid, k in (await self._keys.ensure(tenant, ids)).items()
        }
        out = []
        for o in outgoing:
            event: CloudEvent = o.event
            if not self._settings.seals(event.tenant):
                out.append(o)
                continue
            if isinstance(event, Opened):
                event = without_hints(event)
            if (owner := owners.get(o)) is not None:
                kid = key_id(*owner)
                if isinstance(event, IdentityEvent):
                    event = seal_identities(keys[kid], kid, event)
                else:
                    if isinstance(event, CustomerMessage):
                        event = seal_message(keys[kid], kid, event)
                    if event.data.address_sealed is None:
                        event = seal_address(keys[kid], kid, event)  # type: ignore[arg-type]
            out.append(Outgoing(o.topic, o.key, event))
        return out

    def publisher(self, inner: Publishes) -> Publishes:
        """A publisher that seals the identity events it sends (the API's links, unlinks, confirmations)."""
        return _SealingPublisher(self, inner)


class _SealingPublisher:
    def __init__(self, sealing: LogSealing, inner: Publishes) -> None:
        self._sealing = sealing
        self._inner = inner

    async def publish(self, outgoing: Iterable[Outgoing]) -> None:
        await self._inner.publish(await self._sealing.seal(list(outgoing), {}))

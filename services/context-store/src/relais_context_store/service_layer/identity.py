"""Identity use cases: which customer each inbound message is, link, unlink, and confirm a claim.

A hint proves nothing unless the channel verified it or the tenant signed it (domain.identity); the
rules are there, the loading and publishing here.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import structlog

from relais_context_store.adapters.customer_directory import CustomerDirectory
from relais_context_store.adapters.identity_secrets import IdentitySecrets
from relais_context_store.domain.identity import (
    CustomerResolution,
    address_identity,
    check_signature,
    claim_id,
    confirm_claim,
    identity_key,
    resolve_customer,
    split_identities,
)
from relais_context_store.domain.resolution import SOURCE, new_customer_id
from relais_context_store.metrics import IDENTITY_CLAIMS, IDENTITY_CONFLICTS, IDENTITY_SIGNATURES
from relais_context_store.settings import ContextStoreSettings
from relais_contracts import Event, Outgoing, now_time, topics
from relais_contracts.channel import MessageReceived, SessionEnded
from relais_contracts.customers import (
    Identity,
    IdentityConfirmed,
    IdentityConfirmedData,
    IdentityLinked,
    IdentityLinkedData,
    IdentityUnlinked,
    IdentityUnlinkedData,
)
from relais_platform.kafka import Publishes
from relais_platform.logs import bound_to

log = structlog.get_logger(__name__)


class CustomerNotFound(LookupError):
    pass


class IdentityTaken(ValueError):
    """The identity belongs to another customer: never merged silently."""


class IdentityNotLinked(LookupError):
    pass


class ClaimNotFound(LookupError):
    pass


@dataclass
class Resolutions:
    customers: dict[str, CustomerResolution] = field(default_factory=dict)  # by inbound event id
    links: dict[tuple[str, str], str] = field(default_factory=dict)  # (tenant, identity key) -> customer


def hints_proven(
    event: MessageReceived, secrets: IdentitySecrets, settings: ContextStoreSettings, now: datetime
) -> bool:
    """Whether the message's hints are the customer's: verified by the channel, or signed by the tenant."""
    hints = event.data.identity
    if hints is None:
        return False
    if hints.verified:
        return True
    check = check_signature(
        event.tenant, hints, secrets.of(event.tenant), now, settings.identity_signature_max_age_s
    )
    if check != "absent":
        IDENTITY_SIGNATURES.labels(event.tenant, check).inc()
    if check not in ("valid", "absent"):
        with bound_to(event):
            log.warning("identity signature refused; the hints count as claimed", result=check)
    return check == "valid"


async def resolve_customers(
    events: Sequence[Event],
    directory: CustomerDirectory,
    secrets: IdentitySecrets,
    settings: ContextStoreSettings,
    now: datetime,
) -> Resolutions:
    """The customer of each inbound message (and of each session end whose address is known), in order:
    links made earlier in the batch count for later messages."""
    region = settings.default_phone_region
    proven: dict[str, list[Identity]] = {}
    claimed: dict[str, list[Identity]] = {}
    for e in events:
        if isinstance(e, MessageReceived):
            trusted = hints_proven(e, secrets, settings, now)
            d = e.data
            proven[e.uid], claimed[e.uid] = split_identities(
                d.channel, d.from_.address, d.identity, region, trusted
            )
        elif isinstance(e, SessionEnded):
            proven[e.uid] = [address_identity(e.data.channel, e.data.from_.address, region)]
    owners: dict[str, dict[str, str]] = {}  # tenant -> identity key -> customer
    for tenant in {e.tenant for e in events if e.uid in proven}:
        keys = [
            identity_key(i)
            for e in events
            if e.tenant == tenant
            for i in (*proven.get(e.uid, ()), *claimed.get(e.uid, ()))
        ]
        owners[tenant] = await directory.owners(tenant, keys)

    found = Resolutions()
    for e in events:
        if isinstance(e, MessageReceived):
            resolution = resolve_customer(proven[e.uid], owners[e.tenant], new_customer_id(e), claimed[e.uid])
            found.customers[e.uid] = resolution
            for identity in resolution.new_links:
                owners[e.tenant][identity_key(identity)] = resolution.customer_id
                found.links[(e.tenant, identity_key(identity))] = resolution.customer_id
            _observe(e, resolution)
        elif isinstance(e, SessionEnded):
            owner = owners[e.tenant].get(identity_key(proven[e.uid][0]))
            if owner:
                found.customers[e.uid] = CustomerResolution(owner, (), ())
    return found


def _observe(event: MessageReceived, resolution: CustomerResolution) -> None:
    if resolution.conflicts:
        IDENTITY_CONFLICTS.labels(event.tenant).inc(len(resolution.conflicts))
        with bound_to(event):
            log.warning(
                "verified identity hints name another customer; recorded, not merged",
                customer_id=resolution.customer_id,
                others=sorted({c.other_customer_id for c in resolution.conflicts}),
            )
    owned = [c for c in resolution.claims if c.other_customer_id]
    if owned:
        with bound_to(event):
            log.warning(
                "unproven identity hints name another customer; recorded as a claim, not linked",
                customer_id=resolution.customer_id,
                others=sorted({c.other_customer_id or "" for c in owned}),
            )
    for claim in resolution.claims:
        IDENTITY_CLAIMS.labels(event.tenant, "yes" if claim.other_customer_id else "no").inc()


# -- operators' use cases (the API)


async def _write(
    directory: CustomerDirectory,
    publisher: Publishes,
    events: Sequence[IdentityLinked | IdentityUnlinked | IdentityConfirmed],
) -> None:
    """The log first, then the views (so the caller reads its own write); the materializer applies the
    same events again from the log and drops them as already applied."""
    await publisher.publish([Outgoing(topics.CONVERSATIONS, e.tenant, e) for e in events])
    await directory.apply_identities(events)


def _event_fields(tenant: str, customer_id: str) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "source": SOURCE,
        "time": now_time(),
        "tenant": tenant,
        "subject": customer_id,
    }


async def _owner(directory: CustomerDirectory, tenant: str, identity: Identity) -> str | None:
    return (await directory.owners(tenant, [identity_key(identity)])).get(identity_key(identity))


async def link_identity(
    directory: CustomerDirectory, publisher: Publishes, tenant: str, customer_id: str, identity: Identity
) -> IdentityLinked:
    """An operator links an identity to a customer; refused if it is someone else's."""
    if await directory.customer(tenant, customer_id) is None:
        raise CustomerNotFound(f"no customer {customer_id!r} for tenant {tenant!r}")
    owner = await _owner(directory, tenant, identity)
    if owner not in (None, customer_id):
        raise IdentityTaken(
            f"the {identity.kind} {identity.value!r} belongs to customer {owner!r}; unlink it there first"
        )
    event = IdentityLinked(
        **_event_fields(tenant, customer_id), data=IdentityLinkedData(identities=(identity,), origin="api")
    )
    await _write(directory, publisher, [event])
    return event


async def unlink_identity(
    directory: CustomerDirectory, publisher: Publishes, tenant: str, customer_id: str, identity: Identity
) -> IdentityUnlinked:
    """An operator detaches an identity; the customer's next message with it starts a new customer."""
    if await _owner(directory, tenant, identity) != customer_id:
        raise IdentityNotLinked(
            f"the {identity.kind} {identity.value!r} is not linked to customer {customer_id!r}"
        )
    event = IdentityUnlinked(
        **_event_fields(tenant, customer_id), data=IdentityUnlinkedData(identities=(identity,))
    )
    await _write(directory, publisher, [event])
    return event


async def confirm_identity_claim(
    directory: CustomerDirectory,
    publisher: Publishes,
    tenant: str,
    customer_id: str,
    claim: str,
    confirmed_by: str,
    role: Literal["agent", "supervisor", "operator"],
    reason: str | None = None,
    via: str | None = None,
) -> IdentityConfirmed:
    """A person vouches for a customer's claim (by its id): the audit event, then the links it makes."""
    view = await directory.customer(tenant, customer_id)
    if view is None:
        raise CustomerNotFound(f"no customer {customer_id!r} for tenant {tenant!r}")
    recorded = next((c for c in view["claims"] if c["id"] == claim), None)
    if recorded is None:
        raise ClaimNotFound(f"customer {customer_id!r} has no pending claim {claim!r}")
    claimed = Identity.model_validate(recorded["identity"])
    owned = [Identity.model_validate(i) for i in view["identities"]]
    decision = confirm_claim(customer_id, claimed, await _owner(directory, tenant, claimed), owned)
    confirmed = IdentityConfirmed(
        **_event_fields(tenant, customer_id),
        data=IdentityConfirmedData(
            identity=claimed,
            customer_id=decision.customer_id,
            moved=decision.unlink_from_claimant,
            confirmed_by=confirmed_by,
            role=role,
            reason=reason,
            via=via,
        ),
    )
    events: list[IdentityLinked | IdentityUnlinked | IdentityConfirmed] = [confirmed]
    if decision.unlink_from_claimant:
        events.append(
            IdentityUnlinked(
                **_event_fields(tenant, customer_id),
                data=IdentityUnlinkedData(identities=decision.unlink_from_claimant),
            )
        )
    if decision.link:
        events.append(
            IdentityLinked(
                **_event_fields(tenant, decision.customer_id),
                data=IdentityLinkedData(identities=decision.link, origin="confirmed"),
            )
        )
    await _write(directory, publisher, events)
    with bound_to(confirmed):
        log.info(
            "identity claim confirmed",
            claim=claim_id(claimed),
            customer_id=decision.customer_id,
            confirmed_by=confirmed_by,
            role=role,
            via=via,
        )
    return confirmed

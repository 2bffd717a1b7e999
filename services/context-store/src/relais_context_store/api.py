"""HTTP API of the context store: conversations, customers, identity lookup and links, erasure, rebuild.

Every tenant call is scoped to the `X-Relais-Tenant` of the caller: another tenant's conversation or
customer is simply not found. The admin calls (rebuild) take a bearer token instead.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field

from relais_context_store.adapters.views import ConversationViews
from relais_context_store.domain.identity import identity_key, normalise_email, normalise_phone
from relais_context_store.domain.resolution import SOURCE
from relais_context_store.domain.timeline import ROUTED_STATES
from relais_context_store.rebuild import RebuildReport, rebuild
from relais_context_store.settings import ContextStoreSettings
from relais_contracts import TENANT_MAX_LENGTH, TENANT_PATTERN, Outgoing, now_time, topics
from relais_contracts.customers import (
    CustomerErased,
    CustomerErasedData,
    Identity,
    IdentityKind,
    IdentityLinked,
    IdentityLinkedData,
    IdentityUnlinked,
    IdentityUnlinkedData,
)
from relais_contracts.routing import WorkCancelled, WorkCancelledData
from relais_platform.kafka import Publisher
from relais_platform.runtime import require_admin
from relais_platform.sealing import CustomerKeys

TENANT_HEADER = "X-Relais-Tenant"


def _views(request: Request) -> ConversationViews:
    views: ConversationViews = request.app.state.views
    return views


def _publisher(request: Request) -> Publisher:
    publisher: Publisher = request.app.state.runtime.publisher
    return publisher


Views = Annotated[ConversationViews, Depends(_views)]
PublisherDep = Annotated[Publisher, Depends(_publisher)]
Tenant = Annotated[
    str,
    Header(
        alias=TENANT_HEADER,
        min_length=1,
        max_length=TENANT_MAX_LENGTH,
        pattern=TENANT_PATTERN,
        description="The caller's tenant; a conversation or customer of another tenant is not found.",
    ),
]


async def _exclusive(request: Request) -> AsyncIterator[None]:
    """Hold the lock of the log and inbound handlers: a batch in flight must not re-create an erased
    customer's key, or re-link identities being changed here (within this process)."""
    lock: asyncio.Lock = request.app.state.lock
    async with lock:
        yield


# Conversation and customer ids are uuids (or an integrator's reference): anything else is a 422, not a
# lookup of some other key.
EntityId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")]

conversations = APIRouter(prefix="/v1", tags=["conversations"])
customers = APIRouter(prefix="/v1", tags=["customers"])
admin = APIRouter(prefix="/v1/admin", tags=["admin"])


class ConversationOut(BaseModel):
    """A conversation as the API returns it (fields of later states are absent until they happen)."""

    id: str
    tenant: str
    state: Literal["bot", "waiting", "offered", "assigned", "wrapped_up", "closed"]
    opened_at: str
    updated_at: str
    channel: str = Field(description="the channel it opened on")
    last_channel: str = Field(description="where the customer wrote last: replies go there")
    last_address: str
    channels: list[str]
    customer_id: str
    customer_name: str
    participants: list[dict[str, Any]]
    agent_id: str | None = None
    handoff: dict[str, Any] | None = Field(default=None, description="the bot's handoff packet")
    closed_at: str | None = None
    closed_reason: str | None = None
    customer_left_at: str | None = None
    timeline: list[dict[str, Any]] = Field(
        description="every message and event once, in log order; bot and agent messages carry their "
        "`delivery` status once the channel reported it"
    )


@conversations.get(
    "/conversations/{conversation_id}",
    response_model=ConversationOut,
    responses={404: {"description": "no such conversation for this tenant"}},
)
async def get_conversation(conversation_id: EntityId, tenant: Tenant, views: Views) -> Response:
    """A conversation: state, channels, participants, handoff packet and the whole timeline in order."""
    body = await views.conversation_json(tenant, conversation_id)
    if body is None:
        raise HTTPException(404, f"no conversation {conversation_id!r} for tenant {tenant!r}")
    return Response(body, media_type="application/json")


class ReplyChannelsOut(BaseModel):
    last_channel: str = Field(description="where a reply without a channel goes")
    channels: list[str] = Field(description="every channel a reply can go out on (an address is known)")


@conversations.get(
    "/conversations/{conversation_id}/reply-channels",
    response_model=ReplyChannelsOut,
    responses={404: {"description": "no such conversation for this tenant"}},
)
async def get_reply_channels(conversation_id: EntityId, tenant: Tenant, views: Views) -> dict[str, Any]:
    """The channels a reply in this conversation can be delivered on; the agent gateway refuses a reply
    on any other before posting it (a reply posted anyway is recorded as a failed delivery)."""
    found = await views.reply_channels(tenant, conversation_id)
    if found is None:
        raise HTTPException(404, f"no conversation {conversation_id!r} for tenant {tenant!r}")
    return found


@conversations.get("/conversations/{conversation_id}/timeline")
async def get_timeline(conversation_id: EntityId, tenant: Tenant, views: Views) -> list[dict[str, Any]]:
    """Just the timeline: every message and event of the conversation, once, in order."""
    view = await views.conversation(tenant, conversation_id)
    if view is None:
        raise HTTPException(404, f"no conversation {conversation_id!r} for tenant {tenant!r}")
    timeline: list[dict[str, Any]] = view["timeline"]
    return timeline


async def _customer(views: ConversationViews, tenant: str, customer_id: str) -> dict[str, Any]:
    view = await views.customer(tenant, customer_id)
    if view is None:
        raise HTTPException(404, f"no customer {customer_id!r} for tenant {tenant!r}")
    return view


_SUMMARY = ("state", "opened_at", "closed_at", "closed_reason", "last_channel", "agent_id")


@customers.get("/customers/{customer_id}")
async def get_customer(customer_id: EntityId, tenant: Tenant, views: Views) -> dict[str, Any]:
    """A customer: identities, recorded identity conflicts, open conversation, every conversation."""
    view = await _customer(views, tenant, customer_id)
    found = await views.conversation_fields(((tenant, c) for c in view["conversations"]), *_SUMMARY)
    view["conversations"] = [{"id": c, **found.get((tenant, c), {})} for c in view["conversations"]]
    return view


@customers.get("/customers/{customer_id}/timeline")
async def get_customer_timeline(customer_id: EntityId, tenant: Tenant, views: Views) -> list[dict[str, Any]]:
    """Everything the customer said and was told, across channels and conversations, oldest first."""
    view = await _customer(views, tenant, customer_id)
    entries: list[dict[str, Any]] = []
    for cid in view["conversations"]:
        conversation = await views.conversation(tenant, cid)
        if conversation is not None:
            entries += [{"conversation_id": cid, **e} for e in conversation["timeline"]]
    return entries


def _identity(
    kind: IdentityKind, value: str, channel: str | None, settings: ContextStoreSettings
) -> Identity:
    """The normalised identity, or a 422 that says what is wrong with it."""
    normalised: str | None = value.strip()
    if kind == "phone":
        normalised = normalise_phone(value, settings.default_phone_region)
    elif kind == "email":
        normalised = normalise_email(value)
    if not normalised:
        raise HTTPException(422, f"{value!r} is not a valid {kind}")
    if (kind == "address") != (channel is not None):
        raise HTTPException(422, "`channel` is required for an address identity, and only for one")
    return Identity(kind=kind, value=normalised, channel=channel)


@customers.get("/lookup")
async def lookup(
    request: Request,
    tenant: Tenant,
    views: Views,
    kind: Annotated[IdentityKind, Query(description="phone, email, customer_ref or address")],
    value: Annotated[str, Query(min_length=1, max_length=320)],
    channel: Annotated[str | None, Query(max_length=32, description="the channel of an address")] = None,
) -> dict[str, Any]:
    """Who this identity is: the customer, and their open conversation if they have one."""
    identity = _identity(kind, value, channel, request.app.state.settings)
    owner = (await views.owners(tenant, [identity_key(identity)])).get(identity_key(identity))
    if owner is None:
        raise HTTPException(404, f"no customer of tenant {tenant!r} has the {kind} {identity.value!r}")
    view = await views.customer(tenant, owner)
    return {"customer_id": owner, "identity": identity.model_dump(exclude_none=True),
            "open_conversation": view["open_conversation"] if view else None}  # fmt: skip


class IdentityIn(BaseModel):
    kind: IdentityKind
    value: str = Field(min_length=1, max_length=320)
    channel: str | None = Field(default=None, min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")


@customers.post("/customers/{customer_id}/identities", status_code=201, dependencies=[Depends(_exclusive)])
async def link_identity(
    customer_id: EntityId,
    body: IdentityIn,
    request: Request,
    tenant: Tenant,
    views: Views,
    publisher: PublisherDep,
) -> dict[str, Any]:
    """Link an identity to a customer. 409 if it already belongs to someone else: never merged silently."""
    await _customer(views, tenant, customer_id)
    identity = _identity(body.kind, body.value, body.channel, request.app.state.settings)
    owner = (await views.owners(tenant, [identity_key(identity)])).get(identity_key(identity))
    if owner not in (None, customer_id):
        raise HTTPException(
            409,
            f"the {identity.kind} {identity.value!r} belongs to customer {owner!r}; unlink it there first",
        )
    event = IdentityLinked(
        id=str(uuid.uuid4()), source=SOURCE, time=now_time(), tenant=tenant, subject=customer_id,
        data=IdentityLinkedData(identities=(identity,), origin="api"),
    )  # fmt: skip
    await publisher.publish([Outgoing(topics.CONVERSATIONS, tenant, event)])
    await views.apply_identities(event)
    return {
        "customer_id": customer_id,
        "identity": identity.model_dump(exclude_none=True),
        "event_id": event.id,
    }


@customers.delete(
    "/customers/{customer_id}/identities/{kind}/{value}", status_code=204, dependencies=[Depends(_exclusive)]
)
async def unlink_identity(
    customer_id: EntityId,
    kind: IdentityKind,
    value: str,
    request: Request,
    tenant: Tenant,
    views: Views,
    publisher: PublisherDep,
    channel: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """Detach an identity from a customer; their next message with it starts a new customer."""
    identity = _identity(kind, value, channel, request.app.state.settings)
    owner = (await views.owners(tenant, [identity_key(identity)])).get(identity_key(identity))
    if owner != customer_id:
        raise HTTPException(404, f"the {kind} {identity.value!r} is not linked to customer {customer_id!r}")
    event = IdentityUnlinked(
        id=str(uuid.uuid4()), source=SOURCE, time=now_time(), tenant=tenant, subject=customer_id,
        data=IdentityUnlinkedData(identities=(identity,)),
    )  # fmt: skip
    await publisher.publish([Outgoing(topics.CONVERSATIONS, tenant, event)])
    await views.apply_identities(event)
    return Response(status_code=204)


@customers.delete("/customers/{customer_id}", dependencies=[Depends(require_admin), Depends(_exclusive)])
async def erase_customer(
    customer_id: EntityId, request: Request, tenant: Tenant, views: Views, publisher: PublisherDep
) -> dict[str, Any]:
    """Right to erasure (admin bearer token): destroy the customer's key (their sealed text in the log
    becomes unreadable), stop routing their conversations, delete every view of them."""
    view = await _customer(views, tenant, customer_id)
    keys: CustomerKeys = request.app.state.keys
    key_destroyed = await keys.destroy(tenant, customer_id)
    states = await views.conversation_fields(((tenant, c) for c in view["conversations"]), "state")
    at = now_time()
    cancel = [cid for (_, cid), fields in states.items() if fields.get("state") in ROUTED_STATES]
    out = [
        Outgoing(
            topics.ROUTING,
            tenant,
            WorkCancelled(
                id=str(uuid.uuid4()),
                source=SOURCE,
                time=at,
                tenant=tenant,
                data=WorkCancelledData(conversation_id=cid, reason="closed"),
            ),
        )
        for cid in cancel
    ]
    erased = CustomerErased(
        id=str(uuid.uuid4()), source=SOURCE, time=at, tenant=tenant, subject=customer_id,
        data=CustomerErasedData(conversation_ids=tuple(view["conversations"])),
    )  # fmt: skip
    out.append(Outgoing(topics.CONVERSATIONS, tenant, erased))
    await publisher.publish(out)
    conversations_erased = await views.erase_customer(tenant, customer_id, view["conversations"])
    return {
        "customer_id": customer_id,
        "conversations": conversations_erased,
        "key_destroyed": key_destroyed,
        "event_id": erased.id,
    }


class RebuildOut(BaseModel):
    status: Literal["rebuilt"] = "rebuilt"
    keys_deleted: int
    events_replayed: int
    skipped: int
    partitions: dict[int, int]
    seconds: float


@admin.post("/rebuild", dependencies=[Depends(require_admin)])
async def rebuild_views(request: Request) -> RebuildOut:
    """Wipe every view and replay the conversation log from the beginning, up to the offsets the views
    had applied; live consumption in this process waits until it is done."""
    lock: asyncio.Lock = request.app.state.lock
    async with lock:
        report: RebuildReport = await rebuild(
            request.app.state.settings, request.app.state.views, request.app.state.log_handler
        )
    return RebuildOut(**asdict(report))

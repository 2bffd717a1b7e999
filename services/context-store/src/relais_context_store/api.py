"""HTTP API of the context store: conversations, customers, identity lookup, links and claims, erasure,
rebuild. The use cases are in service_layer; this module parses requests and maps their errors.

Every tenant call is scoped to the `X-Relais-Tenant` of the caller: another tenant's conversation or
customer is simply not found. The admin calls (rebuild) take a bearer token instead.
"""

from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field

from relais_context_store.adapters.conversation_log import ConversationLog
from relais_context_store.adapters.customer_directory import CustomerDirectory
from relais_context_store.adapters.view_queries import ViewQueries
from relais_context_store.domain.identity import normalise_email, normalise_phone
from relais_context_store.rebuild import RebuildReport, rebuild
from relais_context_store.service_layer import erasure
from relais_context_store.service_layer import identity as identity_cases
from relais_context_store.service_layer.sealing import LogSealing
from relais_context_store.service_layer.store_lock import StoreLock
from relais_context_store.settings import ContextStoreSettings
from relais_contracts import TENANT_MAX_LENGTH, TENANT_PATTERN
from relais_contracts.customers import Identity, IdentityKind
from relais_platform.kafka import Publisher, Publishes
from relais_platform.runtime import require_admin

TENANT_HEADER = "X-Relais-Tenant"


def _queries(request: Request) -> ViewQueries:
    queries: ViewQueries = request.app.state.queries
    return queries


def _directory(request: Request) -> CustomerDirectory:
    directory: CustomerDirectory = request.app.state.directory
    return directory


def _log(request: Request) -> ConversationLog:
    log: ConversationLog = request.app.state.log
    return log


def _publisher(request: Request) -> Publisher:
    publisher: Publisher = request.app.state.runtime.publisher
    return publisher


Queries = Annotated[ViewQueries, Depends(_queries)]
Directory = Annotated[CustomerDirectory, Depends(_directory)]
Log = Annotated[ConversationLog, Depends(_log)]
PublisherDep = Annotated[Publisher, Depends(_publisher)]


def _identity_publisher(request: Request) -> Publishes:
    """The publisher of identity events: for the tenants that seal, their identities leave sealed."""
    sealing: LogSealing = request.app.state.sealing
    return sealing.publisher(request.app.state.runtime.publisher)


IdentityPublisher = Annotated[Publishes, Depends(_identity_publisher)]
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
    """Hold the store alone, with no batch of the log and inbound handlers in flight: one must not
    re-create an erased customer's key, or re-link identities being changed here (within this process)."""
    lock: StoreLock = request.app.state.lock
    async with lock.exclusive():
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
    claims: list[dict[str, Any]] = Field(
        default=[],
        description="identities the customer claimed without proof, pending an agent's confirmation: "
        "masked (`masked`), with the `id` to confirm one by",
    )
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
async def get_conversation(conversation_id: EntityId, tenant: Tenant, queries: Queries) -> Response:
    """A conversation: state, channels, participants, handoff packet and the whole timeline in order."""
    body = await queries.conversation_json(tenant, conversation_id)
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
async def get_reply_channels(conversation_id: EntityId, tenant: Tenant, queries: Queries) -> dict[str, Any]:
    """The channels a reply in this conversation can be delivered on; the agent gateway refuses a reply
    on any other before posting it (a reply posted anyway is recorded as a failed delivery)."""
    found = await queries.reply_channels(tenant, conversation_id)
    if found is None:
        raise HTTPException(404, f"no conversation {conversation_id!r} for tenant {tenant!r}")
    return found


@conversations.get("/conversations/{conversation_id}/timeline")
async def get_timeline(conversation_id: EntityId, tenant: Tenant, queries: Queries) -> list[dict[str, Any]]:
    """Just the timeline: every message and event of the conversation, once, in order."""
    view = await queries.conversation(tenant, conversation_id)
    if view is None:
        raise HTTPException(404, f"no conversation {conversation_id!r} for tenant {tenant!r}")
    timeline: list[dict[str, Any]] = view["timeline"]
    return timeline


def _no_customer(tenant: str, customer_id: str) -> HTTPException:
    return HTTPException(404, f"no customer {customer_id!r} for tenant {tenant!r}")


@customers.get("/customers/{customer_id}")
async def get_customer(customer_id: EntityId, tenant: Tenant, queries: Queries) -> dict[str, Any]:
    """A customer: identities, recorded identity conflicts, open conversation, every conversation."""
    view = await queries.customer(tenant, customer_id)
    if view is None:
        raise _no_customer(tenant, customer_id)
    return view


@customers.get("/customers/{customer_id}/timeline")
async def get_customer_timeline(
    customer_id: EntityId, tenant: Tenant, queries: Queries
) -> list[dict[str, Any]]:
    """Everything the customer said and was told, across channels and conversations, oldest first."""
    entries = await queries.customer_timeline(tenant, customer_id)
    if entries is None:
        raise _no_customer(tenant, customer_id)
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
    queries: Queries,
    kind: Annotated[IdentityKind, Query(description="phone, email, customer_ref or address")],
    value: Annotated[str, Query(min_length=1, max_length=320)],
    channel: Annotated[str | None, Query(max_length=32, description="the channel of an address")] = None,
) -> dict[str, Any]:
    """Who this identity is: the customer, and their open conversation if they have one."""
    identity = _identity(kind, value, channel, request.app.state.settings)
    found = await queries.lookup(tenant, identity)
    if found is None:
        raise HTTPException(404, f"no customer of tenant {tenant!r} has the {kind} {identity.value!r}")
    return found


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
    directory: Directory,
    publisher: IdentityPublisher,
) -> dict[str, Any]:
    """Link an identity to a customer. 409 if it already belongs to someone else: never merged silently."""
    identity = _identity(body.kind, body.value, body.channel, request.app.state.settings)
    try:
        event = await identity_cases.link_identity(directory, publisher, tenant, customer_id, identity)
    except identity_cases.CustomerNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except identity_cases.IdentityTaken as exc:
        raise HTTPException(409, str(exc)) from None
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
    directory: Directory,
    publisher: IdentityPublisher,
    channel: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """Detach an identity from a customer; their next message with it starts a new customer."""
    identity = _identity(kind, value, channel, request.app.state.settings)
    try:
        await identity_cases.unlink_identity(directory, publisher, tenant, customer_id, identity)
    except identity_cases.IdentityNotLinked as exc:
        raise HTTPException(404, str(exc)) from None
    return Response(status_code=204)


class ConfirmationIn(BaseModel):
    confirmed_by: str = Field(
        min_length=1, max_length=200, description="the agent or supervisor who vouches for the claim"
    )
    role: Literal["agent", "supervisor", "operator"] = "agent"
    reason: str | None = Field(default=None, max_length=500, description="how they checked, for the audit")


@customers.post(
    "/customers/{customer_id}/claims/{claim_id}/confirm",
    dependencies=[Depends(_exclusive)],
    responses={404: {"description": "no such customer, or no such pending claim"}},
)
async def confirm_claim(
    customer_id: EntityId,
    claim_id: Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")],
    body: ConfirmationIn,
    request: Request,
    tenant: Tenant,
    directory: Directory,
    publisher: IdentityPublisher,
) -> dict[str, Any]:
    """Confirm a customer's claimed identity (after checking it with them): it is linked, and written
    to the log as a `relais.customer.identity.confirmed` audit event saying who confirmed it. A claim
    of another customer's identity moves this customer's identities to that customer."""
    try:
        event = await identity_cases.confirm_identity_claim(
            directory, publisher, tenant, customer_id, claim_id, body.confirmed_by, body.role, body.reason,
            via=request.state.caller.name,
        )  # fmt: skip
    except (identity_cases.CustomerNotFound, identity_cases.ClaimNotFound) as exc:
        raise HTTPException(404, str(exc)) from None
    assert event.data.identity is not None  # the event as written, in clear (only the log's copy is sealed)
    return {
        "customer_id": event.data.customer_id,
        "identity": event.data.identity.model_dump(exclude_none=True),
        "moved": [i.model_dump(exclude_none=True) for i in event.data.moved],
        "event_id": event.id,
    }


@customers.delete("/customers/{customer_id}", dependencies=[Depends(require_admin), Depends(_exclusive)])
async def erase_customer(
    customer_id: EntityId,
    request: Request,
    tenant: Tenant,
    directory: Directory,
    log: Log,
    publisher: PublisherDep,
) -> dict[str, Any]:
    """Right to erasure (admin bearer token): destroy the customer's key (their sealed text in the log
    becomes unreadable), stop routing their conversations, delete every view of them."""
    erased = await erasure.erase_customer(
        directory, log, request.app.state.keys, publisher, tenant, customer_id
    )
    if erased is None:
        raise HTTPException(404, f"no customer {customer_id!r} for tenant {tenant!r}")
    return {
        "customer_id": erased.customer_id,
        "conversations": erased.conversations,
        "key_destroyed": erased.key_destroyed,
        "event_id": erased.event_id,
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
    lock: StoreLock = request.app.state.lock
    async with lock.exclusive():
        report: RebuildReport = await rebuild(
            request.app.state.settings, request.app.state.log, request.app.state.log_handler
        )
    return RebuildOut(**asdict(report))

"""Read API of the router: what waits, what is offered, and the agents, per tenant."""

from datetime import datetime
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel

from relais_contracts import TENANT_MAX_LENGTH, TENANT_PATTERN
from relais_router.adapters.tenant_states import TenantStates
from relais_router.domain import RouterState


def _states(request: Request) -> TenantStates:
    return cast(TenantStates, request.app.state.tenant_states)


async def _tenant_state(
    states: Annotated[TenantStates, Depends(_states)],
    tenant: Annotated[str, Path(min_length=1, max_length=TENANT_MAX_LENGTH, pattern=TENANT_PATTERN)],
) -> RouterState:
    return await states.load(tenant)


TenantState = Annotated[RouterState, Depends(_tenant_state)]


class WaitingItem(BaseModel):
    conversation_id: str
    channel: str
    queue: str
    priority: int
    enqueued_at: datetime
    position: int


class OpenOffer(BaseModel):
    offer_id: str
    conversation_id: str
    agent_id: str
    channel: str
    offered_at: datetime


class Queues(BaseModel):
    tenant: str
    waiting: list[WaitingItem]
    offers: list[OpenOffer]


class AgentView(BaseModel):
    agent_id: str
    name: str | None
    presence: str
    capacity: dict[str, int]
    load: int
    load_by_channel: dict[str, int]


class Agents(BaseModel):
    tenant: str
    agents: list[AgentView]


router = APIRouter(prefix="/v1/tenants/{tenant}", tags=["routing"])


@router.get("/queues")
async def queues(state: TenantState) -> Queues:
    """Waiting conversations in queue order, and the open offers (oldest first)."""
    return Queues(
        tenant=state.tenant,
        waiting=[
            WaitingItem(
                conversation_id=item.conversation_id,
                channel=item.channel,
                queue=item.packet.queue,
                priority=item.packet.priority,
                enqueued_at=item.enqueued_at,
                position=position,
            )
            for position, item in enumerate(state.queue, start=1)
        ],
        offers=[
            OpenOffer(
                offer_id=o.offer_id,
                conversation_id=o.conversation_id,
                agent_id=o.agent_id,
                channel=o.item.channel,
                offered_at=o.offered_at,
            )
            for o in sorted(state.offers.values(), key=lambda o: (o.offered_at, o.offer_id))
        ],
    )


@router.get("/agents")
async def agents(state: TenantState) -> Agents:
    """The tenant's agents by id, with presence, capacity and current load."""
    return Agents(
        tenant=state.tenant,
        agents=[
            AgentView(
                agent_id=a.id,
                name=a.name,
                presence=a.presence,
                capacity=a.capacity,
                load=a.total_load,
                load_by_channel=a.load,
            )
            for a in sorted(state.agents.values(), key=lambda a: a.id)
        ],
    )

"""HTTP read API of the context store: conversations and their timelines, scoped to the caller's tenant."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request

from relais_context_store.adapters.views import ConversationViews
from relais_contracts import TENANT_MAX_LENGTH, TENANT_PATTERN

TENANT_HEADER = "X-Relais-Tenant"


def _views(request: Request) -> ConversationViews:
    views: ConversationViews = request.app.state.views
    return views


Views = Annotated[ConversationViews, Depends(_views)]
Tenant = Annotated[
    str,
    Header(
        alias=TENANT_HEADER,
        min_length=1,
        max_length=TENANT_MAX_LENGTH,
        pattern=TENANT_PATTERN,
        description="The caller's tenant; a conversation of another tenant is not found.",
    ),
]

router = APIRouter(prefix="/v1", tags=["conversations"])


@router.get("/conversations/{conversation_id}")
async def get_conversation(conversation_id: str, tenant: Tenant, views: Views) -> dict[str, Any]:
    """A conversation: state, channels, handoff packet and the whole timeline in order."""
    view = await views.conversation(tenant, conversation_id)
    if view is None:
        raise HTTPException(404, f"no conversation {conversation_id!r} for tenant {tenant!r}")
    return view


@router.get("/conversations/{conversation_id}/timeline")
async def get_timeline(conversation_id: str, tenant: Tenant, views: Views) -> list[dict[str, Any]]:
    """Just the timeline: every message and event of the conversation, once, in order."""
    view = await get_conversation(conversation_id, tenant, views)
    timeline: list[dict[str, Any]] = view["timeline"]
    return timeline

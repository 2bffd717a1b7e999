"""Right to erasure: destroy the customer's key, stop routing their conversations, delete their views.

Called by the API (an operator erases) and, for the `relais.customer.erased` event on the log, by the
materializer of every replica (ConversationLog.erase_customer, idempotent).
"""

import uuid
from dataclasses import dataclass

from relais_context_store.adapters.conversation_log import ConversationLog
from relais_context_store.adapters.customer_directory import CustomerDirectory
from relais_context_store.domain.resolution import SOURCE
from relais_context_store.domain.timeline import ROUTED_STATES
from relais_contracts import Outgoing, now_time, topics
from relais_contracts.customers import CustomerErased, CustomerErasedData
from relais_contracts.routing import WorkCancelled, WorkCancelledData
from relais_platform.kafka import Publishes
from relais_platform.sealing import CustomerKeys


@dataclass(frozen=True)
class Erasure:
    customer_id: str
    conversations: list[str]
    key_destroyed: bool
    event_id: str


async def erase_customer(
    directory: CustomerDirectory,
    log: ConversationLog,
    keys: CustomerKeys,
    publisher: Publishes,
    tenant: str,
    customer_id: str,
) -> Erasure | None:
    """Erase a customer of this tenant; None if there is no such customer."""
    view = await directory.customer(tenant, customer_id)
    if view is None:
        return None
    key_destroyed = await keys.destroy(tenant, customer_id)
    states = await log.conversation_fields(((tenant, c) for c in view["conversations"]), "state")
    at = now_time()
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
        for (_, cid), fields in states.items()
        if fields.get("state") in ROUTED_STATES
    ]
    erased = CustomerErased(
        id=str(uuid.uuid4()), source=SOURCE, time=at, tenant=tenant, subject=customer_id,
        data=CustomerErasedData(conversation_ids=tuple(view["conversations"])),
    )  # fmt: skip
    out.append(Outgoing(topics.CONVERSATIONS, tenant, erased))
    await publisher.publish(out)
    conversations = await log.erase_customer(tenant, customer_id, view["conversations"])
    return Erasure(customer_id, conversations, key_destroyed, erased.id)

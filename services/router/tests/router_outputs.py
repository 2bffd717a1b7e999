"""What the router's unit tests read from its outputs: every output of a run of events, the offers
made, the events of one kind. Importable as `router_outputs` because pytest's `pythonpath` names this
folder (conftest is not importable at run time; `make mutate` names its copy of the folder likewise)."""

from collections.abc import Iterable
from typing import Any

from relais_contracts import Event, Outgoing
from relais_contracts.agents import OfferCreated
from relais_router.domain import TenantRouter


def run(router: TenantRouter, events: Iterable[Event]) -> list[Outgoing]:
    return [out for event in events for out in router.apply(event)]


def offers(outputs: list[Outgoing]) -> list[tuple[str, str]]:
    """(conversation, agent) of each offer made."""
    return [(o.event.data.conversation_id, o.key) for o in outputs if isinstance(o.event, OfferCreated)]


def of_type(outputs: list[Outgoing], kind: type[Any]) -> list[Any]:
    return [o.event for o in outputs if isinstance(o.event, kind)]

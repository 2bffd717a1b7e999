"""Routing events for the router's tests, with small defaults, as fixtures."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from relais_contracts.conversation import Actor, HandoffPacket, TranscriptEntry
from relais_contracts.routing import (
    AgentReplied,
    AgentRepliedData,
    CustomerWrote,
    CustomerWroteData,
    OfferAccepted,
    OfferAnswerData,
    OfferRejected,
    PresenceChanged,
    PresenceChangedData,
    QueuesConfigured,
    QueuesConfiguredData,
    SupervisorMoveData,
    SupervisorMoveRequested,
    SupervisorPresenceData,
    SupervisorPresenceSet,
    SupervisorTakeBackData,
    SupervisorTakeBackRequested,
    TimerTick,
    TimerTickData,
    TransferRequested,
    TransferRequestedData,
    WorkCancelled,
    WorkCancelledData,
    WorkCompleted,
    WorkCompletedData,
    WorkSubmitted,
    WorkSubmittedData,
)
from relais_router.domain import TenantRouter

TENANT = "acme"
T0 = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
SUPERVISOR = Actor(id="sam", name="Sam")


class Events:
    """Makes events with increasing ids and times, as they would arrive on the routing topic."""

    def __init__(
        self, tenant: str = TENANT, prefix: str = "ev", start: datetime = T0, step: float = 1.0
    ) -> None:
        self.tenant = tenant
        self.prefix = prefix
        self.n = 0
        self.clock = start
        self.step = timedelta(seconds=step)

    def wait(self, seconds: float) -> None:
        """Let time pass before the next event."""
        self.clock += timedelta(seconds=seconds)

    def _envelope(self) -> dict[str, Any]:
        self.n += 1
        self.clock += self.step
        return {"id": f"{self.prefix}-{self.n}", "source": "tests", "time": self.clock, "tenant": self.tenant}

    def submit(
        self,
        conversation_id: str,
        channel: str = "webchat",
        *,
        queue: str = "general",
        language: str | None = None,
        skills: tuple[str, ...] = (),
        priority: int = 0,
        customer_id: str | None = None,
        preferred_agent_id: str | None = None,
    ) -> WorkSubmitted:
        packet = HandoffPacket(
            reason="asked-for-human",
            summary=f"customer of {conversation_id} wants a human",
            channels=(channel,),
            transcript=(
                TranscriptEntry(message_id="m1", author_kind="customer", text="a human please", at=T0),
            ),
            queue=queue,
            language=language,
            skills=skills,
            priority=priority,
            customer_id=customer_id,
        )
        return WorkSubmitted(
            **self._envelope(),
            data=WorkSubmittedData(
                conversation_id=conversation_id,
                channel=channel,
                packet=packet,
                preferred_agent_id=preferred_agent_id,
            ),
        )

    def presence(
        self,
        agent_id: str,
        presence: str = "available",
        capacity: dict[str, int] | None = None,
        *,
        skills: dict[str, int] | None = None,
        languages: tuple[str, ...] = (),
        total: int | None = None,
        away_reason: str | None = None,
    ) -> PresenceChanged:
        return PresenceChanged(
            **self._envelope(),
            data=PresenceChangedData(
                agent_id=agent_id,
                name=f"Agent {agent_id}",
                presence=presence,  # type: ignore[arg-type]
                capacity=capacity if capacity is not None else {"*": 1},
                total_capacity=total,
                skills=skills or {},
                languages=languages,
                away_reason=away_reason,
            ),
        )

    def cancel(self, conversation_id: str) -> WorkCancelled:
        return WorkCancelled(**self._envelope(), data=WorkCancelledData(conversation_id=conversation_id))

    def transfer(
        self, conversation_id: str, agent_id: str, *, to_queue: str | None = None, to_agent: str | None = None
    ) -> TransferRequested:
        return TransferRequested(
            **self._envelope(),
            data=TransferRequestedData(
                conversation_id=conversation_id, agent_id=agent_id, to_queue=to_queue, to_agent_id=to_agent
            ),
        )

    def move(
        self, conversation_id: str, *, to_queue: str | None = None, to_agent: str | None = None
    ) -> SupervisorMoveRequested:
        return SupervisorMoveRequested(
            **self._envelope(),
            data=SupervisorMoveData(
                conversation_id=conversation_id, by=SUPERVISOR, to_queue=to_queue, to_agent_id=to_agent
            ),
        )

    def take_back(self, conversation_id: str) -> SupervisorTakeBackRequested:
        return SupervisorTakeBackRequested(
            **self._envelope(), data=SupervisorTakeBackData(conversation_id=conversation_id, by=SUPERVISOR)
        )

    def set_presence(
        self, agent_id: str, presence: str, away_reason: str | None = None
    ) -> SupervisorPresenceSet:
        return SupervisorPresenceSet(
            **self._envelope(),
            data=SupervisorPresenceData.model_validate(
                {"agent_id": agent_id, "by": SUPERVISOR, "presence": presence, "away_reason": away_reason}
            ),
        )

    def tick(self) -> TimerTick:
        envelope = self._envelope()
        return TimerTick(**envelope, data=TimerTickData(due=envelope["time"]))

    def configure(self, config: dict[str, Any], digest: str | None = None) -> QueuesConfigured:
        return QueuesConfigured(
            **self._envelope(),
            data=QueuesConfiguredData(config=config, digest=digest or f"digest-{self.n}"),
        )

    def accept(self, offer_id: str, agent_id: str, conversation_id: str) -> OfferAccepted:
        return OfferAccepted(
            **self._envelope(),
            data=OfferAnswerData(offer_id=offer_id, agent_id=agent_id, conversation_id=conversation_id),
        )

    def reject(self, offer_id: str, agent_id: str, conversation_id: str) -> OfferRejected:
        return OfferRejected(
            **self._envelope(),
            data=OfferAnswerData(offer_id=offer_id, agent_id=agent_id, conversation_id=conversation_id),
        )

    def complete(self, conversation_id: str, agent_id: str, **data: Any) -> WorkCompleted:
        return WorkCompleted(
            **self._envelope(),
            data=WorkCompletedData(conversation_id=conversation_id, agent_id=agent_id, **data),
        )

    def replied(self, conversation_id: str, agent_id: str) -> AgentReplied:
        envelope = self._envelope()
        return AgentReplied(
            **envelope,
            data=AgentRepliedData(
                conversation_id=conversation_id, agent_id=agent_id, message_id=f"reply-{envelope['id']}"
            ),
        )

    def customer_wrote(self, conversation_id: str) -> CustomerWrote:
        envelope = self._envelope()
        return CustomerWrote(
            **envelope,
            data=CustomerWroteData(conversation_id=conversation_id, message_id=f"msg-{envelope['id']}"),
        )


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture(scope="session")
def new_events() -> Callable[..., Events]:
    """The factory itself, for property tests that need a fresh one per example."""
    return Events


@pytest.fixture
def router() -> TenantRouter:
    """A tenant's router with nothing configured yet (each test configures what it needs)."""
    return TenantRouter("acme")

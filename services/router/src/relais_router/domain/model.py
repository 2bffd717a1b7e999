"""What the router keeps about one tenant: agents, waiting work, open offers and assignments.

Plain mutable dataclasses: the engine changes them in place, because copying a tenant with 50,000
waiting conversations on every event would cost far more than a routing decision may take. Times are
epoch seconds taken from events, never from a clock.
"""

from dataclasses import dataclass, field

from relais_contracts.conversation import HandoffPacket, ResponseClock
from relais_contracts.routing import Presence

# Capacity key that covers every channel kind the agent's capacity does not name.
ANY_KIND = "*"


@dataclass(slots=True)
class Agent:
    id: str
    name: str | None = None
    presence: Presence = "offline"
    # Set after too many offers timed out in a row; cleared when the agent sets a presence again.
    not_responding: bool = False
    capacity: dict[str, int] = field(default_factory=dict)  # channel kind -> simultaneous conversations
    total_capacity: int | None = None
    skills: dict[str, int] = field(default_factory=dict)  # skill -> proficiency 1..5
    languages: tuple[str, ...] = ()  # empty: the agent takes any language
    # Offers and assignments both hold a slot, so an agent is never offered more than they could accept.
    load: dict[str, int] = field(default_factory=dict)
    away_reason: str | None = None  # why the agent is away, one of the tenant's away reasons
    missed: int = 0  # offers timed out in a row
    last_offered_at: float | None = None  # for "longest idle"

    @property
    def routable(self) -> bool:
        return self.presence == "available" and not self.not_responding

    @property
    def state(self) -> str:
        return "not-responding" if self.not_responding else self.presence

    def capacity_for(self, kind: str) -> int:
        return self.capacity.get(kind, self.capacity.get(ANY_KIND, 0))

    def load_for(self, kind: str) -> int:
        """Load in the capacity bucket of `kind`: kinds under "*" share one bucket."""
        if kind in self.capacity:
            return self.load.get(kind, 0)
        return sum(n for k, n in self.load.items() if k not in self.capacity)

    @property
    def total_load(self) -> int:
        return sum(self.load.values())

    def has_room(self, kind: str) -> bool:
        if self.total_capacity is not None and self.total_load >= self.total_capacity:
            return False
        return self.load_for(kind) < self.capacity_for(kind)

    @property
    def occupancy(self) -> float:
        slots = self.total_capacity or sum(self.capacity.values())
        return self.total_load / slots if slots else 1.0

    def add_load(self, kind: str, delta: int) -> None:
        n = max(0, self.load.get(kind, 0) + delta)
        if n:
            self.load[kind] = n
        else:
            self.load.pop(kind, None)


@dataclass(slots=True)
class WorkItem:
    """A conversation that needs a human, from hand-off to assignment."""

    conversation_id: str
    channel: str
    kind: str
    packet: HandoffPacket
    queue: str
    priority: int  # the queue's priority plus the hand-off's
    enqueued_at: float  # first entered routing: waits and the service level count from here
    queued_at: float  # entered its current queue: overflow rules count from here
    stage: int = 0  # overflow rules of the current queue applied so far
    preferred_agent: str | None = None
    reserved_until: float = 0.0  # before this, only the preferred agent may take it
    declined: dict[str, float] = field(default_factory=dict)  # agent -> when they rejected or missed it
    first_offered_at: float | None = None
    last_wait: tuple[int, int | None] | None = None  # last position and expected wait told
    wait_token: int = -1  # the one live "wait" timer of this item

    @property
    def customer_id(self) -> str | None:
        return self.packet.customer_id


@dataclass(slots=True)
class Offer:
    offer_id: str
    agent_id: str
    item: WorkItem
    offered_at: float
    expires_at: float


@dataclass(slots=True)
class Assignment:
    conversation_id: str
    agent_id: str
    kind: str
    queue: str
    offer_id: str
    assigned_at: float
    item: WorkItem  # kept for a transfer, which routes the same work again
    # Running response clocks (first-response, next-response, resolution) -> when each started.
    clocks: dict[ResponseClock, float] = field(default_factory=dict)
    # Running clock -> "warned" or "breached", once the agent's desk was told.
    alerts: dict[ResponseClock, str] = field(default_factory=dict)
    clock_token: int = -1  # the one live "clock" timer of this assignment
    # The clock whose breach alerted the supervisor (shown on their page until the agent answers).
    supervisor_alert: ResponseClock | None = None

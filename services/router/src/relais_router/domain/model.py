"""The routing state of one tenant: agents, waiting work, open offers and assignments.

Every model is frozen; `apply` builds a new state instead of changing one, so a caller's state never
moves under its feet and a state can be stored as JSON and compared for equality.
"""

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from relais_contracts.channel import Channel
from relais_contracts.conversation import HandoffPacket
from relais_contracts.routing import Presence

# Capacity key that covers every channel the agent's capacity does not name.
ANY_CHANNEL = "*"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Agent(_Frozen):
    id: str
    name: str | None = None
    presence: Presence = "offline"
    capacity: dict[Channel, int] = Field(default_factory=dict)
    skills: dict[str, int] = Field(default_factory=dict)
    languages: tuple[str, ...] = ()
    # Conversations offered to or assigned to the agent, per channel: both hold a slot of capacity,
    # so an agent is never offered more than they could accept.
    load: dict[Channel, int] = Field(default_factory=dict)
    # For the "longest idle" tie-break between agents with the same load.
    last_assigned_at: AwareDatetime | None = None

    def _bucket(self, channel: Channel) -> Channel | None:
        if channel in self.capacity:
            return channel
        return ANY_CHANNEL if ANY_CHANNEL in self.capacity else None

    def capacity_for(self, channel: Channel) -> int:
        bucket = self._bucket(channel)
        return 0 if bucket is None else self.capacity[bucket]

    def load_for(self, channel: Channel) -> int:
        """Load in the capacity bucket of `channel`: channels under "*" share one bucket."""
        bucket = self._bucket(channel)
        if bucket is None:
            return sum(n for ch, n in self.load.items() if ch == channel)
        return sum(n for ch, n in self.load.items() if self._bucket(ch) == bucket)

    def has_room_for(self, channel: Channel) -> bool:
        return self.load_for(channel) < self.capacity_for(channel)

    @property
    def total_load(self) -> int:
        return sum(self.load.values())

    def with_load(self, channel: Channel, delta: int) -> "Agent":
        load = dict(self.load)
        load[channel] = max(0, load.get(channel, 0) + delta)
        return self.model_copy(update={"load": {ch: n for ch, n in sorted(load.items()) if n}})


class WorkItem(_Frozen):
    """A conversation waiting for a human."""

    conversation_id: str
    channel: Channel
    packet: HandoffPacket
    enqueued_at: AwareDatetime
    # Agents who rejected it; kept sorted so the stored JSON does not depend on set order.
    declined_by: tuple[str, ...] = ()

    def declined(self, agent_id: str) -> "WorkItem":
        return self.model_copy(update={"declined_by": tuple(sorted({*self.declined_by, agent_id}))})


class Offer(_Frozen):
    offer_id: str
    agent_id: str
    item: WorkItem
    offered_at: AwareDatetime

    @property
    def conversation_id(self) -> str:
        return self.item.conversation_id


class Assignment(_Frozen):
    conversation_id: str
    agent_id: str
    channel: Channel
    offer_id: str
    assigned_at: AwareDatetime


class RouterState(_Frozen):
    """Everything the router knows about one tenant."""

    tenant: str
    agents: dict[str, Agent] = Field(default_factory=dict)
    queue: tuple[WorkItem, ...] = ()  # arrival order, oldest first
    offers: dict[str, Offer] = Field(default_factory=dict)  # by offer id
    assignments: dict[str, Assignment] = Field(default_factory=dict)  # by conversation id

    def position(self, conversation_id: str) -> int | None:
        """1-based place of a waiting conversation in the queue."""
        for i, item in enumerate(self.queue, start=1):
            if item.conversation_id == conversation_id:
                return i
        return None

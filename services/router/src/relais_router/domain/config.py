"""A tenant's routing configuration: its queues, their targets and overflow rules, and the offer policy.

It is loaded from a file per tenant by the shell and reaches the core as a `queues.configured` event on
the routing topic, so a replay routes with the configuration that was in force at the time.
"""

import itertools
from datetime import date, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from relais_contracts.conversation import BreachAction

Proficiency = Annotated[int, Field(ge=1, le=5)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
AgentCriterion = Literal["proficiency", "idle", "occupancy"]


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Overflow(_Config):
    """After `after_s` seconds in the queue, widen who may take the work. Exactly one action."""

    after_s: int = Field(ge=1)
    # Lower the minimum proficiency of one of the queue's skills.
    lower_skill: str | None = None
    to_proficiency: Proficiency | None = None
    # Agents who qualify for that other queue may take the work too.
    add_agents_of: str | None = None
    # Move the work to that queue (it keeps its original wait time and priority).
    move_to: str | None = None

    @model_validator(mode="after")
    def _one_action(self) -> "Overflow":
        actions = [self.lower_skill is not None, self.add_agents_of is not None, self.move_to is not None]
        if sum(actions) != 1:
            raise ValueError("an overflow rule takes exactly one of lower_skill, add_agents_of, move_to")
        if (self.lower_skill is None) != (self.to_proficiency is None):
            raise ValueError("lower_skill needs to_proficiency")
        return self


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


def _check_intervals(intervals: tuple[str, ...]) -> None:
    for interval in intervals:
        start, end = parse_interval(interval)
        if start >= end:
            raise ValueError(f"interval {interval!r} ends before it starts")


class Calendar(_Config):
    """A tenant's days that differ from the weekly hours, as local dates in `timezone`."""

    timezone: str = "UTC"
    # Date -> name: closed the whole day (public holidays, the company's own days off).
    holidays: dict[date, str] = Field(default_factory=dict)
    # Date -> that day's opening intervals instead of the weekly ones (an empty list: closed).
    exceptions: dict[date, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _known_zone(value)

    @field_validator("exceptions")
    @classmethod
    def _intervals(cls, value: dict[date, tuple[str, ...]]) -> dict[date, tuple[str, ...]]:
        for intervals in value.values():
            _check_intervals(intervals)
        return value


class OpeningHours(_Config):
    timezone: str = "UTC"
    # Weekday -> opening intervals "HH:MM-HH:MM"; a day that is not listed is closed.
    weekly: dict[Weekday, tuple[str, ...]]
    # What happens to work that arrives while closed: wait for the opening, tell the customer we are
    # closed (the bot takes them back), or go to another queue (e.g. a 24/7 partner).
    closed_action: Literal["queue", "dequeue", "move"] = "queue"
    closed_queue: str | None = None
    closed_message: str | None = Field(default=None, max_length=2000)
    # One of the tenant's `calendars`: its holidays and exception days apply to these hours.
    calendar: str | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _known_zone(value)

    @field_validator("weekly")
    @classmethod
    def _intervals(cls, value: dict[Weekday, tuple[str, ...]]) -> dict[Weekday, tuple[str, ...]]:
        for intervals in value.values():
            _check_intervals(intervals)
        return value

    @model_validator(mode="after")
    def _closed_queue(self) -> "OpeningHours":
        if (self.closed_action == "move") != (self.closed_queue is not None):
            raise ValueError("closed_queue is required with closed_action 'move', and only with it")
        return self


def parse_interval(interval: str) -> tuple[time, time]:
    try:
        start, end = interval.split("-")
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise ValueError(f"opening interval {interval!r} is not HH:MM-HH:MM") from None


class ResponseTargets(_Config):
    """Response-time targets of the conversations an agent holds, and what a breach does."""

    # From assignment to the agent's first reply.
    first_response_s: int | None = Field(default=None, ge=1)
    # From a customer message to the agent's next reply, while the agent holds the conversation.
    next_response_s: int | None = Field(default=None, ge=1)
    # From assignment to wrap-up.
    resolution_s: int | None = Field(default=None, ge=1)
    # Share of a target after which the agent's desk shows a warning.
    warning_at: float = Field(default=0.8, gt=0, lt=1)
    # Count only the queue's open time (its `hours`, with their calendar), not nights and holidays.
    business_hours: bool = False
    # What a breach does, in this order; every breach is also on the conversation's log and in metrics.
    on_breach: tuple[BreachAction, ...] = ("alert-supervisor",)
    # Added to the conversation's priority by the raise-priority action.
    raise_priority_by: int = Field(default=100, ge=1, le=1000)


class Queue(_Config):
    # Skill -> minimum proficiency an agent needs to take this queue's work.
    skills: dict[str, Proficiency] = Field(default_factory=dict)
    # Offer the work only to agents who speak the customer's language (when it is known).
    match_language: bool = True
    # Channel kinds this queue serves (voice, chat, email, ...); empty serves every kind.
    channels: tuple[str, ...] = ()
    priority: int = Field(default=0, ge=0, le=1000)
    # Effective priority gained per minute of waiting, so old low-priority work is not starved.
    aging_per_minute: float = Field(default=1.0, ge=0)
    # Service level: `target_level` of the work answered (assigned) within `target_answer_s`.
    target_answer_s: int = Field(default=20, ge=1)
    target_level: float = Field(default=0.8, gt=0, le=1)
    # Work still waiting after this long is dequeued with `max_wait_message`; None waits forever.
    max_wait_s: int | None = Field(default=None, ge=1)
    max_wait_message: str | None = Field(default=None, max_length=2000)
    # How long work is reserved for its preferred agent (the customer's last agent) before others.
    sticky_window_s: int = Field(default=0, ge=0)
    overflow: tuple[Overflow, ...] = ()
    hours: OpeningHours | None = None
    response: ResponseTargets | None = None
    # An agent who holds a conversation this long without replying (to the assignment or to the
    # customer's last message) loses it to another agent; None: never.
    reassign_after_s: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _business_hours(self) -> "Queue":
        if self.response and self.response.business_hours and self.hours is None:
            raise ValueError("response.business_hours needs the queue's hours")
        return self

    @field_validator("overflow")
    @classmethod
    def _ordered(cls, value: tuple[Overflow, ...]) -> tuple[Overflow, ...]:
        if any(a.after_s >= b.after_s for a, b in itertools.pairwise(value)):
            raise ValueError("overflow rules must be listed by increasing after_s")
        return value


class AwayReason(_Config):
    # Work that is part of the job (after-call work, a back-office task): the agent's capacity counts
    # as busy in occupancy. A break or a training is not: the agent counts as out of the pool.
    productive: bool = False


class RoutingConfig(_Config):
    """Everything configurable about one tenant's routing; the defaults route anything to anyone."""

    queues: dict[str, Queue] = Field(default_factory=dict)
    # Where work goes when its queue does not serve its channel kind.
    default_queue: str = "general"
    offer_timeout_s: int = Field(default=30, ge=1)
    # Offers an agent may let time out in a row before they are set to not-responding.
    max_missed_offers: int = Field(default=3, ge=1)
    # An agent who rejected (or let expire) an offer is not offered the same work for this long.
    decline_cooldown_s: int = Field(default=120, ge=0)
    # How often a waiting conversation hears its position and expected wait (only when it changed).
    wait_update_interval_s: int = Field(default=30, ge=1)
    # How long a work item transferred to a named agent is reserved for that agent.
    transfer_reserve_s: int = Field(default=60, ge=0)
    # How long the router remembers a customer's last agent, for sticky routing.
    sticky_memory_s: int = Field(default=30 * 24 * 3600, ge=0)
    # How the best of several eligible agents is chosen, most important criterion first.
    agent_order: tuple[AgentCriterion, ...] = ("proficiency", "idle", "occupancy")
    # Channel -> channel kind for capacity and queues; channels not listed are "chat".
    channel_kinds: dict[str, str] = Field(default_factory=lambda: {"voice": "voice", "email": "email"})
    # Why an agent may be away, as the desk offers the choice (name -> how occupancy counts it).
    away_reasons: dict[str, AwayReason] = Field(
        default_factory=lambda: {
            "break": AwayReason(),
            "lunch": AwayReason(),
            "training": AwayReason(),
            "after-call-work": AwayReason(productive=True),
        }
    )
    # Name -> holidays and exception days, for the queues' opening hours that name it.
    calendars: dict[str, Calendar] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _references(self) -> "RoutingConfig":
        if len(set(self.agent_order)) != len(self.agent_order):
            raise ValueError("agent_order lists a criterion twice")
        for name, queue in self.queues.items():
            targets = [t for r in queue.overflow for t in (r.add_agents_of, r.move_to) if t is not None]
            if queue.hours and queue.hours.closed_queue:
                targets.append(queue.hours.closed_queue)
            if queue.hours and queue.hours.calendar and queue.hours.calendar not in self.calendars:
                raise ValueError(f"queue {name!r} refers to the unknown calendar {queue.hours.calendar!r}")
            for target in targets:
                if target not in self.queues:
                    raise ValueError(f"queue {name!r} refers to the unknown queue {target!r}")
                if target == name:
                    raise ValueError(f"queue {name!r} overflows into itself")
        return self

    def queue(self, name: str) -> Queue:
        """A configured queue; an unknown name is a queue with the defaults (any agent may take it)."""
        return self.queues.get(name) or _DEFAULT_QUEUE

    def kind_of(self, channel: str) -> str:
        return self.channel_kinds.get(channel, "chat")


_DEFAULT_QUEUE = Queue()

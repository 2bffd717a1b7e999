"""A discrete-event simulator that drives the real routing core on a virtual clock.

Customers arrive per queue as Poisson processes, agents accept every offer at once, reply after an
exponential time and handle each conversation for an exponential time. With `message_every_s`, the
customer writes again an exponential time after each reply, and the agent answers that message
after an exponential time too (the next-response clock); an agent wraps up only once the last
message is answered. Some agents go silent on a reply (`silent_share`, drawn for each reply): they
reply only after `silence_s`, unless the router gives the conversation to another agent first (the
queue's `reassign_after_s`). The core sees exactly the events it sees in
production (hand-offs, presences, accepts, replies, completions, timer ticks), so what the simulator
measures is what the router does. `erlang_c` gives the theory to compare a single-skill queue with.

Run `make simulate` (or `python -m relais_router.simulation`) for the table.
"""

import heapq
import itertools
import json
import math
import random
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from relais_contracts.agents import ConversationTaken, OfferCreated
from relais_contracts.conversation import HandoffPacket
from relais_contracts.routing import (
    AgentReplied,
    AgentRepliedData,
    CustomerWrote,
    CustomerWroteData,
    OfferAccepted,
    OfferAnswerData,
    PresenceChanged,
    PresenceChangedData,
    QueuesConfigured,
    QueuesConfiguredData,
    TimerTick,
    TimerTickData,
    WorkCompleted,
    WorkCompletedData,
    WorkSubmitted,
    WorkSubmittedData,
)
from relais_router.domain import TenantRouter

EPOCH = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
TENANT = "sim"


@dataclass(frozen=True)
class AgentSpec:
    id: str
    skills: dict[str, int]


@dataclass(frozen=True)
class Scenario:
    name: str
    config: dict[str, Any]
    agents: tuple[AgentSpec, ...]
    arrivals_per_s: dict[str, float]  # queue -> Poisson rate
    handle_s: dict[str, float]  # queue -> mean handle time (exponential)
    customers: int  # arrivals measured, after the warm-up
    warmup: int = 2_000
    seed: int = 1
    reply_s: float = 0.0  # mean time to the agent's first reply (exponential; 0: at once)
    silent_share: float = 0.0  # share of accepted conversations on which the agent goes silent
    silence_s: float = 900.0  # how long a silent agent stays silent
    message_every_s: float = 0.0  # mean time from a reply to the customer's next message (0: none)


@dataclass
class QueueResult:
    arrived: int = 0
    handle_s: float = 0.0  # total of the handle times drawn for measured customers
    served: int = 0
    waited: int = 0
    total_wait_s: float = 0.0
    waits: list[float] = field(default_factory=list)
    responses: list[float] = field(default_factory=list)  # from the first assignment to the first reply
    # From a customer's message (after the first reply) to the next reply, whoever gives it: the time
    # a silent agent held the conversation counts.
    next_responses: list[float] = field(default_factory=list)
    resolutions: list[float] = field(default_factory=list)  # from the first assignment to the wrap-up
    reassigned: int = 0
    held_s: float = 0.0  # total, from the first offer to the wrap-up, of the measured conversations

    @property
    def mean_held_s(self) -> float:
        return self.held_s / self.served if self.served else 0.0

    def responded_within(self, target_s: float) -> float:
        return sum(r <= target_s for r in self.responses) / len(self.responses) if self.responses else 1.0

    def response_quantile(self, q: float) -> float:
        return _quantile(self.responses, q)

    def next_responded_within(self, target_s: float) -> float:
        answered = self.next_responses
        return sum(r <= target_s for r in answered) / len(answered) if answered else 1.0

    def next_response_quantile(self, q: float) -> float:
        return _quantile(self.next_responses, q)

    def resolution_quantile(self, q: float) -> float:
        return _quantile(self.resolutions, q)

    def service_level(self, within_s: float) -> float:
        return sum(w <= within_s for w in self.waits) / len(self.waits) if self.waits else 1.0

    @property
    def p_wait(self) -> float:
        return self.waited / self.served if self.served else 0.0

    @property
    def mean_wait_s(self) -> float:
        return self.total_wait_s / self.served if self.served else 0.0

    @property
    def mean_handle_s(self) -> float:
        return self.handle_s / self.served if self.served else 0.0


def _quantile(samples: list[float], q: float) -> float:
    ranked = sorted(samples)
    return ranked[min(len(ranked) - 1, int(q * len(ranked)))] if ranked else 0.0


@dataclass
class Result:
    scenario: str
    queues: dict[str, QueueResult]
    busy_s: float
    horizon_s: float
    agents: int
    events_applied: int
    arrival_window_s: float  # from the first to the last measured arrival
    # The next-response times the core itself reported (its `next_response` facts), warm-up included:
    # they match the simulator's own where no conversation changed agents.
    core_next_responses: list[float] = field(default_factory=list)

    def arrival_rate(self, queue: str) -> float:
        return self.queues[queue].arrived / self.arrival_window_s if self.arrival_window_s else 0.0

    @property
    def occupancy(self) -> float:
        return self.busy_s / (self.agents * self.horizon_s) if self.horizon_s else 0.0


def simulate(scenario: Scenario) -> Result:
    rng = random.Random(scenario.seed)
    router = TenantRouter(TENANT)
    n = 0
    sim_events: list[tuple[float, int, str, str]] = []  # (time, seq, kind, ref)

    def envelope(at: float) -> dict[str, Any]:
        nonlocal n
        n += 1
        return {
            "id": f"sim-{n}",
            "source": "simulator",
            "tenant": TENANT,
            "time": EPOCH + timedelta(seconds=at),
        }

    order = itertools.count()

    def schedule(at: float, kind: str, ref: str) -> None:
        heapq.heappush(sim_events, (at, next(order), kind, ref))

    arrived_at: dict[str, float] = {}
    assigned_at: dict[str, float] = {}  # first assignment, for the response time
    holder: dict[str, str] = {}  # conversation -> the agent who holds it now
    handles: dict[str, float] = {}  # conversation -> the handle time of its last offer
    offer_of: dict[str, str] = {}  # conversation -> its last offer (a reply is that offer's agent's)
    queue_of: dict[str, str] = {}
    measured: dict[str, bool] = {}
    results = {q: QueueResult() for q in scenario.arrivals_per_s}
    busy_since: dict[str, float] = {}
    asked_at: dict[str, float] = {}  # conversation -> the customer's message awaiting a reply
    wrapping_up: set[str] = set()  # handled, but a message awaits a reply: wrap-up after it
    core_next: list[float] = []
    busy_s = 0.0
    applied = 0
    measure_from: float | None = None

    def apply(event: Any, now: float) -> None:
        """Apply an event and play the agents' part: accept every offer at once, then handle it."""
        nonlocal applied, busy_s
        pending = [event]
        while pending:
            outputs = router.apply(pending.pop(0))
            applied += 1
            core_next.extend(float(v) for name, _, v in router.facts if name == "next_response")
            router.facts.clear()
            for out in outputs:
                if isinstance(out.event, ConversationTaken):
                    taken = out.event.data.conversation_id
                    holder.pop(taken, None)
                    wrapping_up.discard(taken)  # the next agent handles it anew
                    if measured[taken]:
                        results[queue_of[taken]].reassigned += 1
                    continue
                if not isinstance(out.event, OfferCreated):
                    continue
                offer = out.event.data
                conv = offer.conversation_id
                if conv not in assigned_at:  # the customer's wait: to the first offer only
                    wait = now - arrived_at[conv]
                    if measured[conv]:
                        result = results[queue_of[conv]]
                        result.served += 1
                        result.waited += wait > 1e-9
                        result.total_wait_s += wait
                        result.waits.append(wait)
                    assigned_at[conv] = now
                    busy_since[conv] = now
                holder[conv] = offer.agent_id
                offer_of[conv] = offer.offer_id
                answer = OfferAnswerData(
                    offer_id=offer.offer_id, agent_id=offer.agent_id, conversation_id=conv
                )
                pending.append(OfferAccepted(**envelope(now), data=answer))
                # Drawn at the offer, before anything else: the runs without silent agents draw the
                # same numbers in the same order as they always did.
                handles[conv] = rng.expovariate(1 / scenario.handle_s[queue_of[conv]])
                schedule(now + reply_after(), f"reply:{offer.agent_id}:{offer.offer_id}", conv)

    def reply_after() -> float:
        silent = scenario.silent_share > 0 and rng.random() < scenario.silent_share
        if silent:
            return scenario.silence_s
        return rng.expovariate(1 / scenario.reply_s) if scenario.reply_s else 0.0

    apply(QueuesConfigured(**envelope(0), data=QueuesConfiguredData(config=scenario.config, digest="sim")), 0)
    for spec in scenario.agents:
        presence = PresenceChangedData(
            agent_id=spec.id, presence="available", capacity={"*": 1}, skills=spec.skills
        )
        apply(PresenceChanged(**envelope(0), data=presence), 0)
    for queue, rate in sorted(scenario.arrivals_per_s.items()):
        schedule(rng.expovariate(rate), "arrive", queue)

    arrivals = 0
    last_arrival = 0.0
    total = scenario.warmup + scenario.customers
    now = 0.0
    while sim_events:
        now, _, kind, ref = heapq.heappop(sim_events)
        deadline = router.next_deadline()
        while deadline is not None and deadline - EPOCH.timestamp() <= now:
            at = deadline - EPOCH.timestamp()
            apply(TimerTick(**envelope(at), data=TimerTickData(due=EPOCH + timedelta(seconds=at))), at)
            deadline = router.next_deadline()
        if kind == "arrive":
            if arrivals >= total:
                continue
            arrivals += 1
            if arrivals == scenario.warmup + 1:
                measure_from = now
            last_arrival = now
            conv = f"c{arrivals}"
            arrived_at[conv], queue_of[conv], measured[conv] = now, ref, arrivals > scenario.warmup
            if measured[conv]:
                results[ref].arrived += 1
            packet = HandoffPacket(reason="simulated", summary="", queue=ref)
            apply(
                WorkSubmitted(
                    **envelope(now),
                    data=WorkSubmittedData(conversation_id=conv, channel="webchat", packet=packet),
                ),
                now,
            )
            schedule(now + rng.expovariate(scenario.arrivals_per_s[ref]), "arrive", ref)
        elif kind.startswith("reply:"):
            _, agent, offer_id = kind.split(":", 2)
            if holder.get(ref) != agent or offer_of.get(ref) != offer_id:
                continue  # the conversation was given to another agent (or again to this one) meanwhile
            first = assigned_at[ref]
            if measured[ref] and first >= 0:
                results[queue_of[ref]].responses.append(now - first)
            assigned_at[ref] = -1.0  # answered: no later reply is a first response
            asked = asked_at.pop(ref, None)
            if measured[ref] and asked is not None:
                results[queue_of[ref]].next_responses.append(now - asked)
            reply = AgentRepliedData(conversation_id=ref, agent_id=agent, message_id=f"r-{ref}-{n}")
            apply(AgentReplied(**envelope(now), data=reply), now)
            handle = handles.pop(ref, None)
            if handle is not None:  # this agent's first reply: the handling starts
                if measured[ref]:
                    results[queue_of[ref]].handle_s += handle
                schedule(now + handle, "complete:" + agent, ref)
            if ref in wrapping_up:
                schedule(now, "complete:" + agent, ref)
            elif scenario.message_every_s:
                schedule(now + rng.expovariate(1 / scenario.message_every_s), "message", ref)
        elif kind == "message":
            agent = holder.get(ref, "")
            if not agent or ref in asked_at or ref in wrapping_up:
                continue  # wrapped up, between agents, or already waiting for an answer
            asked_at[ref] = now
            wrote = CustomerWroteData(conversation_id=ref, message_id=f"m-{ref}-{n}")
            apply(CustomerWrote(**envelope(now), data=wrote), now)
            schedule(now + reply_after(), f"reply:{agent}:{offer_of[ref]}", ref)
        else:
            agent = kind.split(":", 1)[1]
            if holder.get(ref) != agent:
                continue  # an earlier agent's wrap-up, of a conversation taken from them
            if ref in asked_at:
                wrapping_up.add(ref)  # not before the customer's last message is answered
                continue
            wrapping_up.discard(ref)
            del holder[ref]
            if measured[ref]:
                results[queue_of[ref]].held_s += now - busy_since[ref]
                results[queue_of[ref]].resolutions.append(now - busy_since[ref])
            if measure_from is not None:
                busy_s += now - max(busy_since.pop(ref), measure_from)
            apply(
                WorkCompleted(**envelope(now), data=WorkCompletedData(conversation_id=ref, agent_id=agent)),
                now,
            )
    horizon = now - (measure_from or 0.0)
    return Result(
        scenario.name,
        results,
        busy_s,
        horizon,
        len(scenario.agents),
        applied,
        last_arrival - (measure_from or 0.0),
        core_next,
    )


def erlang_c(agents: int, arrivals_per_s: float, handle_s: float) -> float:
    """Probability that a customer waits, in an M/M/N queue (Erlang C)."""
    load = arrivals_per_s * handle_s
    if load >= agents:
        return 1.0
    term = 1.0
    total = 1.0
    for k in range(1, agents):
        term *= load / k
        total += term
    top = term * load / agents * agents / (agents - load)
    return top / (total + top)


def erlang_c_figures(
    agents: int, arrivals_per_s: float, handle_s: float, within_s: float
) -> dict[str, float]:
    c = erlang_c(agents, arrivals_per_s, handle_s)
    drain = agents / handle_s - arrivals_per_s
    return {
        "p_wait": c,
        "mean_wait_s": c / drain,
        "service_level": 1 - c * math.exp(-drain * within_s),
    }


def single_skill(customers: int = 60_000, seed: int = 7) -> Scenario:
    """10 agents, 3-minute conversations, 80% load: the classic Erlang C case."""
    config = {"wait_update_interval_s": 3600, "queues": {"support": {"target_answer_s": 20}}}
    agents = tuple(AgentSpec(f"a{i:02d}", {}) for i in range(10))
    return Scenario(
        "single skill, 10 agents, 80% load",
        config,
        agents,
        {"support": 8 / 180},
        {"support": 180.0},
        customers,
        seed=seed,
    )


def multi_skill(pooled: bool, customers: int = 40_000, seed: int = 11) -> Scenario:
    """Two queues of 8 agents' worth of work each: specialists only, or every agent trained on both."""
    config = {
        "wait_update_interval_s": 3600,
        "queues": {"sales": {"skills": {"sales": 1}}, "billing": {"skills": {"billing": 1}}},
    }
    agents = tuple(
        AgentSpec(
            f"a{i:02d}",
            {"sales": 3, "billing": 3} if pooled else ({"sales": 3} if i < 10 else {"billing": 3}),
        )
        for i in range(20)
    )
    name = "two skills, 20 agents: " + ("all agents on both" if pooled else "specialists")
    return Scenario(
        name,
        config,
        agents,
        {"sales": 8 / 180, "billing": 8 / 180},
        {"sales": 180.0, "billing": 180.0},
        customers,
        seed=seed,
    )


def _support_desk(
    reassign_after_s: int | None, response: dict[str, int]
) -> tuple[dict[str, Any], tuple[AgentSpec, ...], str]:
    """The silent-agent scenarios' desk: one support queue with these response targets, 10 agents,
    reassignment after `reassign_after_s` or never; and the words that say which."""
    queue: dict[str, Any] = {"target_answer_s": 20, "response": response}
    if reassign_after_s is not None:
        queue["reassign_after_s"] = reassign_after_s
    config = {"wait_update_interval_s": 3600, "queues": {"support": queue}}
    agents = tuple(AgentSpec(f"a{i:02d}", {}) for i in range(10))
    after = f"reassigned after {reassign_after_s} s" if reassign_after_s else "never reassigned"
    return config, agents, after


def silent_agents(reassign_after_s: int | None, customers: int = 30_000, seed: int = 5) -> Scenario:
    """10 agents who reply in 20 s on average, but go silent for 10 minutes on 5% of their
    conversations; a first-response target of 60 s, with or without reassignment (40 s in the report)."""
    config, agents, after = _support_desk(reassign_after_s, {"first_response_s": 60})
    return Scenario(
        f"5% silent agents, {after}",
        config,
        agents,
        {"support": 7 / 200},
        {"support": 180.0},
        customers,
        seed=seed,
        reply_s=20.0,
        silent_share=0.05,
        silence_s=600.0,
    )


def silent_replies(reassign_after_s: int | None, customers: int = 20_000, seed: int = 6) -> Scenario:
    """Customers who write again a minute after each reply, on average, to 10 agents who answer in
    10 s on average but go silent for 10 minutes on 2% of their replies; first- and next-response
    targets of 60 s, with or without reassignment (40 s in the report)."""
    config, agents, after = _support_desk(reassign_after_s, {"first_response_s": 60, "next_response_s": 60})
    return Scenario(
        f"2% silent replies, {after}",
        config,
        agents,
        {"support": 6 / 200},
        {"support": 180.0},
        customers,
        seed=seed,
        reply_s=10.0,
        silent_share=0.02,
        silence_s=600.0,
        message_every_s=60.0,
    )


def silent_rows() -> list[dict[str, Any]]:
    """First-response times with and without reassignment, waits beside Erlang C at the hold time."""
    rows = []
    for reassign in (None, 40):
        scenario = silent_agents(reassign)
        result = simulate(scenario)
        q = result.queues["support"]
        rows.append(
            {
                "scenario": scenario.name,
                "served": q.served,
                "reassigned": q.reassigned,
                "first_response_within_60s": q.responded_within(60),
                "first_response_p90_s": q.response_quantile(0.9),
                "first_response_p99_s": q.response_quantile(0.99),
                "mean_wait_s": q.mean_wait_s,
                "service_level_20s": q.service_level(20),
                "erlang_c": erlang_c_figures(
                    len(scenario.agents), result.arrival_rate("support"), q.mean_held_s, 20
                ),
            }
        )
    return rows


def next_response_rows() -> list[dict[str, Any]]:
    """Next-response times (from a customer's message to the reply, whoever gives it) and resolution
    times, with and without reassignment of silent agents' conversations."""
    rows = []
    for reassign in (None, 40):
        scenario = silent_replies(reassign)
        result = simulate(scenario)
        q = result.queues["support"]
        rows.append(
            {
                "scenario": scenario.name,
                "served": q.served,
                "reassigned": q.reassigned,
                "next_responses": len(q.next_responses),
                "next_response_within_60s": q.next_responded_within(60),
                "next_response_p90_s": q.next_response_quantile(0.9),
                "next_response_p99_s": q.next_response_quantile(0.99),
                "first_response_within_60s": q.responded_within(60),
                "resolution_p50_s": q.resolution_quantile(0.5),
                "resolution_p90_s": q.resolution_quantile(0.9),
                "mean_wait_s": q.mean_wait_s,
            }
        )
    return rows


def main() -> None:
    """Print the simulated figures beside Erlang C, and write them as JSON to the path given, if any."""
    rows: list[dict[str, Any]] = []
    for scenario in (single_skill(), multi_skill(pooled=False), multi_skill(pooled=True)):
        result = simulate(scenario)
        for queue, q in sorted(result.queues.items()):
            agents = sum(1 for a in scenario.agents if not a.skills or queue in a.skills)
            # Erlang C holds for one queue served by its own agents: the specialists, not the pool.
            pooled = any(len(a.skills) > 1 for a in scenario.agents)
            theory = (
                None if pooled else erlang_c_figures(agents, result.arrival_rate(queue), q.mean_handle_s, 20)
            )
            rows.append(
                {
                    "scenario": scenario.name,
                    "queue": queue,
                    "served": q.served,
                    "p_wait": q.p_wait,
                    "mean_wait_s": q.mean_wait_s,
                    "service_level_20s": q.service_level(20),
                    "occupancy": result.occupancy,
                    "erlang_c": theory,
                }
            )
    print(
        f"{'scenario':<42} {'queue':<8} {'served':>7} {'P(wait)':>8} {'avg wait':>9} {'SL 20s':>7}"
        f" {'occ.':>5}"
    )
    for r in rows:
        print(
            f"{r['scenario']:<42} {r['queue']:<8} {r['served']:>7} {r['p_wait']:>8.3f} "
            f"{r['mean_wait_s']:>8.1f}s {r['service_level_20s']:>7.3f} {r['occupancy']:>5.2f}"
        )
        if r["erlang_c"]:
            t = r["erlang_c"]
            print(
                f"{'  Erlang C at the rates drawn':<42} {'':<8} {'':>7} {t['p_wait']:>8.3f} "
                f"{t['mean_wait_s']:>8.1f}s {t['service_level']:>7.3f}"
            )
    silent = silent_rows()
    print(
        f"\n{'scenario':<42} {'reassigned':>10} {'1st reply <=60s':>15} {'p90':>7} {'p99':>7}"
        f" {'avg wait':>9} {'SL 20s':>7}"
    )
    for r in silent:
        print(
            f"{r['scenario']:<42} {r['reassigned']:>10} {r['first_response_within_60s']:>15.3f}"
            f" {r['first_response_p90_s']:>6.0f}s {r['first_response_p99_s']:>6.0f}s"
            f" {r['mean_wait_s']:>8.1f}s {r['service_level_20s']:>7.3f}"
        )
        t = r["erlang_c"]
        print(
            f"{'  Erlang C at the hold time measured':<42} {'':>10} {'':>15} {'':>7} {'':>7}"
            f" {t['mean_wait_s']:>8.1f}s {t['service_level']:>7.3f}"
        )
    following = next_response_rows()
    print(
        f"\n{'scenario':<42} {'reassigned':>10} {'next replies':>12} {'<=60s':>6} {'p90':>7} {'p99':>7}"
        f" {'resolution p50':>15} {'p90':>7} {'avg wait':>9}"
    )
    for r in following:
        print(
            f"{r['scenario']:<42} {r['reassigned']:>10} {r['next_responses']:>12}"
            f" {r['next_response_within_60s']:>6.3f} {r['next_response_p90_s']:>6.0f}s"
            f" {r['next_response_p99_s']:>6.0f}s {r['resolution_p50_s']:>14.0f}s"
            f" {r['resolution_p90_s']:>6.0f}s {r['mean_wait_s']:>8.1f}s"
        )
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as out:
            json.dump({"runs": rows, "silent_agents": silent, "next_response": following}, out, indent=2)


if __name__ == "__main__":
    main()

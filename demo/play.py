"""The shell of the demo: customers who write through the channels service's signed HTTP ingress,
agents who work through the agent gateway (dev login, WebSocket), and a running tally read from the
bot's /metrics. Stops on `stop` (Ctrl-C or the duration), closing every socket."""

import asyncio
import contextlib
import hashlib
import hmac
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import websockets
from prometheus_client.parser import text_string_to_metric_families
from websockets.typing import Subprotocol

from demo import script


@dataclass
class Settings:
    rate: float  # conversations a minute
    duration: float | None  # seconds, None: until stopped
    seed: int
    agents: int
    pace: float  # multiplies every human pause (1 = real time)
    tenant: str
    integrator: str
    secret: str
    channels_url: str
    gateway_url: str
    bot_url: str
    prometheus_url: str
    tally_every_s: float = 10.0


@dataclass
class Tally:
    started: int = 0
    messages: int = 0
    refused: int = 0
    offers: int = 0
    accepted: int = 0
    agent_replies: int = 0
    transfers: int = 0
    wrapped_up: int = 0
    busy: set[str] = field(default_factory=set)


class Customers:
    """The integrator's side: each customer message becomes a signed CloudEvent POSTed to the ingress."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient, tally: Tally, run: str) -> None:
        self.settings = settings
        self.http = http
        self.tally = tally
        self.run = run

    async def send(self, conversation: script.Conversation, message: script.Message) -> None:
        sender = script.address(message.channel, self.run, conversation.number)
        data: dict[str, Any] = {
            "channel": message.channel,
            "from": {"address": sender, "name": conversation.name},
            "text": message.text,
            "external_id": str(uuid.uuid4()),
        }
        if message.channel == "webchat":
            # The web chat knows its logged-in customer's email: the same person writes by email later.
            email = script.address("email", self.run, conversation.number)
            data["identity"] = {"email": email, "verified": True}
        event = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": f"demo/{message.channel}",
            "type": "relais.channel.message.received",
            "time": datetime.now(UTC).isoformat(),
            "datacontenttype": "application/json",
            "tenant": self.settings.tenant,
            "data": data,
        }
        body = json.dumps(event).encode()
        t = int(time.time())
        signature = hmac.new(self.settings.secret.encode(), f"{t}.".encode() + body, hashlib.sha256)
        response = await self.http.post(
            f"{self.settings.channels_url}/v1/events",
            content=body,
            headers={
                "Content-Type": "application/cloudevents+json",
                "Relais-Integrator": self.settings.integrator,
                "Relais-Signature": f"t={t},v1={signature.hexdigest()}",
            },
        )
        if response.status_code == 202:
            self.tally.messages += 1
        else:  # shown, not fatal: the day goes on
            self.tally.refused += 1
            print(f"ingress refused a message: {response.status_code} {response.text[:200]}", flush=True)

    async def play(self, conversation: script.Conversation) -> None:
        self.tally.started += 1
        for message in conversation.messages:
            await asyncio.sleep(message.after_s * self.settings.pace)
            try:
                await self.send(conversation, message)
            except httpx.HTTPError as error:
                self.tally.refused += 1
                print(f"ingress unreachable: {error!r}", flush=True)


class Agent:
    """One simulated agent at a desk: logs in, goes available, accepts what is offered, replies, now and
    then transfers, wraps up, and takes a break."""

    def __init__(
        self, settings: Settings, http: httpx.AsyncClient, tally: Tally, index: int, run: str
    ) -> None:
        self.settings = settings
        self.http = http
        self.tally = tally
        self.rng = random.Random(f"{settings.seed}-agent-{index}")
        self.id = f"demo-agent-{index + 1}"
        self.name = script.AGENT_NAMES[index % len(script.AGENT_NAMES)]
        self.skills = script.AGENT_SKILLS[index % len(script.AGENT_SKILLS)]
        self.ws: Any = None
        self.refs = 0
        self.languages: dict[str, str] = {}  # conversation -> the customer's language, from the offer
        self.work: dict[str, asyncio.Task[None]] = {}  # conversation -> accepting or handling it
        self.held: set[str] = set()  # conversations assigned to this agent

    def pause(self, low: float, high: float) -> float:
        return self.rng.uniform(low, high) * self.settings.pace

    async def send(self, **message: Any) -> None:
        self.refs += 1
        await self.ws.send(json.dumps({**message, "ref": f"{self.id}-{self.refs}"}))

    async def run(self) -> None:
        """The desk, open until cancelled: a lost socket (a gateway restart, an expired token) logs in
        again and reconnects, as the real desk does."""
        while True:
            try:
                await self.session()
            except (httpx.HTTPError, OSError, websockets.exceptions.WebSocketException) as error:
                print(f"{self.id}: desk lost ({error!r}); logging in again", flush=True)
            await asyncio.sleep(3)

    async def session(self) -> None:
        response = await self.http.post(
            f"{self.settings.gateway_url}/v1/dev/login",
            json={
                "tenant": self.settings.tenant,
                "agent_id": self.id,
                "name": self.name,
                "roles": ["agent"],
                "skills": self.skills,
                "languages": list(script.LANGUAGES),
            },
        )
        response.raise_for_status()
        token = response.json()["token"]
        url = self.settings.gateway_url.replace("http", "ws", 1) + "/v1/agent/ws"
        offered = [Subprotocol("relais.agent"), Subprotocol(f"bearer.{token}")]
        async with websockets.connect(url, subprotocols=offered) as ws:
            self.ws = ws
            try:
                async for raw in ws:
                    await self.on(json.loads(raw))
            finally:
                for task in self.work.values():
                    task.cancel()
                self.work.clear()
                self.held.clear()
                self.tally.busy.discard(self.id)
                # Leaving the desk: offline at once, so the router gives what this agent held to others
                # instead of waiting for the gateway's grace period.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.leave(ws), 3)

    async def leave(self, ws: Any) -> None:
        """Offline, and close only once the gateway has acknowledged it (closing under its answer makes
        it log a failed session)."""
        await self.send(type="presence", presence="offline")
        ref = f"{self.id}-{self.refs}"
        async for raw in ws:
            if json.loads(raw).get("ref") == ref:
                return

    async def available(self) -> None:
        await self.send(type="presence", presence="available", capacity={"*": 2, "email": 3})

    async def on(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "ready":
            await asyncio.sleep(self.pause(0.5, 3))
            await self.available()
            for conversation in message.get("conversations", []):  # still ours after a reconnect
                self.assigned(conversation)
        elif kind == "offer":
            self.tally.offers += 1
            self.languages[message["conversation_id"]] = message["packet"].get("language") or "en"
            self.later(message["conversation_id"], self.accept(message["offer_id"]))
        elif kind == "assigned":
            self.tally.accepted += 1
            self.assigned(message["conversation_id"])
        elif kind == "released":
            self.work.pop(message["conversation_id"], None)
            self.languages.pop(message["conversation_id"], None)
            self.held.discard(message["conversation_id"])
            if not self.held:
                self.tally.busy.discard(self.id)
        elif kind == "offer.rescinded":
            self.work.pop(message["conversation_id"], None)
        elif kind == "status" and message.get("status") == "not-responding":
            await self.available()
        elif kind == "error":
            print(f"{self.id}: {message.get('code')}: {message.get('message')}", flush=True)

    def assigned(self, conversation: str) -> None:
        self.held.add(conversation)
        self.tally.busy.add(self.id)
        self.later(conversation, self.handle(conversation))

    def later(self, conversation: str, work: Any) -> None:
        task = asyncio.create_task(work)
        self.work[conversation] = task

    async def accept(self, offer_id: str) -> None:
        await asyncio.sleep(self.pause(1, 5))
        await self.send(type="accept", offer_id=offer_id)

    async def handle(self, conversation: str) -> None:
        language = self.languages.get(conversation, "en")
        await asyncio.sleep(self.pause(3, 10))
        await self.reply(conversation, script.GREETING[language].format(agent=self.name))
        await asyncio.sleep(self.pause(10, 40))
        if self.rng.random() < 0.1:
            queue = self.rng.choice(["orders", "billing", "care", "general"])
            self.tally.transfers += 1
            await self.send(type="transfer", conversation_id=conversation, to_queue=queue, note="over to you")
            return
        await self.reply(conversation, script.SOLVED[language])
        await asyncio.sleep(self.pause(5, 20))
        await self.send(type="wrap_up", conversation_id=conversation, disposition="resolved")
        self.tally.wrapped_up += 1
        if self.rng.random() < 0.1:  # a break between two conversations, then back
            await asyncio.sleep(self.pause(1, 3))
            await self.send(type="presence", presence="away", away_reason="break")
            await asyncio.sleep(self.pause(30, 90))
            await self.available()

    async def reply(self, conversation: str, text: str) -> None:
        self.tally.agent_replies += 1
        await self.send(
            type="reply", conversation_id=conversation, text=text, client_msg_id=str(uuid.uuid4())
        )


async def bot_counts(http: httpx.AsyncClient, settings: Settings) -> dict[str, float]:
    """Messages the bot answered and conversations it handed over for the tenant, since it started."""
    counts = {"answered": 0.0, "handed_over": 0.0}
    try:
        response = await http.get(f"{settings.bot_url}/metrics")
    except httpx.HTTPError:
        return counts
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.labels.get("tenant") != settings.tenant or not sample.name.endswith("_total"):
                continue
            if family.name == "relais_bot_messages" and sample.labels.get("outcome") == "answered":
                counts["answered"] += sample.value
            elif family.name == "relais_bot_handoffs":
                counts["handed_over"] += sample.value
    return counts


def tally_line(tally: Tally, bot: dict[str, float], agents: int, elapsed: float) -> str:
    return (
        f"[{elapsed:6.0f}s] conversations started {tally.started}, handed over {bot['handed_over']:.0f}, "
        f"answered by the bot {bot['answered']:.0f}, agents busy {len(tally.busy)}/{agents} "
        f"(offers {tally.offers}, accepted {tally.accepted}, agent replies {tally.agent_replies}, "
        f"transfers {tally.transfers}, wrapped up {tally.wrapped_up})"
    )


async def play(settings: Settings, stop: asyncio.Event, now: Callable[[], float] = time.monotonic) -> Tally:
    """Play the day until `stop` is set or the duration has passed; returns the final tally."""
    rng = random.Random(settings.seed)
    run = f"{random.SystemRandom().getrandbits(24):06x}"  # keeps this run's customers apart from the last
    tally = Tally()
    async with httpx.AsyncClient(timeout=15) as http:
        customers = Customers(settings, http, tally, run)
        agents = [Agent(settings, http, tally, i, run) for i in range(settings.agents)]
        desks = [asyncio.create_task(agent.run()) for agent in agents]
        talking: set[asyncio.Task[None]] = set()
        start = now()
        baseline = await bot_counts(http, settings)
        print(
            f"run {run}, seed {settings.seed}: {settings.rate:g} conversations a minute, "
            f"{settings.agents} agents" + (f", for {settings.duration:g} s" if settings.duration else ""),
            flush=True,
        )
        next_tally = start + settings.tally_every_s
        number = 0
        next_arrival = start
        try:
            while not stop.is_set():
                if settings.duration is not None and now() - start >= settings.duration:
                    break
                if failed := next((t for t in desks if t.done()), None):
                    raise RuntimeError(f"an agent's desk stopped: {failed.exception()!r}")
                if now() >= next_arrival:
                    number += 1
                    customer = asyncio.create_task(customers.play(script.conversation(rng, number)))
                    talking.add(customer)
                    customer.add_done_callback(talking.discard)
                    # Poisson arrivals: exponential gaps at the given rate.
                    next_arrival += rng.expovariate(settings.rate / 60.0)
                if now() >= next_tally:
                    counts = await bot_counts(http, settings)
                    print(
                        tally_line(tally, delta(counts, baseline), settings.agents, now() - start), flush=True
                    )
                    next_tally += settings.tally_every_s
                end = start + settings.duration if settings.duration is not None else next_tally
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), max(0.0, min(next_arrival, next_tally, end) - now()))
            counts = delta(await bot_counts(http, settings), baseline)
            print("final " + tally_line(tally, counts, settings.agents, now() - start), flush=True)
        finally:
            for task in [*desks, *talking]:
                task.cancel()
            await asyncio.gather(*desks, *talking, return_exceptions=True)
    return tally


def delta(counts: dict[str, float], baseline: dict[str, float]) -> dict[str, float]:
    return {k: v - baseline.get(k, 0.0) for k, v in counts.items()}

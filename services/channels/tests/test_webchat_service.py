"""The web chat as a real process on real Kafka and Redis, over real WebSockets: a visitor's message is
acknowledged once on relais.inbound.v1; the bot's reply (with quick replies) and a person taking over
arrive live; a reload reads the visitor's own history and nobody else's, a reconnect resumes where it
was; limits answer with error frames and the socket goes on."""

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from relais_contracts import topics
from relais_contracts.channel import MessageReceived, MessageSend
from relais_contracts.conversation import Assigned
from relais_platform.testing import (
    Infra,
    RawPublisher,
    ServiceProcess,
    TopicReader,
    create_topics,
    poll,
    service_env,
)

pytestmark = pytest.mark.integration

SECRET = "acme-web-secret-0123456789abcdef0123"
TENANT = "acme"


class Visitor:
    """The widget's side of the protocol, keeping every frame received."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == "entry"]

    async def say(self, text: str, **extra: Any) -> None:
        await self.ws.send(json.dumps({"type": "message", "text": text, **extra}))

    async def expect(self, what: str, **match: Any) -> dict[str, Any]:
        async def pump() -> dict[str, Any] | None:
            for frame in self.frames:
                if all(frame.get(k) == v for k, v in match.items()):
                    return frame
            with contextlib.suppress(TimeoutError):
                self.frames.append(json.loads(await asyncio.wait_for(self.ws.recv(), 0.2)))
            return None

        found: dict[str, Any] = await poll(pump, timeout=20, interval=0, what=what)
        return found


@pytest.fixture
async def channels(infra: Infra, namespace: str, tmp_path: Path) -> AsyncIterator[ServiceProcess]:
    await create_topics(infra, namespace)
    integrators = [
        {"id": "acme-web", "tenant": TENANT, "channels": ["webchat"], "secret": SECRET, "widget": True,
         "widget_origins": ["https://shop.example"]},
    ]  # fmt: skip
    env = service_env(
        infra,
        namespace,
        RELAIS_INTEGRATORS=json.dumps(integrators),
        RELAIS_WEBCHAT_MESSAGES_PER_MINUTE="6",
        RELAIS_WEBCHAT_SOCKETS_PER_IP="5",
        RELAIS_WEBCHAT_MAX_TEXT_CHARS="100",
    )
    process = ServiceProcess("relais_channels", env, tmp_path, "channels").start()
    try:
        await process.wait_ready()
        yield process
    finally:
        process.terminate()


def socket(
    service: ServiceProcess, *, token: str | None = None, after: str | None = None, **options: Any
) -> Any:
    query = (
        "integrator=acme-web" + (f"&token={token}" if token else "") + (f"&after={after}" if after else "")
    )
    return websockets.connect(service.url.replace("http", "ws", 1) + "/chat/ws?" + query, **options)


def reply(visitor: str, text: str, conversation: str, **data: Any) -> MessageSend:
    return MessageSend.model_validate(
        {
            "id": str(uuid.uuid4()),
            "source": "relais/context-store",
            "time": datetime.now(UTC),
            "tenant": TENANT,
            "subject": conversation,
            "data": {
                "channel": "webchat",
                "to": {"address": visitor},
                "text": text,
                "message_id": f"m-{uuid.uuid4().hex[:8]}",
                "author": {"kind": "bot", "name": "Relais"},
                **data,
            },
        }
    )


async def test_a_visitor_talks_sees_replies_and_a_person_live_and_finds_its_history_again(
    channels: ServiceProcess, infra: Infra, namespace: str
) -> None:
    conversation = f"conv-{uuid.uuid4().hex[:8]}"
    async with (
        TopicReader(infra, namespace, [topics.INBOUND]) as inbound,
        RawPublisher(infra, namespace) as relais,
    ):
        async with socket(channels) as ws:
            me = Visitor(ws)
            token = (await me.expect("welcome", type="welcome"))["token"]
            visitor = token.split(".")[0]
            await me.say("Bonjour", client_id="c1", name="Camille")
            await me.expect("ack", type="ack", client_id="c1")
            received = await inbound.wait_event(
                topics.INBOUND, lambda e: isinstance(e, MessageReceived), what="the visitor's message"
            )
            assert isinstance(received, MessageReceived)
            assert (received.tenant, received.data.channel) == (TENANT, "webchat")
            assert (received.data.from_.address, received.data.from_.name) == (visitor, "Camille")
            assert received.source == "acme-web/webchat"
            await me.expect("my own message drawn", type="entry", **{"from": "visitor", "text": "Bonjour"})

            # The same client id again (a resend after a lost ack): acknowledged, one event id.
            await me.say("Bonjour", client_id="c1", name="Camille")
            again = await me.expect("second ack", type="ack", client_id="c1")
            assert again["id"] == received.id

            # The bot answers, with quick replies; then a person takes the conversation over.
            quick = [{"title": "Talk to a person", "payload": "I want a person"}]
            bot = reply(visitor, "How can I help?", conversation, quick_replies=quick)
            await relais.event(topics.OUTBOUND, topics.inbound_key(TENANT, "webchat", visitor), bot)
            drawn = await me.expect("the bot's reply", type="entry", text="How can I help?")
            assert drawn["from"] == "bot"
            assert drawn["quick_replies"] == quick
            assigned = Assigned.model_validate(
                {
                    "id": str(uuid.uuid4()), "source": "relais/router", "time": datetime.now(UTC),
                    "tenant": TENANT, "subject": conversation,
                    "data": {"offer_id": "o-1", "agent_id": "agent-7f3", "agent_name": "Ana"},
                }
            )  # fmt: skip
            await relais.event(topics.CONVERSATIONS, conversation, assigned)
            person = await me.expect("a person joined", type="entry", kind="person")
            assert person["joined"] is True
            assert person["name"] == "Ana"
            assert "agent-7f3" not in json.dumps(person)  # the name, never the id
            last = person["seq"]

        # A reconnect resumes after the last entry drawn: only what is new.
        async with socket(channels, token=token, after=last) as ws:
            me = Visitor(ws)
            assert (await me.expect("welcome again", type="welcome"))["token"] == token
            agent = reply(
                visitor, "Ana here, let me look", conversation, author={"kind": "agent", "name": "Ana"}
            )
            await relais.event(topics.OUTBOUND, topics.inbound_key(TENANT, "webchat", visitor), agent)
            live = await me.expect("the agent's reply", type="entry", text="Ana here, let me look")
            assert (live["from"], live["name"]) == ("agent", "Ana")
            assert [e["text"] for e in me.entries if "text" in e] == ["Ana here, let me look"]

        # A reload reads the whole history, in order, each entry once.
        async with socket(channels, token=token) as ws:
            me = Visitor(ws)
            await me.expect("the last entry", type="entry", text="Ana here, let me look")
            kinds = [(e["kind"], e.get("from"), e.get("text")) for e in me.entries]
            assert kinds == [
                ("message", "visitor", "Bonjour"),
                ("message", "bot", "How can I help?"),
                ("person", None, None),
                ("message", "agent", "Ana here, let me look"),
            ]

        # Another visitor, or a token whose MAC is not the service's, reads none of it.
        forged = f"{visitor}.{'0' * 64}"
        for other_token in (None, forged):
            async with socket(channels, token=other_token) as ws:
                other = Visitor(ws)
                welcome = await other.expect("welcome", type="welcome")
                assert not welcome["token"].startswith(visitor)
                with pytest.raises(AssertionError):
                    await poll(lambda: other.entries, timeout=1.0)  # noqa: B023 (read at once)
                await other.ws.ping()


async def test_limits_answer_with_error_frames_and_the_socket_goes_on(
    channels: ServiceProcess, infra: Infra, namespace: str
) -> None:
    async with TopicReader(infra, namespace, [topics.INBOUND]) as inbound, socket(channels) as ws:
        me = Visitor(ws)
        await me.expect("welcome", type="welcome")
        await ws.send("not json")
        await me.expect("invalid", type="error", code="invalid")
        await me.say("x" * 101, client_id="long")
        too_long = await me.expect("too long", type="error", client_id="long")
        assert too_long["code"] == "too_large"
        assert "100 characters" in too_long["detail"]
        await me.say("hi", client_id="v", identity={"email": "a@b.example", "verified": True})
        assert "verified" in (await me.expect("verified refused", type="error", client_id="v"))["detail"]

        # A signed identity goes through as it came: the context store checks it.
        signed = {"email": "camille@example.com", "signed_at": 1764460800, "signature": "ab" * 32}
        await me.say("hello", client_id="s", identity=signed)
        await me.expect("ack", type="ack", client_id="s")
        event = await inbound.wait_event(topics.INBOUND, lambda e: isinstance(e, MessageReceived))
        assert isinstance(event, MessageReceived)
        assert event.data.identity is not None
        assert event.data.identity.model_dump(exclude_none=True, exclude_defaults=True) == signed

        for n in range(6):  # 6 a minute: the first went already, five more fill the minute, one over
            await me.say(f"m{n}", client_id=f"r{n}")
        limited = await me.expect("rate limited", type="error", code="rate_limited")
        assert limited["retry_after_s"] > 0
        acked = {f["client_id"] for f in me.frames if f["type"] == "ack"}
        assert acked == {"s", "r0", "r1", "r2", "r3", "r4"}
        # Nothing refused was published: the accepted ones only.
        await poll(lambda: len(inbound.events(topics.INBOUND)) >= 6, what="the accepted messages")
        texts = sorted(e.data.text for e in inbound.events(topics.INBOUND) if isinstance(e, MessageReceived))
        assert texts == ["hello", "m0", "m1", "m2", "m3", "m4"]

        # Sockets per IP: 5; this one is the first, four more open, the sixth is refused with a reason.
        extra = [await socket(channels) for _ in range(4)]
        for other in extra:
            assert json.loads(await asyncio.wait_for(other.recv(), 5))["type"] == "welcome"
        try:
            async with socket(channels) as refused:
                frame = json.loads(await asyncio.wait_for(refused.recv(), 5))
                assert frame["type"] == "error"
                assert frame["code"] == "too_many_sockets"
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(refused.recv(), 5)
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 1008
            async with httpx.AsyncClient() as http:
                metrics = (await http.get(channels.url + "/metrics")).text
            assert "relais_channels_webchat_sockets 5.0" in metrics
            assert 'relais_channels_webchat_messages_total{direction="in"} 6.0' in metrics
            assert 'relais_channels_webchat_refused_total{code="too_many_sockets"} 1.0' in metrics
        finally:
            for other in extra:
                await other.close()
        await ws.ping()  # still open


async def test_the_widget_is_served_for_other_sites_and_the_page_under_a_strict_policy(
    channels: ServiceProcess,
) -> None:
    async with httpx.AsyncClient(base_url=channels.url) as http:
        widget = await http.get("/chat/widget.js")
        assert widget.status_code == 200
        assert widget.headers["content-type"].startswith("text/javascript")
        assert widget.headers["access-control-allow-origin"] == "*"  # module scripts load with CORS
        assert "innerHTML" not in widget.text  # text is drawn with textContent only
        page = await http.get("/chat/")
        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "default-src 'none'" in policy
        assert 'data-integrator="acme-web"' in page.text
        assert (await http.get("/chat/other.js")).status_code == 404

    origin = {"additional_headers": {"Origin": "https://evil.example"}}
    async with socket(channels, **origin) as ws:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert (frame["type"], frame["code"]) == ("error", "forbidden")
    async with socket(channels, additional_headers={"Origin": "https://shop.example"}) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "welcome"

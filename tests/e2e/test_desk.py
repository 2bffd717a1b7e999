"""The agent desk and the supervisor page in a real browser (Debian's Chromium, driven by Playwright)
against the whole system: the customer talks to the bot on two channels, asks for a person, and an agent
takes over in the desk with the whole story. Screenshots go to .local/artifacts/desk/."""

import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, WebSocketRoute, async_playwright, expect

from relais_contracts import topics
from relais_contracts.channel import MessageSend
from relais_platform.testing import Infra, RawPublisher, TopicReader
from tests.e2e.system import MODULES, TENANT, System, inbound, start_system

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling Google's hosts, which this closed
# network refuses.
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
    "--no-first-run", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / ".local" / "artifacts" / "desk"
ARTIFACTS.mkdir(parents=True, exist_ok=True)
HAVE_CHROMIUM = CHROMIUM.exists()
EMAIL = "camille@example.com"
PHONE = "+33611112222"
WAIT_MS = 30_000


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.fail(
            f"{CHROMIUM} is missing: `make install` installs Debian's chromium (never a downloaded one)"
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def system(infra: Infra, tmp_path: Path) -> AsyncIterator[System]:
    system = await start_system(infra, tmp_path, list(MODULES))
    try:
        yield system
    finally:
        system.stop()


def from_customer(text: str, channel: str, address: str) -> dict[str, Any]:
    """A customer message; the e-mail hint makes both channels one customer, with one conversation."""
    event = inbound(text, address=address, channel=channel)
    event["data"]["identity"] = {"email": EMAIL, "verified": True}  # a logged-in customer
    return event


async def say(channel: RawPublisher, text: str, on: str, address: str) -> None:
    await channel.event(
        topics.INBOUND, topics.inbound_key(TENANT, on, address), from_customer(text, on, address)
    )


async def log_in(page: Page, system: System, path: str, agent_id: str, *, supervisor: bool = False) -> None:
    await page.goto(f"{system.url('agent-gateway')}{path}")
    await page.get_by_test_id("login-tenant").fill(TENANT)
    await page.get_by_test_id("login-agent_id").fill(agent_id)
    await page.get_by_test_id("login-name").fill(agent_id.title())
    if supervisor:
        await page.get_by_test_id("login-supervisor").check()
    await page.get_by_test_id("login-submit").click()


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


class AckHold:
    """Between the desk and the gateway: relays every frame, but while `holding`, keeps the gateway's
    acks from the desk, as a connection that drops just before the ack arrives would."""

    def __init__(self) -> None:
        self.holding = False
        self.held: list[str] = []
        self.sockets: list[WebSocketRoute] = []

    def route(self, desk: WebSocketRoute) -> None:
        gateway = desk.connect_to_server()
        self.sockets.append(desk)

        def to_desk(frame: str | bytes) -> None:
            if self.holding and isinstance(frame, str) and json.loads(frame)["type"] == "ack":
                self.held.append(frame)
            else:
                desk.send(frame)

        gateway.on_message(to_desk)


async def go_available(page: Page) -> None:
    await expect(page.get_by_test_id("connection")).to_have_text("online", timeout=WAIT_MS)
    await page.get_by_test_id("presence").select_option("available")


async def test_an_agent_takes_over_with_the_whole_story_and_wraps_up(
    system: System, browser: Browser, infra: Infra
) -> None:
    reply_text = f"Bonjour Camille, je regarde la commande 4417 ({uuid.uuid4().hex[:6]})."
    async with (
        RawPublisher(infra, system.namespace) as channel,
        TopicReader(infra, system.namespace, [topics.OUTBOUND]) as outbound,
    ):
        # The bot first, on the web chat, then on WhatsApp: one customer, one conversation.
        await say(channel, "Bonjour", "webchat", "visitor-88")
        await outbound.wait_event(topics.OUTBOUND, lambda e: isinstance(e, MessageSend), what="bot greeting")
        await say(channel, "Ma commande 4417 n'est pas arrivée", "whatsapp", PHONE)
        await outbound.wait_event(
            topics.OUTBOUND, lambda e: e.data.channel == "whatsapp", what="bot answer on whatsapp"
        )

        page = await browser.new_page()
        relay = AckHold()
        await page.route_web_socket(re.compile(r"/v1/agent/ws"), relay.route)
        await log_in(page, system, "/desk/", "ana")
        await go_available(page)
        await say(channel, "je veux parler à un conseiller", "whatsapp", PHONE)

        offer = page.get_by_test_id("offer")
        await expect(offer).to_be_visible(timeout=WAIT_MS)
        await expect(offer.get_by_test_id("countdown")).to_contain_text("expires in")
        await shot(page, "1-offer")
        await offer.get_by_test_id("accept").click()

        timeline = page.get_by_test_id("timeline")
        await expect(timeline).to_contain_text("Ma commande 4417", timeout=WAIT_MS)
        await expect(timeline).to_contain_text("Bonjour")
        await expect(page.get_by_test_id("channels")).to_contain_text("webchat")
        await expect(page.get_by_test_id("channels")).to_contain_text("whatsapp")
        channels = await timeline.get_by_test_id("channel").all_inner_texts()
        assert {"webchat", "whatsapp"} <= set(channels)
        bot_lines = timeline.locator(".message.bot")
        assert await bot_lines.count() >= 2  # the bot's answers on both channels are there
        await expect(page.get_by_test_id("summary")).not_to_be_empty()
        await shot(page, "2-conversation")

        # The reply goes out but its ack is lost: the desk keeps the text, pending, until it has one.
        relay.holding = True
        box = page.get_by_test_id("reply-text")
        await box.fill(reply_text)
        await page.get_by_test_id("send-reply").click()
        sent = await outbound.wait_event(
            topics.OUTBOUND,
            lambda e: isinstance(e, MessageSend) and e.data.text == reply_text,
            what="the reply",
        )
        assert (sent.data.channel, sent.data.to.address) == ("whatsapp", PHONE)
        await expect(timeline).to_contain_text(reply_text)  # back from the log, in conversation order
        assert relay.held
        await expect(box).to_have_value(reply_text)
        await expect(page.get_by_test_id("reply-status")).to_contain_text("Sending")
        await shot(page, "3a-reply-pending")
        # The connection drops; the desk reconnects and sends the reply again with its client_msg_id:
        # acknowledged this time, and still one reply.
        relay.holding = False
        await relay.sockets[-1].close(code=1012, reason="restarting")
        await expect(box).to_have_value("", timeout=WAIT_MS)
        await expect(page.get_by_test_id("reply-status")).to_have_count(0)
        await page.get_by_test_id("note-text").fill("Refund already promised once")
        await page.get_by_test_id("add-note").click()
        await expect(timeline.get_by_test_id("note")).to_contain_text("Refund already promised once")
        # The note was posted after the resend, on the same partition: a second reply would show by now.
        await expect(timeline.get_by_text(reply_text)).to_have_count(1)
        await shot(page, "3-replied")

        # The supervisor sees the queue and Ana at work.
        supervisor = await browser.new_page()
        await log_in(supervisor, system, "/supervisor/", "sam", supervisor=True)
        agents = supervisor.get_by_test_id("agents")
        await expect(agents).to_contain_text("ana", timeout=WAIT_MS)
        await expect(supervisor.get_by_test_id("queues")).to_be_visible()
        await shot(supervisor, "4-supervisor")

        await page.get_by_test_id("disposition").select_option("resolved")
        await page.get_by_test_id("wrap-up").click()
        await expect(page.get_by_test_id("released")).to_contain_text("completed (resolved)", timeout=WAIT_MS)
        await shot(page, "5-wrapped-up")
        # The note never left: only the bot's answers and the agent's reply (once) went to the customer.
        assert not [e for e in outbound.events(topics.OUTBOUND) if "Refund already" in e.data.text]
        assert len([e for e in outbound.events(topics.OUTBOUND) if e.data.text == reply_text]) == 1


SCRIPT = "<script>window.__pwned = 1</script>"
IMAGE = '<img src=x onerror="window.__pwned = 1">'


async def test_customer_text_is_shown_as_text_never_run(
    system: System, browser: Browser, infra: Infra
) -> None:
    async with RawPublisher(infra, system.namespace) as channel:
        page = await browser.new_page()
        await log_in(page, system, "/desk/", "ana")
        await go_available(page)
        # In the bot's part of the story (the offer's transcript and the timeline), and live.
        await say(channel, f"je veux parler à un conseiller {IMAGE}", "webchat", "visitor-99")
        offer = page.get_by_test_id("offer")
        await expect(offer).to_contain_text(IMAGE, timeout=WAIT_MS)
        await offer.get_by_test_id("accept").click()
        timeline = page.get_by_test_id("timeline")
        await expect(timeline).to_contain_text(IMAGE, timeout=WAIT_MS)
        await say(channel, SCRIPT, "webchat", "visitor-99")
        await expect(timeline).to_contain_text(SCRIPT, timeout=WAIT_MS)
        await shot(page, "6-hostile-text")
        assert await page.evaluate("window.__pwned") is None
        assert await page.locator("main img, main script, aside img, aside script").count() == 0
        texts = await timeline.get_by_test_id("text").all_inner_texts()
        assert IMAGE in " ".join(texts)
        assert SCRIPT in texts
    # The page's own policy would not have run an injected script either.
    response = await page.request.get(f"{system.url('agent-gateway')}/desk/")
    assert "script-src 'self'" in response.headers["content-security-policy"]

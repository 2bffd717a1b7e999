"""The customers' web chat in a real browser (Debian's Chromium, driven by Playwright) against the whole
system and the channels service: a customer in the widget asks whether there is a customer service, the
bot asks back with quick replies, the customer clicks "Oui"; an agent in the desk accepts and replies;
the widget shows the agent's name and reply live, and again after a reload. Screenshots go to
.local/artifacts/webchat/."""

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from relais_platform.testing import Infra, ServiceProcess, service_env
from tests.e2e.system import MODULES, TENANT, System, start_system
from tests.e2e.test_desk import ARTIFACTS as DESK_ARTIFACTS
from tests.e2e.test_desk import WAIT_MS, browser, go_available, log_in

pytestmark = pytest.mark.e2e

__all__ = ["browser"]  # the fixture, shared with the desk's test
ARTIFACTS = DESK_ARTIFACTS.parent / "webchat"
ARTIFACTS.mkdir(parents=True, exist_ok=True)
SECRET = "acme-widget-secret-0123456789abcdef01"
UNSURE = "il y a un numéro pour vous joindre ?"


@pytest.fixture
async def system(infra: Infra, tmp_path: Path) -> AsyncIterator[tuple[System, ServiceProcess]]:
    system = await start_system(infra, tmp_path, list(MODULES))
    integrators = [
        {"id": "acme-web", "tenant": TENANT, "channels": ["webchat"], "secret": SECRET, "widget": True}
    ]
    env = service_env(infra, system.namespace, RELAIS_ENV="dev", RELAIS_INTEGRATORS=json.dumps(integrators))
    channels = ServiceProcess("relais_channels", env, tmp_path, "channels").start()
    try:
        await channels.wait_ready()
        yield system, channels
    finally:
        channels.terminate()
        system.stop()


async def test_a_customer_in_the_widget_reaches_an_agent_who_answers_live(
    system: tuple[System, ServiceProcess], browser: Browser
) -> None:
    relais, channels = system
    reply_text = f"Bonjour, ici Ana : je regarde votre commande ({uuid.uuid4().hex[:6]})."

    desk = await browser.new_page()
    await log_in(desk, relais, "/desk/", "ana")
    await go_available(desk)

    customer = await browser.new_page()
    await customer.goto(f"{channels.url}/chat/")
    chat = customer.locator(".relais-chat")
    await expect(chat.get_by_test_id("status")).to_have_text("online", timeout=WAIT_MS)
    await chat.get_by_test_id("input").fill(UNSURE)
    await chat.get_by_test_id("send").click()
    await expect(chat.get_by_test_id("message-visitor")).to_contain_text(UNSURE, timeout=WAIT_MS)
    # The bot is unsure: one question, with the answers as buttons; the customer clicks one.
    question = chat.get_by_test_id("message-bot").last
    await expect(question).to_contain_text("conseiller", timeout=WAIT_MS)
    buttons = chat.get_by_test_id("quick-replies").get_by_role("button")
    await expect(buttons).to_have_text(["Oui", "Non"])
    await customer.screenshot(path=ARTIFACTS / "1-quick-replies.png")
    await buttons.first.click()
    await expect(chat.get_by_test_id("message-visitor").last).to_have_text("Oui", timeout=WAIT_MS)

    offer = desk.get_by_test_id("offer")
    await expect(offer).to_be_visible(timeout=WAIT_MS)
    await offer.get_by_test_id("accept").click()
    await expect(desk.get_by_test_id("timeline")).to_contain_text(UNSURE, timeout=WAIT_MS)

    # The widget says a person took over, by name, before they write.
    await expect(chat.get_by_test_id("person")).to_have_text("You are talking with Ana", timeout=WAIT_MS)
    await expect(chat.get_by_test_id("notice").last).to_have_text("Ana joined the conversation")
    await customer.screenshot(path=ARTIFACTS / "2-agent-joined.png")

    await desk.get_by_test_id("reply-text").fill(reply_text)
    await desk.get_by_test_id("send-reply").click()
    agent_line = chat.get_by_test_id("message-agent")
    await expect(agent_line).to_contain_text(reply_text, timeout=WAIT_MS)
    await expect(agent_line).to_contain_text("Ana")
    await desk.screenshot(path=ARTIFACTS / "3-desk-replied.png", full_page=True)
    await customer.screenshot(path=ARTIFACTS / "3-agent-reply.png")

    # A reload: the same visitor (its token in the browser), its whole conversation, the agent still there.
    await customer.reload()
    chat = customer.locator(".relais-chat")
    await expect(chat.get_by_test_id("message-agent")).to_contain_text(reply_text, timeout=WAIT_MS)
    await expect(chat.get_by_test_id("message-visitor").first).to_have_text(UNSURE)
    await expect(chat.get_by_test_id("person")).to_have_text("You are talking with Ana")
    assert await chat.get_by_test_id("message-agent").count() == 1
    await customer.screenshot(path=ARTIFACTS / "4-after-reload.png")

    # Another browser (no token): a new visitor, who sees none of it.
    stranger = await (await browser.new_context()).new_page()
    await stranger.goto(f"{channels.url}/chat/")
    await expect(stranger.get_by_test_id("status")).to_have_text("online", timeout=WAIT_MS)
    assert await stranger.get_by_test_id("log").locator("li").count() == 0

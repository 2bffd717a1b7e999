"""The supervisor page in a real browser (Debian's Chromium, driven by Playwright) against the whole
system: Alice holds a conversation, the supervisor moves it to Bob from the page, Bob accepts it in his
desk, the supervisor whispers to him and sets Alice away; the charts draw. Screenshots go to the test's
tmp dir (and are copied to .local/artifacts/supervisor/)."""

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from relais_contracts import topics
from relais_contracts.conversation import WhisperAdded
from relais_contracts.routing import SupervisorMoveRequested, SupervisorPresenceSet
from relais_platform.testing import Infra, RawPublisher, TopicReader, all_consumed, desk_socket
from tests.e2e.system import ADDRESS, MODULES, TENANT, AgentSocket, System, inbound, start_system

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
# As in test_desk: without these Chromium keeps calling Google's hosts, which this network refuses.
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
    "--no-first-run", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / ".local" / "artifacts" / "supervisor"
WAIT_MS = 30_000
HAVE_CHROMIUM = CHROMIUM.exists()
WHISPER = "Offer the 10 % voucher, it is approved"


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
    system = await start_system(infra, tmp_path, list(MODULES), router={"RELAIS_VIEW_INTERVAL_S": "0.5"})
    try:
        yield system
    finally:
        system.stop()


async def log_in(page: Page, system: System, path: str, agent_id: str, *, supervisor: bool = False) -> None:
    await page.goto(f"{system.url('agent-gateway')}{path}")
    await page.get_by_test_id("login-tenant").fill(TENANT)
    await page.get_by_test_id("login-agent_id").fill(agent_id)
    await page.get_by_test_id("login-name").fill(agent_id.title())
    if supervisor:
        await page.get_by_test_id("login-supervisor").check()
    await page.get_by_test_id("login-submit").click()


async def test_a_supervisor_moves_a_conversation_and_whispers_from_the_page(
    system: System, browser: Browser, infra: Infra, tmp_path: Path
) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()

    async def shot(page: Page, name: str) -> None:
        await page.screenshot(path=shots / f"{name}.png", full_page=True)

    gateway = system.url("agent-gateway")
    errors: list[str] = []
    async with (
        RawPublisher(infra, system.namespace) as channel,
        TopicReader(infra, system.namespace, [topics.ROUTING, topics.CONVERSATIONS, topics.OUTBOUND]) as log,
        httpx.AsyncClient(timeout=30) as http,
    ):
        login = await http.post(
            f"{gateway}/v1/dev/login", json={"tenant": TENANT, "agent_id": "alice", "name": "Alice"}
        )
        async with desk_socket(gateway, login.json()["token"]) as alice_ws:
            alice = AgentSocket(alice_ws)
            await alice.expect("ready")
            await alice.send({"type": "presence", "presence": "available", "ref": "a1"})
            await alice.expect("ack", ref="a1")
            key = topics.inbound_key(TENANT, "webchat", ADDRESS)
            await channel.event(
                topics.INBOUND, key, inbound("My invoice is wrong, I want to speak to a person")
            )
            offer = await alice.expect("offer", timeout=60)
            conversation = offer["conversation_id"]
            await alice.send({"type": "accept", "offer_id": offer["offer_id"], "ref": "a2"})
            await alice.expect("assigned", conversation_id=conversation)

            # Bob at his desk, in the browser.
            desk = await browser.new_page()
            desk.on("pageerror", lambda e: errors.append(f"desk: {e}"))
            await log_in(desk, system, "/desk/", "bob")
            await expect(desk.get_by_test_id("connection")).to_have_text("online", timeout=WAIT_MS)
            await desk.get_by_test_id("presence").select_option("available")

            # The supervisor's page: Alice holds the conversation; select it and move it to Bob.
            page = await browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda e: errors.append(f"supervisor: {e}"))
            page.on(
                "console", lambda m: errors.append(f"supervisor: {m.text}") if m.type == "error" else None
            )
            await log_in(page, system, "/supervisor/", "sam", supervisor=True)
            alice_row = page.locator("[data-testid=agent-row][data-agent=alice]")
            await expect(alice_row.get_by_test_id("select-conversation")).to_have_text(
                conversation, timeout=WAIT_MS
            )
            await expect(page.locator("[data-testid=agent-row][data-agent=bob]")).to_contain_text(
                "available", timeout=WAIT_MS
            )
            await alice_row.get_by_test_id("select-conversation").click()
            await expect(page.get_by_test_id("selected-conversation")).to_have_text(conversation)
            await expect(page.get_by_test_id("holder")).to_have_text("with alice")
            # Watching, read only: the customer's words are there, and nothing on the page writes to them.
            await expect(page.get_by_test_id("watch")).to_contain_text("My invoice is wrong", timeout=WAIT_MS)
            await expect(page.locator("[data-testid=chart-waiting] canvas")).to_have_count(1, timeout=WAIT_MS)
            await shot(page, "1-supervisor-selected")

            await page.get_by_test_id("move-agent").select_option("bob")
            await page.get_by_test_id("move-note").fill("Bob handles invoices")
            await page.get_by_test_id("move").click()
            await expect(page.get_by_test_id("action-result")).to_contain_text(f"moved {conversation}")

            # Bob is offered it, accepts; Alice's desk is told who took it.
            offer_card = desk.get_by_test_id("offer")
            await expect(offer_card).to_be_visible(timeout=WAIT_MS)
            await offer_card.get_by_test_id("accept").click()
            taken = await alice.expect("conversation.taken", conversation_id=conversation)
            assert taken["by"] == {"id": "sam", "name": "Sam"}
            await expect(page.get_by_test_id("holder")).to_have_text("with bob", timeout=WAIT_MS)

            # The whisper: on Bob's desk as a note only he sees.
            await page.get_by_test_id("whisper-text").fill(WHISPER)
            await page.get_by_test_id("whisper").click()
            await expect(page.get_by_test_id("action-result")).to_contain_text("whispered")
            whisper = desk.get_by_test_id("whisper")
            await expect(whisper).to_be_visible(timeout=WAIT_MS)
            await expect(whisper.get_by_test_id("whisper-text")).to_have_text(WHISPER)
            await expect(whisper).to_contain_text("only you see this")
            await shot(desk, "2-desk-whisper")

            # Alice away for training, from her row.
            await alice_row.get_by_test_id("away-reason").select_option("training")
            await alice_row.get_by_test_id("set-away").click()
            await expect(alice_row.get_by_test_id("agent-state")).to_have_text(
                "away — training", timeout=WAIT_MS
            )
            status = await alice.expect("status")
            assert (status["status"], status["by"]["id"]) == ("away", "sam")
            await expect(page.get_by_test_id("watch")).to_contain_text("transferred: bob", timeout=WAIT_MS)
            await shot(page, "3-supervisor-after")

        move = await log.wait_event(topics.ROUTING, lambda e: isinstance(e, SupervisorMoveRequested))
        assert move.data.by.id == "sam"  # type: ignore[union-attr]
        await log.wait_event(topics.ROUTING, lambda e: isinstance(e, SupervisorPresenceSet))
        whispered = await log.wait_event(topics.CONVERSATIONS, lambda e: isinstance(e, WhisperAdded))
        assert whispered.data.agent_id == "bob"  # type: ignore[union-attr]
        await all_consumed(infra, system.namespace, hops=2)
        assert not [e for e in log.events(topics.OUTBOUND) if WHISPER in getattr(e.data, "text", "")]
    assert not errors, errors
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for png in shots.iterdir():
        shutil.copy(png, ARTIFACTS / png.name)

"""The desk's side of response-time clocks in a real browser (Debian's Chromium, driven by Playwright)
against the whole system: an agent accepts and says nothing; the desk warns that the first-response
target is near, then the router gives the conversation to another agent and the first agent's desk
says it was taken. Screenshots go to .local/artifacts/desk/."""

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from relais_contracts import topics
from relais_contracts.channel import MessageSend
from relais_platform.testing import Infra, RawPublisher, TopicReader
from tests.e2e.system import TENANT, inbound, start_system
from tests.e2e.test_desk import WAIT_MS, browser, go_available, log_in, shot

pytestmark = pytest.mark.e2e

__all__ = ["browser"]  # the fixture, imported to be found here

ADDRESS = "visitor-clock"
# The warning comes at 20% of the 30 s target (6 s), well before the reassignment at 15 s.
ROUTING = """
default_queue: general
queues:
  general:
    reassign_after_s: 15
    response: {first_response_s: 30, warning_at: 0.2}
"""


async def test_the_desk_warns_then_shows_the_conversation_taken_from_a_silent_agent(
    infra: Infra, tmp_path: Path, browser: Browser
) -> None:
    routing = tmp_path / "routing"
    routing.mkdir()
    (routing / f"{TENANT}.yaml").write_text(ROUTING)
    system = await start_system(
        infra,
        tmp_path,
        ["context-store", "bot", "router", "agent-gateway"],
        router={"RELAIS_ROUTING_CONFIG_DIR": str(routing)},
    )
    try:
        async with (
            RawPublisher(infra, system.namespace) as channel,
            TopicReader(infra, system.namespace, [topics.OUTBOUND]) as outbound,
        ):
            ana = await browser.new_page()
            await log_in(ana, system, "/desk/", "ana")
            await go_available(ana)
            key = topics.inbound_key(TENANT, "webchat", ADDRESS)
            await channel.event(topics.INBOUND, key, inbound("Bonjour", address=ADDRESS))
            await channel.event(
                topics.INBOUND, key, inbound("je veux parler à un conseiller", address=ADDRESS)
            )
            offer = ana.get_by_test_id("offer")
            await expect(offer).to_be_visible(timeout=WAIT_MS)
            await offer.get_by_test_id("accept").click()
            await expect(ana.get_by_test_id("timeline")).to_contain_text("conseiller", timeout=WAIT_MS)
            # Bob comes in after: nothing waits, so nothing is offered to him yet.
            bob = await browser.new_page()
            await log_in(bob, system, "/desk/", "bob")
            await go_available(bob)

            # Ana says nothing: her desk warns her before the target.
            clock = ana.get_by_test_id("clock")
            await expect(clock).to_contain_text("first-response: answer before", timeout=WAIT_MS)
            await expect(ana.get_by_test_id("released")).to_have_count(0)
            await shot(ana, "7-clock-warning")

            # Past reassign_after, the conversation is Bob's to take, and Ana's desk says why it left.
            released = ana.get_by_test_id("released")
            await expect(released).to_contain_text("No longer yours: reassigned", timeout=WAIT_MS)
            await expect(released).to_contain_text("given to another agent (no reply in time)")
            await expect(clock).to_have_count(0)  # her clock stopped with the conversation
            await shot(ana, "8-conversation-taken")
            second = bob.get_by_test_id("offer")
            await expect(second).to_contain_text("conseiller", timeout=WAIT_MS)  # with the transcript
            await shot(bob, "9-offered-to-another-agent")

            # And the customer is told, in their language, that someone else takes over.
            await outbound.wait_event(
                topics.OUTBOUND,
                lambda e: isinstance(e, MessageSend) and "prend le relais" in e.data.text,
                what="the reassignment notice",
            )
    finally:
        system.stop()

"""The takeover of issue 14, replayed against the whole system: a customer writes by email; a brand-new
web chat visitor sends that email as an unproven identity hint. The visitor stays a separate customer
with a claim, receives nothing of the victim's conversation, and the agent sees the claim in the desk's
conversation read; an agent's confirmation through the API links them (audit event on the log); a hint
signed by the tenant links at once."""

import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from relais_contracts import topics
from relais_contracts.channel import MessageSend
from relais_contracts.conversation import CustomerMessage, Opened
from relais_contracts.customers import IdentityConfirmed
from relais_platform.testing import Infra, RawPublisher, TopicReader, api_headers, poll
from tests.e2e.system import MODULES, TENANT, inbound, start_system

pytestmark = pytest.mark.e2e

SECRET = "e2e-acme-identity-signing-secret"
VICTIM = "victim@example.com"
VISITOR = "visitor-intruder"


def message(text: str, channel: str, address: str, identity: dict[str, Any] | None = None) -> dict[str, Any]:
    event = inbound(text, address=address, channel=channel)
    if identity is not None:
        event["data"]["identity"] = identity
    return event


async def test_an_unproven_email_hint_does_not_take_over_a_customers_conversation(
    infra: Infra, tmp_path: Path
) -> None:
    system = await start_system(
        infra,
        tmp_path,
        list(MODULES),
        **{"context-store": {"RELAIS_IDENTITY_SECRETS": f'{{"{TENANT}": "{SECRET}"}}'}},
    )
    followed = [topics.CONVERSATIONS, topics.OUTBOUND]
    try:
        store, gateway = system.url("context-store"), system.url("agent-gateway")
        async with (
            RawPublisher(infra, system.namespace) as channel,
            TopicReader(infra, system.namespace, followed) as reader,
            httpx.AsyncClient(timeout=30) as http,
        ):

            async def say(text: str, on: str, address: str, identity: dict[str, Any] | None = None) -> None:
                key = topics.inbound_key(TENANT, on, address)
                await channel.event(topics.INBOUND, key, message(text, on, address, identity))

            async def opened_by(address: str) -> Opened:
                found = await reader.wait_event(
                    topics.CONVERSATIONS,
                    lambda e: isinstance(e, Opened) and e.data.address == address,
                    what=f"{address}'s conversation",
                )
                assert isinstance(found, Opened)
                return found

            def sent(conversation: str) -> list[MessageSend]:
                return [
                    e
                    for e in reader.events(topics.OUTBOUND, lambda e: isinstance(e, MessageSend))
                    if isinstance(e, MessageSend) and e.subject == conversation
                ]

            # The victim writes by email; the bot answers them there.
            await say("Bonjour, où en est ma commande ?", "email", VICTIM)
            victim = await opened_by(VICTIM)
            await poll(lambda: sent(victim.subject or ""), timeout=60, what="the bot's answer to the victim")

            # A brand-new web chat visitor claims the victim's email, unproven.
            await say("Bonjour, c'est moi, où en est ma commande ?", "webchat", VISITOR, {"email": VICTIM})
            visitor = await opened_by(VISITOR)
            assert visitor.subject != victim.subject
            assert visitor.data.customer_id != victim.data.customer_id
            await poll(
                lambda: sent(visitor.subject or ""), timeout=60, what="the bot's answer to the visitor"
            )
            # The victim writes again: the answer goes to the victim, by email.
            await say("Merci de me répondre vite", "email", VICTIM)
            await poll(lambda: len(sent(victim.subject or "")) >= 2, timeout=60, what="the second answer")
            to_victim = {(s.data.channel, s.data.to.address) for s in sent(victim.subject or "")}
            assert to_victim == {("email", VICTIM)}
            # Nothing of the victim's conversation was ever addressed to the visitor's web chat.
            leaked = [
                e
                for e in reader.events(topics.OUTBOUND, lambda e: isinstance(e, MessageSend))
                if isinstance(e, MessageSend)
                and e.data.to.address == VISITOR
                and e.subject != visitor.subject
            ]
            assert leaked == []
            victim_words = [
                e.data.address
                for e in reader.events(topics.CONVERSATIONS, lambda e: isinstance(e, CustomerMessage))
                if isinstance(e, CustomerMessage) and e.subject == victim.subject
            ]
            assert victim_words == [VICTIM, VICTIM]

            # The agent desk's read of the visitor's conversation (a supervisor may read any) shows the
            # claim, masked, never the email itself.
            login = await http.post(
                f"{gateway}/v1/dev/login",
                json={"tenant": TENANT, "agent_id": "sup-1", "name": "Sam", "roles": ["supervisor"]},
            )
            desk = {"Authorization": f"Bearer {login.json()['token']}"}

            async def claims_in_desk() -> list[dict[str, Any]] | None:
                response = await http.get(f"{gateway}/v1/conversations/{visitor.subject}", headers=desk)
                return response.json().get("claims") if response.status_code == 200 else None

            (claim,) = await poll(claims_in_desk, what="the claim in the desk's conversation read")
            assert (claim["kind"], claim["masked"], claim["known_customer"]) == (
                "email",
                "v***@example.com",
                True,
            )
            desk_read = await http.get(f"{gateway}/v1/conversations/{visitor.subject}", headers=desk)
            assert VICTIM not in desk_read.text

            # An agent checks with the visitor and confirms through the context store's API, which only
            # an authenticated service may call.
            confirm_url = f"{store}/v1/customers/{visitor.data.customer_id}/claims/{claim['id']}/confirm"
            body = {"confirmed_by": "a-7", "role": "agent", "reason": "order number and postcode match"}
            anonymous = await http.post(confirm_url, headers={"X-Relais-Tenant": TENANT}, json=body)
            assert anonymous.status_code == 401
            confirmed = await http.post(confirm_url, headers=api_headers(TENANT), json=body)
            assert confirmed.status_code == 200, confirmed.text
            assert confirmed.json()["customer_id"] == victim.data.customer_id
            audit = await reader.wait_event(
                topics.CONVERSATIONS, lambda e: isinstance(e, IdentityConfirmed), what="the audit event"
            )
            assert isinstance(audit, IdentityConfirmed)
            assert (audit.subject, audit.data.confirmed_by, audit.data.customer_id) == (
                visitor.data.customer_id,
                "a-7",
                victim.data.customer_id,
            )
            # Linked: the visitor's next message joins the victim's conversation.
            await say("merci", "webchat", VISITOR)
            await reader.wait_event(
                topics.CONVERSATIONS,
                lambda e: (
                    isinstance(e, CustomerMessage)
                    and e.subject == victim.subject
                    and e.data.address == VISITOR
                ),
                what="the confirmed visitor in the customer's conversation",
            )

            # A logged-in visitor whose hint the tenant's backend signed is linked at once.
            now = int(time.time())
            # As docs/channel-contract.md tells a tenant's backend to: version, tenant, time, customer_ref,
            # email, phone, one per line, absent ones empty.
            base = f"relais-identity-v1\n{TENANT}\n{now}\n\n{VICTIM}\n"
            signature = hmac.new(SECRET.encode(), base.encode(), hashlib.sha256).hexdigest()
            await say(
                "me revoilà",
                "webchat",
                "visitor-logged-in",
                {"email": VICTIM, "signature": signature, "signed_at": now},
            )
            await reader.wait_event(
                topics.CONVERSATIONS,
                lambda e: (
                    isinstance(e, CustomerMessage)
                    and e.subject == victim.subject
                    and e.data.address == "visitor-logged-in"
                ),
                what="the signed visitor in the customer's conversation",
            )
    finally:
        system.stop()

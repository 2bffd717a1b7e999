"""Claimed identities in the running context store, against real Kafka and Redis: a claim of another
customer's email stays a claim, the conversation view shows it masked, an agent confirms it through the
API (audit event on the log), and a signed hint links at once."""

import time

import httpx
import pytest

from relais_context_store.domain.identity import sign_identity
from relais_contracts import topics
from relais_contracts.channel import IdentityHints, MessageSend
from relais_contracts.conversation import ChannelSwitched, CustomerMessage, Opened
from relais_contracts.customers import IdentityConfirmed
from relais_platform.testing import Infra, RawPublisher, TopicReader, api_headers, poll

from .conftest import Launch, channel_message, log_event

pytestmark = pytest.mark.integration

SECRET = "acme-identity-secret-for-tests"
VICTIM = "victim@example.com"


async def test_a_claim_stays_a_claim_until_an_agent_confirms_it_and_a_signature_links_at_once(
    infra: Infra, namespace: str, launch: Launch
) -> None:
    store = await launch(RELAIS_IDENTITY_SECRETS=f'{{"acme": "{SECRET}"}}')
    wanted = [topics.CONVERSATIONS, topics.OUTBOUND]
    async with (
        RawPublisher(infra, namespace) as channel,
        TopicReader(infra, namespace, wanted) as log,
        httpx.AsyncClient(base_url=store.url, headers=api_headers("acme"), timeout=10) as api,
    ):

        async def opened_by(address: str) -> Opened:
            found = await log.wait_event(
                topics.CONVERSATIONS,
                lambda e: isinstance(e, Opened) and e.data.address == address,
                what=f"{address}'s conversation",
            )
            assert isinstance(found, Opened)
            return found

        await channel.event(
            topics.INBOUND, f"acme:email:{VICTIM}", channel_message("my order?", "email", VICTIM)
        )
        victim = await opened_by(VICTIM)
        await poll(lambda: _known(api, "email", VICTIM), what="the victim's email linked")

        # A new web chat visitor says they are the victim, without proof.
        await channel.event(
            topics.INBOUND,
            "acme:webchat:visitor-1",
            channel_message(
                "it's me, what did you tell me?", "webchat", "visitor-1", identity={"email": VICTIM}
            ),
        )
        visitor = await opened_by("visitor-1")
        assert visitor.subject != victim.subject
        assert visitor.data.customer_id != victim.data.customer_id

        async def claims() -> list[dict[str, object]] | None:
            found = (await api.get(f"/v1/customers/{visitor.data.customer_id}")).json().get("claims")
            return found or None

        (claim,) = await poll(claims, what="the claim recorded on the visitor")
        assert claim["identity"] == {"kind": "email", "value": VICTIM}
        assert claim["other_customer_id"] == victim.data.customer_id
        # The agent's view of the visitor's conversation: masked, with the id to confirm it by.
        shown = (await api.get(f"/v1/conversations/{visitor.subject}")).json()["claims"]
        assert shown == [
            {"id": claim["id"], "kind": "email", "masked": "v***@example.com", "known_customer": True,
             "at": claim["at"]}
        ]  # fmt: skip
        assert VICTIM not in (await api.get(f"/v1/conversations/{visitor.subject}")).text
        # The victim's customer did not gain the visitor, nor their conversation a message.
        victim_view = (await api.get(f"/v1/customers/{victim.data.customer_id}")).json()
        assert [i["kind"] for i in victim_view["identities"]] == ["email"]
        victim_messages = [
            e
            for e in (await api.get(f"/v1/conversations/{victim.subject}/timeline")).json()
            if e["kind"] == "message"
        ]
        assert len(victim_messages) == 1

        # A reply in the victim's conversation goes to the victim's email, never to the visitor.
        reply = {
            "message_id": "r-1",
            "author": {"kind": "agent", "name": "Alex"},
            "text": "Your order ships today",
        }
        await channel.event(
            topics.CONVERSATIONS,
            victim.subject,
            log_event("relais.conversation.reply.posted", victim.subject, reply),
        )
        send = await log.wait_event(topics.OUTBOUND, lambda e: isinstance(e, MessageSend), what="the reply")
        assert isinstance(send, MessageSend)
        assert (send.data.channel, send.data.to.address) == ("email", VICTIM)

        # Confirmation: an unknown claim, another tenant, a bad body are refused.
        url = f"/v1/customers/{visitor.data.customer_id}/claims/{claim['id']}/confirm"
        assert (await api.post(f"/v1/customers/{visitor.data.customer_id}/claims/{'0' * 16}/confirm",
                               json={"confirmed_by": "agent-7"})).status_code == 404  # fmt: skip
        assert (
            await api.post(url, json={"confirmed_by": "agent-7"}, headers=api_headers("globex"))
        ).status_code == 404
        assert (await api.post(url, json={})).status_code == 422
        confirmed = await api.post(
            url, json={"confirmed_by": "agent-7", "role": "agent", "reason": "order number and postcode"}
        )
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["customer_id"] == victim.data.customer_id
        audit = await log.wait_event(
            topics.CONVERSATIONS, lambda e: isinstance(e, IdentityConfirmed), what="the audit event"
        )
        assert isinstance(audit, IdentityConfirmed)
        assert (audit.subject, audit.data.confirmed_by, audit.data.role, audit.data.customer_id) == (
            visitor.data.customer_id, "agent-7", "agent", victim.data.customer_id,
        )  # fmt: skip
        assert audit.data.reason == "order number and postcode"
        assert audit.data.via == "agent-gateway"  # the verified calling service, not a claim of the body
        assert await claims() is None  # no longer pending
        assert (await api.post(url, json={"confirmed_by": "agent-7"})).status_code == 404  # once
        lookup = await api.get(
            "/v1/lookup", params={"kind": "address", "channel": "webchat", "value": "visitor-1"}
        )
        assert lookup.json()["customer_id"] == victim.data.customer_id

        # The visitor's next message now joins the victim's conversation.
        await channel.event(
            topics.INBOUND, "acme:webchat:visitor-1", channel_message("thanks", "webchat", "visitor-1")
        )
        switched = await log.wait_event(
            topics.CONVERSATIONS,
            lambda e: isinstance(e, ChannelSwitched) and e.subject == victim.subject,
            what="the visitor joining the victim's conversation",
        )
        assert isinstance(switched, ChannelSwitched)

        # A signed hint links at once; a stale or forged one is a claim.
        now = int(time.time())
        hints = IdentityHints(email=VICTIM)
        stale_at = now - 3600
        for visitor_id, signature, signed_at in (
            ("visitor-stale", sign_identity(SECRET, "acme", hints, stale_at), stale_at),
            ("visitor-forged", sign_identity("not-the-secret", "acme", hints, now), now),
            ("visitor-signed", sign_identity(SECRET, "acme", hints, now), now),
        ):
            await channel.event(
                topics.INBOUND,
                f"acme:webchat:{visitor_id}",
                channel_message(
                    "hello",
                    "webchat",
                    visitor_id,
                    identity={"email": VICTIM, "signature": signature, "signed_at": signed_at},
                ),
            )
            message = await log.wait_event(
                topics.CONVERSATIONS,
                lambda e, v=visitor_id: isinstance(e, CustomerMessage) and e.data.address == v,
                what=f"{visitor_id}'s message",
            )
            expected_victim = visitor_id == "visitor-signed"
            assert (message.subject == victim.subject) is expected_victim, visitor_id


async def _known(api: httpx.AsyncClient, kind: str, value: str) -> bool:
    return (await api.get("/v1/lookup", params={"kind": kind, "value": value})).status_code == 200

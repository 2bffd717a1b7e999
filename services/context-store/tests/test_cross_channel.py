"""One customer, one conversation, across web chat, SMS and email; replies on the last channel; tenants
kept apart. Against real Kafka and Redis, the context store running as a real process."""

from datetime import UTC, datetime

import httpx
import pytest

from relais_contracts import topics
from relais_contracts.channel import MessageSend
from relais_contracts.conversation import DeliveryStatus, Opened
from relais_contracts.routing import WorkCancelled
from relais_platform.testing import Infra, RawPublisher, TopicReader, all_consumed, api_headers, poll

from .conftest import Launch, channel_message, get, log_event

pytestmark = pytest.mark.integration


async def test_a_customer_on_webchat_then_sms_then_email_has_one_conversation_and_replies_go_to_email(
    infra: Infra, namespace: str, launch: Launch
) -> None:
    store = await launch()
    wanted = [topics.CONVERSATIONS, topics.OUTBOUND, topics.ROUTING, topics.DEADLETTER]
    async with RawPublisher(infra, namespace) as channel, TopicReader(infra, namespace, wanted) as log:

        async def timeline(cid: str, tenant: str = "acme") -> list[dict[str, object]]:
            response = await get(store, f"/v1/conversations/{cid}/timeline", tenant)
            return response.json() if response.status_code == 200 else []

        async def messages(cid: str, count: int) -> list[dict[str, object]]:
            async def enough() -> list[dict[str, object]] | None:
                found = [e for e in await timeline(cid) if e["kind"] == "message"]
                return found if len(found) >= count else None

            found: list[dict[str, object]] = await poll(enough, what=f"{count} messages in the timeline")
            return found

        # Across channels the inbound topic gives no order (other keys, other partitions): a customer
        # does not write on two channels in the same millisecond either, so each message is awaited.
        await channel.event(
            topics.INBOUND,
            "acme:webchat:visitor-42",
            channel_message(
                "Bonjour, ma commande 12345678901234 n'arrive pas",
                "webchat",
                "visitor-42",
                identity={"email": "camille@example.com", "verified": True},
            ),
        )
        opened = await log.wait_event(topics.CONVERSATIONS, lambda e: isinstance(e, Opened), what="opened")
        assert isinstance(opened, Opened)
        cid, customer_id = opened.subject, opened.data.customer_id
        await messages(cid, 1)
        await channel.event(
            topics.INBOUND,
            "acme:sms:+33612345678",
            channel_message(
                "Je vous écris par SMS, ma carte 4111 1111 1111 1111",
                "sms",
                "+33612345678",
                identity={"email": "Camille@Example.com", "verified": True},
            ),
        )
        await messages(cid, 2)
        await channel.event(
            topics.INBOUND,
            "acme:email:camille@example.com",
            channel_message(
                "Et maintenant par email.",
                "email",
                "camille@example.com",
                identity={"phone": "+33 6 12 34 56 78", "verified": True},
            ),
        )
        said = await messages(cid, 3)
        assert [(m["channel"], m["text"]) for m in said] == [
            ("webchat", "Bonjour, ma commande 12345678901234 n'arrive pas"),  # not a card: kept
            ("sms", "Je vous écris par SMS, ma carte •••• •••• •••• 1111"),
            ("email", "Et maintenant par email."),
        ]
        entries = await timeline(cid)
        assert [e["kind"] for e in entries if e["kind"] != "message"] == [
            "opened",
            "channel_switched",
            "channel_switched",
        ]
        assert len(log.events(topics.CONVERSATIONS, lambda e: isinstance(e, Opened))) == 1

        # An agent replies: it goes out on email, the channel the customer used last.
        reply = log_event(
            "relais.conversation.reply.posted",
            cid,
            {
                "message_id": "agent-msg-1",
                "author": {"kind": "agent", "name": "Alex", "id": "agent-7"},
                "text": "Bonjour Camille, je regarde.",
            },
        )
        await channel.event(topics.CONVERSATIONS, cid, reply)
        sent = await log.wait_event(topics.OUTBOUND, lambda e: isinstance(e, MessageSend), what="the reply")
        assert isinstance(sent, MessageSend)
        assert (sent.data.channel, sent.data.to.address, sent.subject) == (
            "email",
            "camille@example.com",
            cid,
        )
        assert sent.data.author.kind == "agent"

        # The channel reports the email read: the timeline shows it on the agent's message.
        await channel.event(
            topics.INBOUND,
            "acme:email:camille@example.com",
            {
                "specversion": "1.0",
                "id": "dlv-1",
                "source": "test/email",
                "type": "relais.channel.delivery.updated",
                "time": datetime.now(UTC).isoformat(),
                "tenant": "acme",
                "data": {"message_id": "agent-msg-1", "status": "read"},
            },
        )

        async def read_report() -> bool:
            return any(
                e.get("message_id") == "agent-msg-1" and e.get("delivery", {}).get("status") == "read"
                for e in await timeline(cid)
            )

        await poll(read_report, what="the read report applied to the agent's message")

        # The customer: every identity, one conversation, one cross-channel timeline; found by identity.
        customer = (await get(store, f"/v1/customers/{customer_id}")).json()
        assert {(i["kind"], i["value"]) for i in customer["identities"]} == {
            ("address", "visitor-42"),
            ("email", "camille@example.com"),
            ("phone", "+33612345678"),
        }
        assert [c["id"] for c in customer["conversations"]] == [cid]
        assert customer["open_conversation"] == cid
        found = (await get(store, "/v1/lookup", kind="phone", value="+33 6 12 34 56 78")).json()
        assert (found["customer_id"], found["open_conversation"]) == (customer_id, cid)
        history = (await get(store, f"/v1/customers/{customer_id}/timeline")).json()
        assert [e["text"] for e in history if e["kind"] == "message"][-1] == "Bonjour Camille, je regarde."
        conversation = (await get(store, f"/v1/conversations/{cid}")).json()
        assert conversation["channels"] == ["email", "sms", "webchat"]
        assert {p["kind"] for p in conversation["participants"]} == {"customer", "agent"}

        # Where the agent may answer: every channel with an address (the phone identity gives WhatsApp).
        reachable = (await get(store, f"/v1/conversations/{cid}/reply-channels")).json()
        assert reachable == {
            "last_channel": "email",
            "channels": ["email", "rcs", "sms", "voice", "webchat", "whatsapp"],
        }
        assert (await get(store, f"/v1/conversations/{cid}/reply-channels", "globex")).status_code == 404

        # A reply on a channel the customer has no address on (posted by a client that skipped the
        # gateway's check) is recorded as a failed delivery; the reply after it goes out as usual.
        for message_id, chosen in (("agent-msg-2", "messenger"), ("agent-msg-3", "sms")):
            posted = {
                "message_id": message_id,
                "author": {"kind": "agent", "name": "Alex", "id": "agent-7"},
                "text": f"On {chosen}",
                "channel": chosen,
            }
            await channel.event(
                topics.CONVERSATIONS, cid, log_event("relais.conversation.reply.posted", cid, posted)
            )
        by_sms = await log.wait_event(
            topics.OUTBOUND, lambda e: isinstance(e, MessageSend) and e.data.message_id == "agent-msg-3"
        )
        assert isinstance(by_sms, MessageSend)
        assert (by_sms.data.channel, by_sms.data.to.address) == ("sms", "+33612345678")
        assert not log.events(topics.OUTBOUND, lambda e: e.data.message_id == "agent-msg-2")
        failed = log.events(
            topics.CONVERSATIONS, lambda e: isinstance(e, DeliveryStatus) and e.data.status == "failed"
        )
        assert [(e.data.message_id, e.data.status, e.data.reason) for e in failed] == [
            ("agent-msg-2", "failed", "the customer has no messenger address")
        ]

        async def failed_report() -> bool:
            return any(
                e.get("message_id") == "agent-msg-2" and e.get("delivery", {}).get("status") == "failed"
                for e in await timeline(cid)
            )

        await poll(failed_report, what="the failed delivery shown on the agent's message")
        await all_consumed(infra, namespace)  # a dead letter of any record so far would be out
        assert not [r for r in log.records if r.topic == f"{namespace}{topics.DEADLETTER}"]

        # Another tenant sees none of it.
        for path in (
            f"/v1/conversations/{cid}",
            f"/v1/customers/{customer_id}",
            f"/v1/customers/{customer_id}/timeline",
        ):
            assert (await get(store, path, tenant="globex")).status_code == 404
        assert (
            await get(store, "/v1/lookup", tenant="globex", kind="email", value="camille@example.com")
        ).status_code == 404
        assert (await get(store, f"/v1/conversations/{cid}", tenant="bad tenant!")).status_code == 422
        # An id that is not one is refused, never looked up as some other key.
        assert (await get(store, f"/v1/conversations/{cid}:timeline")).status_code == 422
        assert (await get(store, f"/v1/customers/{customer_id}:conversations")).status_code == 422

        # An operator links the customer's reference; it cannot be linked to someone else as well.
        async with httpx.AsyncClient(base_url=store.url, headers=api_headers("acme")) as api:
            linked = await api.post(
                f"/v1/customers/{customer_id}/identities", json={"kind": "customer_ref", "value": "C-9"}
            )
            assert linked.status_code == 201, linked.text
            bad = await api.post(
                f"/v1/customers/{customer_id}/identities", json={"kind": "phone", "value": "12"}
            )
            assert bad.status_code == 422
            assert "not a valid phone" in bad.text
        found = (await get(store, "/v1/lookup", kind="customer_ref", value="C-9")).json()
        assert found["customer_id"] == customer_id

        # Queued for an agent, the customer leaves: recorded, and the router is told to stop.
        queued = log_event(
            "relais.conversation.queued",
            cid,
            {"queue": "general", "position": 1, "enqueued_at": datetime.now(UTC).isoformat()},
            source="test/router",
        )
        await channel.event(topics.CONVERSATIONS, cid, queued)
        await poll(lambda: _state_is(store, cid, "waiting"), what="the conversation waiting")
        await channel.event(
            topics.INBOUND,
            "acme:email:camille@example.com",
            {
                "specversion": "1.0",
                "id": "left-1",
                "source": "test/email",
                "type": "relais.channel.session.ended",
                "time": datetime.now(UTC).isoformat(),
                "tenant": "acme",
                "data": {"channel": "email", "from": {"address": "camille@example.com"}},
            },
        )
        cancelled = await log.wait_event(
            topics.ROUTING, lambda e: isinstance(e, WorkCancelled), what="cancel"
        )
        assert isinstance(cancelled, WorkCancelled)
        assert (cancelled.data.conversation_id, cancelled.data.reason) == (cid, "customer-left")
        assert "customer_left" in [e["kind"] for e in await timeline(cid)]

        # Someone else writes from another web chat: a second customer. When Camille's phone then
        # writes with that other person's email, the hint names another customer: recorded, not merged.
        await channel.event(
            topics.INBOUND,
            "acme:webchat:visitor-77",
            channel_message(
                "hello",
                "webchat",
                "visitor-77",
                identity={"email": "dominique@example.com", "verified": True},
            ),
        )
        other = await log.wait_event(
            topics.CONVERSATIONS,
            lambda e: isinstance(e, Opened) and e.subject != cid,
            what="another customer",
        )
        assert isinstance(other, Opened)
        assert other.data.customer_id != customer_id
        await poll(lambda: _known(store, "dominique@example.com"), what="the other customer's email known")
        await channel.event(
            topics.INBOUND,
            "acme:sms:+33612345678",
            channel_message(
                "c'est encore moi",
                "sms",
                "+33612345678",
                identity={"email": "dominique@example.com", "verified": True},
            ),
        )

        async def conflicts() -> list[dict[str, object]] | None:
            found = (await get(store, f"/v1/customers/{customer_id}")).json()["conflicts"]
            return found or None

        (conflict,) = await poll(conflicts, what="the conflict recorded")
        assert conflict["other_customer_id"] == other.data.customer_id
        assert conflict["identity"] == {"kind": "email", "value": "dominique@example.com"}
        emails = {i["value"] for i in (await get(store, f"/v1/customers/{customer_id}")).json()["identities"]}
        assert "dominique@example.com" not in emails

        # The operator unlinks the reference again.
        async with httpx.AsyncClient(base_url=store.url, headers=api_headers("acme")) as api:
            assert (
                await api.delete(f"/v1/customers/{customer_id}/identities/customer_ref/C-9")
            ).status_code == 204
            assert (
                await api.delete(f"/v1/customers/{customer_id}/identities/customer_ref/C-9")
            ).status_code == 404
        assert (await get(store, "/v1/lookup", kind="customer_ref", value="C-9")).status_code == 404


async def _known(store: object, email: str) -> bool:
    return (await get(store, "/v1/lookup", kind="email", value=email)).status_code == 200  # type: ignore[arg-type]


async def _state_is(store: object, cid: str, state: str) -> bool:
    response = await get(store, f"/v1/conversations/{cid}")  # type: ignore[arg-type]
    return response.status_code == 200 and response.json()["state"] == state

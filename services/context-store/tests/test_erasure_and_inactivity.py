"""Right to erasure (crypto-shredding) and the inactivity timeout, against real Kafka and Redis."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from redis.asyncio import Redis

from relais_context_store.service_layer.sealing import open_events
from relais_contracts import Outgoing, decode, topics
from relais_contracts.conversation import Closed, CustomerMessage, NoteAdded, Opened, ReplyPosted
from relais_contracts.routing import WorkCancelled
from relais_platform.sealing import ERASED_TEXT, CustomerKeys, seal_replies, unseal_messages, unseal_replies
from relais_platform.settings import ServiceSettings
from relais_platform.testing import Infra, RawPublisher, TopicReader, api_headers, poll

from .conftest import ADMIN_TOKEN, Launch, channel_message, get, log_event, redis_dump

pytestmark = pytest.mark.integration

# The erased customer's channel addresses and identity values (one linked by an operator): in the views
# before, never in clear on the log, nowhere readable after.
PERSONAL = ("visitor-9", "+33611111111", "nadia@example.com", "nadia.work@example.com")


async def test_after_erasure_no_plaintext_of_the_customer_remains_in_redis_or_in_a_replay_of_the_log(
    infra: Infra, namespace: str, launch: Launch
) -> None:
    store = await launch(RELAIS_SEAL_TENANTS='["acme"]')
    marker = f"Zanzibar{uuid.uuid4().hex[:8]}"
    async with (
        RawPublisher(infra, namespace) as channel,
        TopicReader(infra, namespace, [topics.CONVERSATIONS]) as log,
    ):
        first = channel_message(
            f"my secret is {marker}, card 4111 1111 1111 1111",
            "webchat",
            "visitor-9",
            name=f"Nadia {marker}",
            identity={"email": "nadia@example.com", "verified": True},
        )
        # An attachment's URL leads to the customer's file: sealed with the text, never in clear.
        attachment = {"url": f"https://files.example.com/{marker}/id-card.jpg", "content_type": "image/jpeg"}
        first["data"]["attachments"] = [attachment]
        await channel.event(topics.INBOUND, "acme:webchat:visitor-9", first)
        opened = await log.wait_event(topics.CONVERSATIONS, lambda e: isinstance(e, Opened), what="opened")
        assert isinstance(opened, Opened)
        cid, customer_id = opened.subject, opened.data.customer_id
        await channel.event(
            topics.INBOUND,
            "acme:sms:+33611111111",
            channel_message(
                f"again {marker} by SMS",
                "sms",
                "+33611111111",
                name=f"Nadia {marker}",
                identity={"email": "nadia@example.com", "verified": True},
            ),
        )
        await channel.event(
            topics.INBOUND,
            "acme:webchat:visitor-10",
            channel_message("someone else", "webchat", "visitor-10"),
        )

        async def views_hold(count: int) -> bool:
            response = await get(store, f"/v1/conversations/{cid}/timeline")
            return (
                response.status_code == 200 and sum(e["kind"] == "message" for e in response.json()) == count
            )

        await poll(lambda: views_hold(2), what="both messages in the views")
        other = await log.wait_event(
            topics.CONVERSATIONS,
            lambda e: isinstance(e, Opened) and e.subject != cid,
            what="the other customer",
        )
        # The views serve the text in clear (redacted); the log only carries it sealed.
        said = (await get(store, f"/v1/conversations/{cid}/timeline")).json()
        assert said[1]["text"] == f"my secret is {marker}, card •••• •••• •••• 1111"
        assert all(marker.encode() not in r.value for r in log.records)
        sealed = log.events(
            topics.CONVERSATIONS, lambda e: isinstance(e, CustomerMessage) and e.subject == cid
        )
        redis = Redis.from_url(infra.redis_url)
        keys = CustomerKeys(redis, ServiceSettings(namespace=namespace))
        opened_sealed = await unseal_messages(keys, sealed)  # type: ignore[arg-type]
        assert [m.data.text for m in opened_sealed] == [
            f"my secret is {marker}, card •••• •••• •••• 1111",
            f"again {marker} by SMS",
        ]
        assert [a.url for a in opened_sealed[0].data.attachments] == [attachment["url"]]
        # The conversation's opening on the log carries no email hint either.
        assert b"nadia@example.com" not in next(
            r.value for r in log.records if b'"relais.conversation.opened"' in r.value
        )
        # The bot's reply and an agent's note, sealed in the customer's key by their writers; the views
        # show them in clear.
        reply_text, note_text = f"your order {marker} ships today", f"called {marker} back"
        written = [
            ReplyPosted.model_validate(
                log_event(
                    "relais.conversation.reply.posted",
                    cid,
                    {
                        "message_id": "r-1",
                        "author": {"kind": "bot", "name": "Relais"},
                        "text": reply_text,
                    },
                    source="test/bot",
                )
            ),
            NoteAdded.model_validate(
                log_event(
                    "relais.conversation.note.added",
                    cid,
                    {
                        "note_id": "n-1",
                        "author": {"kind": "agent", "name": "Ana", "id": "a-1"},
                        "text": note_text,
                    },
                )
            ),
        ]
        sealed_writes = await seal_replies(
            keys, [Outgoing(topics.CONVERSATIONS, cid, w) for w in written], {("acme", cid): customer_id}
        )
        for o in sealed_writes:
            assert isinstance(o.event, ReplyPosted | NoteAdded)
            assert o.event.data.sealed
            assert marker.encode() not in o.event.to_json()
            await channel.event(topics.CONVERSATIONS, cid, json.loads(o.event.to_json()))

        async def written_shown() -> bool:
            texts = {e.get("text") for e in (await get(store, f"/v1/conversations/{cid}/timeline")).json()}
            return {reply_text, note_text} <= texts

        await poll(written_shown, what="the sealed reply and note in clear in the timeline")
        async with httpx.AsyncClient(base_url=store.url, headers=api_headers("acme")) as api:
            work = {"kind": "email", "value": "nadia.work@example.com"}
            linked = await api.post(f"/v1/customers/{customer_id}/identities", json=work)
            assert linked.status_code == 201, linked.text
        await log.wait_event(
            topics.CONVERSATIONS,
            lambda e: e.type == "relais.customer.identity.linked" and e.id == linked.json()["event_id"],
            what="the operator's link on the log",
        )
        # The views hold the addresses and identities in clear (replies are routed with them); the log
        # carries none of them in clear, in its values or its keys.
        dump = repr(await redis_dump(infra, namespace, prefix="relais:"))
        assert marker in dump
        assert all(word in dump for word in PERSONAL)
        assert not [w for w in PERSONAL for r in log.records if w.encode() in r.value + (r.key or b"")]
        other_address = log.events(topics.CONVERSATIONS, lambda e: e.subject == other.subject)
        assert all(b"visitor-10" not in e.to_json() for e in other_address)

        # Erasure: only with the admin token, only in the caller's tenant; then nothing of the customer
        # is readable anywhere.
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with httpx.AsyncClient(base_url=store.url, timeout=30) as client:
            anonymous = await client.delete(
                f"/v1/customers/{customer_id}", headers={"X-Relais-Tenant": "acme"}
            )
            assert anonymous.status_code == 401
            foreign = await client.delete(
                f"/v1/customers/{customer_id}", headers={"X-Relais-Tenant": "globex", **admin}
            )
            assert foreign.status_code == 404
            erased = await client.delete(
                f"/v1/customers/{customer_id}", headers={"X-Relais-Tenant": "acme", **admin}
            )
        assert erased.status_code == 200, erased.text
        assert erased.json()["conversations"] == [cid]
        assert erased.json()["key_destroyed"] is True

        async def nothing_left() -> bool:
            dump = repr(await redis_dump(infra, namespace, prefix="relais:"))
            return marker not in dump and not any(word in dump for word in PERSONAL)

        await poll(nothing_left, what="no plaintext, address or identity value of the customer in Redis")
        assert (await get(store, f"/v1/conversations/{cid}")).status_code == 404
        assert (await get(store, f"/v1/customers/{customer_id}")).status_code == 404
        assert (await get(store, "/v1/lookup", kind="email", value="nadia@example.com")).status_code == 404

    # A replay of the whole log: the sealed text can no longer be opened.
    async with TopicReader(infra, namespace, [topics.CONVERSATIONS]) as replay:
        erased_event = await replay.wait_event(
            topics.CONVERSATIONS, lambda e: e.type == "relais.customer.erased", what="the erasure on the log"
        )
        assert erased_event.subject == customer_id
        records = list(replay.records)
    assert all(marker.encode() not in r.value for r in records)
    messages = [e for r in records if isinstance(e := decode(r.value), CustomerMessage) and e.subject == cid]
    assert len(messages) == 2
    shredded = await unseal_messages(keys, messages)
    assert [m.data.text for m in shredded] == [ERASED_TEXT, ERASED_TEXT]
    assert [m.data.attachments for m in shredded] == [(), ()]
    writes = [
        e for r in records if isinstance(e := decode(r.value), ReplyPosted | NoteAdded) and e.subject == cid
    ]
    assert len(writes) == 2
    assert [w.data.text for w in await unseal_replies(keys, writes)] == [ERASED_TEXT, ERASED_TEXT]
    # Their addresses and identity values cannot be opened any more either: the materializer's reading
    # of the log leaves the identity events out and reads the addresses as erased.
    replayed = await open_events(keys, [decode(r.value) for r in records])
    opened_dump = "".join(e.to_json().decode() for e in replayed)
    assert not [word for word in PERSONAL if word in opened_dump]
    assert "visitor-10" in opened_dump  # the other customer's address opens as before
    await redis.aclose()

    # A rebuild replays that log: the customer stays erased, the other customer is back as before.
    before = (await get(store, f"/v1/conversations/{other.subject}")).json()
    async with httpx.AsyncClient(base_url=store.url, timeout=60) as client:
        rebuilt = await client.post("/v1/admin/rebuild", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert rebuilt.status_code == 200, rebuilt.text
    dump = repr(await redis_dump(infra, namespace, prefix="relais:"))
    assert marker not in dump
    assert not [word for word in PERSONAL if word in dump]  # the identity events replayed, then erased
    assert (await get(store, f"/v1/conversations/{cid}")).status_code == 404
    assert (await get(store, f"/v1/conversations/{other.subject}")).json() == before


async def test_a_silent_conversation_is_closed_by_the_sweep_and_the_next_message_opens_another(
    infra: Infra, namespace: str, launch: Launch
) -> None:
    store = await launch(RELAIS_INACTIVITY_TIMEOUT_S="600", RELAIS_SWEEP_INTERVAL_S="0.3")
    # Silent for 600 s only 12 s from now: time enough for the `queued` event below to be materialized
    # first (a conversation silent from the start could close before it, and then nothing is cancelled).
    long_ago = datetime.now(UTC) - timedelta(seconds=588)
    wanted = [topics.CONVERSATIONS, topics.ROUTING]
    async with RawPublisher(infra, namespace) as channel, TopicReader(infra, namespace, wanted) as log:
        await channel.event(
            topics.INBOUND,
            "acme:whatsapp:+33622222222",
            channel_message("hello", "whatsapp", "+33622222222", at=long_ago),
        )
        opened = await log.wait_event(topics.CONVERSATIONS, lambda e: isinstance(e, Opened), what="opened")
        first = opened.subject
        # Waiting in a queue when it closes: the router is told to let it go.
        await channel.event(
            topics.CONVERSATIONS,
            first,
            log_event(
                "relais.conversation.queued",
                first,
                {"queue": "general", "position": 1, "enqueued_at": long_ago.isoformat()},
                at=long_ago,
            ),
        )
        closed = await log.wait_event(topics.CONVERSATIONS, lambda e: isinstance(e, Closed), what="the close")
        assert isinstance(closed, Closed)
        assert (closed.subject, closed.data.reason) == (first, "inactivity")
        assert closed.time == long_ago + timedelta(seconds=600)  # from the events, not the sweep's clock
        cancelled = await log.wait_event(
            topics.ROUTING, lambda e: isinstance(e, WorkCancelled), what="cancel"
        )
        assert isinstance(cancelled, WorkCancelled)
        assert (cancelled.data.conversation_id, cancelled.data.reason) == (first, "closed")

        async def first_closed() -> bool:
            response = await get(store, f"/v1/conversations/{first}")
            return response.status_code == 200 and response.json()["state"] == "closed"

        await poll(first_closed, what="the conversation closed in the views")
        await channel.event(
            topics.INBOUND,
            "acme:whatsapp:+33622222222",
            channel_message("back again", "whatsapp", "+33622222222"),
        )
        second = await log.wait_event(
            topics.CONVERSATIONS,
            lambda e: isinstance(e, Opened) and e.subject != first,
            what="a new conversation",
        )
        assert isinstance(second, Opened)
        assert second.data.customer_id == opened.data.customer_id
        # Every sweep that ran since wrote the same close again at most: one close, by id.
        assert len({e.id for e in log.events(topics.CONVERSATIONS, lambda e: isinstance(e, Closed))}) == 1

        async def history() -> list[str] | None:
            customer = (await get(store, f"/v1/customers/{second.data.customer_id}")).json()
            ids = [c["id"] for c in customer["conversations"]]
            return ids if len(ids) == 2 and customer["open_conversation"] == second.subject else None

        assert await poll(history, what="both conversations in the history") == [first, second.subject]

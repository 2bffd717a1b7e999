"""No record cuts a customer off: a tombstone on the inbound topic is dead-lettered and the flow goes
on; two integrators that reuse one event id are two customers, each stored and answered."""

from pathlib import Path

import pytest

from relais_contracts import topics
from relais_contracts.channel import MessageSend
from relais_contracts.conversation import CustomerMessage, Opened
from relais_platform.testing import Infra, RawPublisher, TopicReader, poll
from tests.e2e.system import inbound, start_system

pytestmark = pytest.mark.e2e


async def test_a_tombstone_and_a_reused_id_cut_no_customer_off(infra: Infra, tmp_path: Path) -> None:
    system = await start_system(infra, tmp_path, ["context-store", "bot"])
    try:
        async with (
            TopicReader(
                infra, system.namespace, [topics.DEADLETTER, topics.CONVERSATIONS, topics.OUTBOUND]
            ) as reader,
            RawPublisher(infra, system.namespace) as channel,
        ):
            # A null value, as any Kafka client sends by mistake: it once crashed the context store.
            await channel._producer.send_and_wait(
                f"{system.namespace}{topics.INBOUND}", value=None, key=b"acme:webchat:ghost"
            )
            first = inbound("Bonjour, ma commande n'est pas arrivée", address="visitor-a")
            second = {**inbound("Hello, where is my parcel?", address="visitor-b"), "id": first["id"]}
            first["source"], second["source"] = "integrator-a/webchat", "integrator-b/webchat"
            for event in (first, second):
                await channel.event(
                    topics.INBOUND,
                    topics.inbound_key("acme", "webchat", event["data"]["from"]["address"]),
                    event,
                )

            def stored() -> list[CustomerMessage]:
                return [e for e in reader.events(topics.CONVERSATIONS) if isinstance(e, CustomerMessage)]

            messages = await poll(
                lambda: stored() if len(stored()) >= 2 else None, timeout=60, what="both stored"
            )
            assert {m.data.text for m in messages} == {first["data"]["text"], second["data"]["text"]}
            assert len({m.subject for m in messages}) == 2, "two conversations"
            opened = [e for e in reader.events(topics.CONVERSATIONS) if isinstance(e, Opened)]
            assert len({o.data.customer_id for o in opened}) == 2, "two customers, never merged"

            def answered() -> set[str]:
                return {
                    e.data.to.address for e in reader.events(topics.OUTBOUND) if isinstance(e, MessageSend)
                }

            await poll(lambda: answered() >= {"visitor-a", "visitor-b"}, timeout=60, what="both answered")
            letters = [r for r in reader.records if r.topic == f"{system.namespace}{topics.DEADLETTER}"]
            assert [dict(r.headers)["relais.dlq.reason"] for r in letters] == [b"null-value"]
    finally:
        system.stop()

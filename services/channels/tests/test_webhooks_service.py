"""Webhooks as a real process on real Kafka and Redis, to real local HTTP servers: each message is POSTed
signed, in order per address, retried after a failure; a callback that is down holds back no other
integrator, and is given up: reported `failed` and dead-lettered."""

import json
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from relais_channels.domain.signing import verify
from relais_contracts import topics
from relais_contracts.channel import DeliveryUpdated, MessageSend
from relais_platform.testing import (
    Infra,
    RawPublisher,
    ReceivedRequest,
    ServiceProcess,
    TopicReader,
    WebhookReceiver,
    create_topics,
    poll,
    service_env,
)

pytestmark = pytest.mark.integration

SECRET = "acme-hook-secret-0123456789abcdef01"


def send(text: str, address: str, channel: str = "sms") -> MessageSend:
    return MessageSend.model_validate(
        {
            "id": str(uuid.uuid4()),
            "source": "relais/context-store",
            "time": datetime.now(UTC),
            "tenant": "acme",
            "subject": "conv-1",
            "data": {
                "channel": channel,
                "to": {"address": address},
                "text": text,
                "message_id": f"msg-{text}",
                "author": {"kind": "bot", "name": "Relais"},
            },
        }
    )


async def test_webhooks_in_order_retried_and_a_down_callback_given_up_alone(
    infra: Infra, namespace: str, tmp_path: Path
) -> None:
    await create_topics(infra, namespace)
    attempts: Counter[str] = Counter()

    def flaky(request: ReceivedRequest) -> int:
        text = json.loads(request.body)["data"]["text"]
        attempts[text] += 1
        return 503 if text == "a2" and attempts[text] == 1 else 200  # a2 fails once, then goes

    async with WebhookReceiver(flaky) as hook:
        integrators = [
            {
                "id": "acme-sms",
                "tenant": "acme",
                "channels": ["sms"],
                "secret": SECRET,
                "callback_url": hook.url + "/in",
            },
            # Nobody listens on port 9 (discard): every attempt fails at once.
            {
                "id": "acme-down",
                "tenant": "acme",
                "channels": ["whatsapp"],
                "secret": SECRET,
                "callback_url": "http://127.0.0.1:9/hook",
            },
        ]
        env = service_env(
            infra,
            namespace,
            RELAIS_INTEGRATORS=json.dumps(integrators),
            RELAIS_WEBHOOK_BACKOFF_BASE_S="0.05",
            RELAIS_WEBHOOK_BACKOFF_MAX_S="0.5",
            RELAIS_WEBHOOK_GIVE_UP_AFTER_S="4",
            RELAIS_WEBHOOK_POLL_S="0.05",
        )
        proc = ServiceProcess("relais_channels", env, tmp_path).start()
        try:
            await proc.wait_ready()
            async with (
                TopicReader(infra, namespace, [topics.INBOUND, topics.DEADLETTER]) as reader,
                RawPublisher(infra, namespace) as outbound,
            ):
                down = send("lost", "+15550009", channel="whatsapp")
                await outbound.event(
                    topics.OUTBOUND, topics.inbound_key("acme", "whatsapp", "+15550009"), down
                )
                for address, texts in (("+15550001", ["a1", "a2", "a3"]), ("+15550002", ["b1", "b2"])):
                    key = topics.inbound_key("acme", "sms", address)
                    await outbound.events(topics.OUTBOUND, key, [send(t, address) for t in texts])
                # Redelivered by Kafka (a crash before the commit): still delivered once.
                again = send("a3", "+15550001")
                await outbound.event(topics.OUTBOUND, topics.inbound_key("acme", "sms", "+15550001"), again)

                def delivered() -> list[str]:
                    return [json.loads(r.body)["data"]["text"] for r in hook.requests]

                await poll(lambda: {"a3", "b2"} <= set(delivered()), timeout=20, what="the webhooks")
                # Per address in order, a2 after its retry and before a3; nothing waited for the down one.
                texts = delivered()
                assert [t for t in texts if t.startswith("a")] == ["a1", "a2", "a2", "a3"]
                assert [t for t in texts if t.startswith("b")] == ["b1", "b2"]
                assert not reader.events(topics.INBOUND, lambda e: isinstance(e, DeliveryUpdated))

                # Each POST is the outbound event, signed with the integrator's secret.
                for request in hook.requests:
                    assert request.path == "/in"
                    assert request.headers["content-type"] == "application/cloudevents+json"
                    assert request.headers["relais-integrator"] == "acme-sms"
                    verify(
                        request.headers["relais-signature"],
                        (SECRET.encode(),),
                        request.body,
                        time.time(),
                        300,
                    )

                # The down callback is given up after its window: reported failed, dead-lettered.
                report = await reader.wait_event(
                    topics.INBOUND,
                    lambda e: isinstance(e, DeliveryUpdated),
                    timeout=20,
                    what="the failed report",
                )
                assert isinstance(report, DeliveryUpdated)
                assert (report.data.message_id, report.data.status) == ("msg-lost", "failed")
                assert "ConnectError" in (report.data.reason or "")
                dead = await poll(
                    lambda: [r for r in reader.records if r.topic == f"{namespace}{topics.DEADLETTER}"],
                    timeout=10,
                )
                headers = dict(dead[0].headers)
                assert headers["relais.dlq.reason"] == b"webhook"
                assert headers["relais.dlq.integrator"] == b"acme-down"
                assert json.loads(dead[0].value)["id"] == down.id
        finally:
            proc.terminate()

"""An integrator without Kafka credentials: a signed HTTP event reaches the bot, whose reply arrives on
the integrator's webhook (a real local HTTP server), signed; unsigned or stale requests get 401 and put
nothing on Kafka."""

import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from relais_channels.domain.signing import sign, verify
from relais_contracts import topics
from relais_platform.testing import (
    Infra,
    ServiceProcess,
    TopicReader,
    WebhookReceiver,
    poll,
    service_env,
)
from tests.e2e.system import TENANT, System, inbound, start_system

pytestmark = pytest.mark.e2e

SECRET = "acme-sms-provider-secret-0123456789ab"


@pytest.fixture
async def bot_system(infra: Infra, tmp_path: Path) -> AsyncIterator[System]:
    """The context store and the bot: what answers a customer."""
    system = await start_system(infra, tmp_path, ["context-store", "bot"])
    try:
        yield system
    finally:
        system.stop()


async def test_a_signed_http_event_gets_the_bots_reply_on_the_webhook(
    bot_system: System, tmp_path: Path
) -> None:
    async with WebhookReceiver() as hook:
        integrators = [
            {
                "id": "acme-sms",
                "tenant": TENANT,
                "channels": ["sms"],
                "secret": SECRET,
                "callback_url": hook.url,
            }
        ]
        env = service_env(
            bot_system.infra,
            bot_system.namespace,
            RELAIS_ENV="dev",
            RELAIS_INTEGRATORS=json.dumps(integrators),
        )
        channels = ServiceProcess("relais_channels", env, tmp_path, "channels").start()
        try:
            await channels.wait_ready()
            async with (
                TopicReader(bot_system.infra, bot_system.namespace, [topics.INBOUND]) as reader,
                httpx.AsyncClient(base_url=channels.url) as http,
            ):
                event = inbound("Bonjour, où est ma commande ?", address="+33612345678", channel="sms")
                body = json.dumps(event).encode()
                kind = {"Content-Type": "application/cloudevents+json", "Relais-Integrator": "acme-sms"}

                # Unsigned and stale: 401, nothing published.
                unsigned = {**event, "id": str(uuid.uuid4())}
                response = await http.post("/v1/events", content=json.dumps(unsigned).encode(), headers=kind)
                assert response.status_code == 401
                stale = {**kind, "Relais-Signature": sign(SECRET.encode(), int(time.time()) - 600, body)}
                assert (await http.post("/v1/events", content=body, headers=stale)).status_code == 401

                # Signed: 202; the same event again (a retry after a lost answer): 202 again, applied once.
                for _ in range(2):
                    signed = {**kind, "Relais-Signature": sign(SECRET.encode(), int(time.time()), body)}
                    response = await http.post("/v1/events", content=body, headers=signed)
                    assert response.status_code == 202, response.text

                await poll(lambda: hook.requests, timeout=60, what="the bot's reply on the webhook")
                (request,) = hook.requests[:1]
                reply = json.loads(request.body)
                assert reply["type"] == "relais.channel.message.send"
                assert reply["data"]["to"]["address"] == "+33612345678"
                assert reply["data"]["channel"] == "sms"
                assert reply["data"]["author"]["kind"] == "bot"
                assert reply["correlationid"] == event["id"]
                verify(
                    request.headers["relais-signature"], (SECRET.encode(),), request.body, time.time(), 300
                )

                # Only the signed event ever reached Kafka (twice, as sent).
                assert [e.id for e in reader.events(topics.INBOUND)] == [event["id"]] * 2

                # The duplicate was applied once: a later message of the same customer (same partition,
                # so handled after the duplicate) gets the second reply, and there is no other.
                later = inbound("Merci, et le remboursement ?", address="+33612345678", channel="sms")
                body = json.dumps(later).encode()
                signed = {**kind, "Relais-Signature": sign(SECRET.encode(), int(time.time()), body)}
                assert (await http.post("/v1/events", content=body, headers=signed)).status_code == 202
                await poll(
                    lambda: any(json.loads(r.body)["correlationid"] == later["id"] for r in hook.requests),
                    timeout=60,
                    what="the reply to the later message",
                )
                replies = [json.loads(r.body)["correlationid"] for r in hook.requests]
                assert replies.count(event["id"]) == 1, replies
        finally:
            channels.terminate()

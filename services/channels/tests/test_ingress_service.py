"""The HTTP ingress as a real process on real Kafka: signed events land on relais.inbound.v1, keyed by
customer address; every refused request gets its precise 4xx and publishes nothing."""

import json
import time
from pathlib import Path

import httpx
import pytest

from relais_contracts import topics
from relais_contracts.channel import MessageReceived
from relais_platform.testing import Infra, ServiceProcess, TopicReader, create_topics, poll, service_env

from .events import SECRET, TENANT, body, message, signed

pytestmark = pytest.mark.integration

STRUCTURED = {"Content-Type": "application/cloudevents+json"}


def integrators(secret_file: Path) -> str:
    secret_file.write_text(SECRET + "\n")  # as `echo` writes it: the newline is not part of the secret
    return json.dumps(
        [
            {
                "id": "acme-web",
                "tenant": TENANT,
                "channels": ["webchat", "sms"],
                "secret_file": str(secret_file),
            },
            {
                "id": "acme-slow",
                "tenant": TENANT,
                "channels": ["sms"],
                "secret": SECRET,
                "rate_per_s": 0.01,
                "burst": 2,
            },
        ]
    )


async def test_signed_events_in_every_mode_are_published_and_bad_requests_publish_nothing(
    infra: Infra, namespace: str, tmp_path: Path
) -> None:
    await create_topics(infra, namespace)
    env = service_env(
        infra,
        namespace,
        RELAIS_INTEGRATORS=integrators(tmp_path / "acme-web.secret"),
        RELAIS_INGRESS_MAX_BODY_BYTES="4096",
    )
    proc = ServiceProcess("relais_channels", env, tmp_path).start()
    try:
        await proc.wait_ready()
        async with (
            TopicReader(infra, namespace, [topics.INBOUND]) as reader,
            httpx.AsyncClient(base_url=proc.url) as http,
        ):

            async def post(
                content: bytes, headers: dict[str, str], kind: dict[str, str] = STRUCTURED
            ) -> httpx.Response:
                return await http.post("/v1/events", content=content, headers={**kind, **headers})

            # Refused: each with its status and a precise reason, before anything is published.
            good = body(message("refused", id="never"))
            stale = int(time.time()) - 301
            broken = message(id="never")
            del broken["data"]["text"]
            cases = [
                (await post(good, {}), 401, "Relais-Integrator header is missing"),
                (
                    await post(good, {"Relais-Integrator": "acme-web"}),
                    401,
                    "Relais-Signature header is missing",
                ),
                (await post(good, signed(good, integrator="nobody")), 401, "unknown integrator"),
                (await post(good, signed(good, at=stale)), 401, "s old (at most 300 s)"),
                (
                    await post(good, signed(good, secret="another-secret-0123456789abcdef0")),
                    401,
                    "does not match",
                ),
                (await post(body(message("other body", id="never")), signed(good)), 401, "does not match"),
                (
                    await post(
                        body(message(tenant="globex", id="never")),
                        signed(body(message(tenant="globex", id="never"))),
                    ),
                    403,
                    "tenant globex",
                ),
                (
                    await post(body(m := message(channel="email", id="never")), signed(body(m))),
                    403,
                    "channel email",
                ),
                (await post(b"x" * 5000, signed(b"x" * 5000)), 413, "at most 4096"),
                (
                    await post(b'{"text": "caf\xe9"}', signed(b'{"text": "caf\xe9"}')),
                    400,
                    "not valid JSON in UTF-8",
                ),
                (await post(body(broken), signed(body(broken))), 400, "data.text: Field required"),
            ]
            for response, status, reason in cases:
                assert response.status_code == status, response.text
                assert response.headers["content-type"] == "application/problem+json"
                assert reason in response.json()["detail"], (reason, response.json())

            # Another method on the path: 405, saying which one is allowed.
            wrong = await http.get("/v1/events")
            assert (wrong.status_code, wrong.headers["allow"]) == (405, "POST")

            # Over its rate: two requests of burst, then 429 with when to come back.
            sms = body(message("rate", channel="sms", id="rate"))
            statuses = [(await post(sms, signed(sms, integrator="acme-slow"))).status_code for _ in range(3)]
            assert statuses == [202, 202, 429]
            limited = await post(sms, signed(sms, integrator="acme-slow"))
            assert int(limited.headers["retry-after"]) > 0

            # Accepted: structured, binary and batch; 202 once Kafka acknowledged.
            one = body(message("structured", id="s1", address="visitor-9"))
            assert (await post(one, signed(one))).json() == {"accepted": 1}
            binary = message("binary", id="b1")
            data = body(binary.pop("data"))
            headers = {f"ce-{k}": v for k, v in binary.items()}
            response = await post(data, {**signed(data), **headers}, {"Content-Type": "application/json"})
            assert response.status_code == 202, response.text
            batch = body(
                [message("batch 1", id="m1"), message("batch 2", id="m2", channel="sms", address="+15550001")]
            )
            response = await post(
                batch, signed(batch), {"Content-Type": "application/cloudevents-batch+json"}
            )
            assert (response.status_code, response.json()) == (202, {"accepted": 2})

            # Everything acknowledged is there, keyed by customer address; nothing refused is.
            wanted = {"rate", "s1", "b1", "m1", "m2"}
            await poll(
                lambda: {e.id for e in reader.events(topics.INBOUND)} >= wanted, what="accepted events"
            )
            by_id = {e.id: e for e in reader.events(topics.INBOUND)}
            assert "never" not in by_id
            assert sorted(e.id for e in reader.events(topics.INBOUND)) == sorted(
                ["rate", "rate", "s1", "b1", "m1", "m2"]
            )
            texts = {i: e.data.text for i, e in by_id.items() if isinstance(e, MessageReceived)}
            assert texts == {
                "rate": "rate",
                "s1": "structured",
                "b1": "binary",
                "m1": "batch 1",
                "m2": "batch 2",
            }
            keys = {json.loads(r.value)["id"]: r.key.decode() for r in reader.records}
            assert keys["s1"] == "acme:webchat:visitor-9"
            assert keys["m2"] == "acme:sms:+15550001"

            metrics = (await http.get("/metrics")).text
            assert 'relais_channels_ingress_requests_total{integrator="acme-web",status="202"} 3.0' in metrics
            assert 'relais_channels_ingress_requests_total{integrator="unknown",status="401"} 2.0' in metrics
    finally:
        proc.terminate()

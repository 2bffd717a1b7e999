"""Bad input loses nothing: each kind of invalid record lands on the dead-letter topic, as it was,
with its reason and origin, and the consumer goes on with the next valid one."""

import json
from pathlib import Path
from typing import Any

import pytest

from relais_contracts import topics
from relais_contracts.conversation import CustomerMessage
from relais_platform.testing import Infra, RawPublisher, TopicReader, poll
from tests.e2e.system import inbound, start_system

pytestmark = pytest.mark.e2e


async def test_invalid_records_are_dead_lettered_and_the_next_one_is_processed(
    infra: Infra, tmp_path: Path
) -> None:
    system = await start_system(infra, tmp_path, ["context-store"])
    try:
        schema_violation = inbound("hello")
        del schema_violation["data"]["from"]
        bad: dict[str, bytes] = {
            "invalid-json": b'{"specversion": "1.0", "id": ',
            "not-cloudevent": json.dumps({"order": 4417, "status": "shipped"}).encode(),
            "unknown-type": json.dumps({**inbound("hi"), "type": "relais.channel.carrier.pigeon"}).encode(),
            "schema": json.dumps(schema_violation).encode(),
        }
        key = topics.inbound_key("acme", "sms", "+33600000000")
        async with (
            TopicReader(infra, system.namespace, [topics.DEADLETTER, topics.CONVERSATIONS]) as reader,
            RawPublisher(infra, system.namespace) as channel,
        ):
            for raw in bad.values():
                await channel.send(topics.INBOUND, raw, key)
            valid = inbound("still there?", address="+33600000000", channel="sms")
            await channel.event(topics.INBOUND, key, valid)

            appended = await reader.wait_event(
                topics.CONVERSATIONS,
                lambda e: isinstance(e, CustomerMessage),
                what="the valid message appended",
            )
            assert isinstance(appended, CustomerMessage)
            assert appended.data.text == "still there?"

            def dead() -> list[Any]:
                return [r for r in reader.records if r.topic == f"{system.namespace}{topics.DEADLETTER}"]

            letters = await poll(
                lambda: dead() if len(dead()) >= len(bad) else None, what="four dead letters"
            )
            assert len(letters) == len(bad)
            by_reason = {dict(r.headers)["relais.dlq.reason"].decode(): r for r in letters}
            assert set(by_reason) == set(bad)
            for reason, raw in bad.items():
                letter = by_reason[reason]
                headers = dict(letter.headers)
                assert letter.value == raw, "the original bytes are kept as they were"
                assert letter.key == key.encode()
                assert headers["relais.dlq.topic"] == topics.INBOUND.encode()
                assert int(headers["relais.dlq.partition"]) >= 0
                assert int(headers["relais.dlq.offset"]) >= 0
                assert headers["relais.dlq.error"], "a reason a person can read"
            assert b"data.from" in dict(by_reason["schema"].headers)["relais.dlq.error"]
    finally:
        system.stop()

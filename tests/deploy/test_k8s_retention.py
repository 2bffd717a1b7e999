"""The topics that hold customer messages before redaction (inbound, and the dead letters that keep a
record's original bytes) are kept 24 hours at most by every overlay that declares its topics."""

import pytest

from relais_contracts import topics
from tests.deploy.rendering import OVERLAYS, of_kind, render

pytestmark = pytest.mark.unit

DAY_MS = 24 * 3600 * 1000


@pytest.mark.parametrize("overlay", [o for o in OVERLAYS if of_kind(render(o), "KafkaTopic")])
def test_raw_customer_messages_are_kept_a_day_at_most(overlay: str) -> None:
    declared = {t["spec"]["topicName"]: t["spec"]["config"] for t in of_kind(render(overlay), "KafkaTopic")}
    for topic in (topics.INBOUND, topics.DEADLETTER):
        retention = int(declared[topic]["retention.ms"])
        assert 0 < retention <= DAY_MS, topic

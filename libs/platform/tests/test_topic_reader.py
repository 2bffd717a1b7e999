"""The suite's contract guard: the shared topic reader fails a test on a record that does not decode."""

import pytest

from relais_contracts import topics
from relais_platform.testing import ContractViolation, Infra, RawPublisher, TopicReader, create_topics, poll

pytestmark = pytest.mark.integration

BROKEN = b'{"specversion": "1.0", "type": "relais.conversation.queued", "id": "x", "source": "s"}'


async def read(infra: Infra, namespace: str, *, look: bool) -> None:
    async with TopicReader(infra, namespace, [topics.CONVERSATIONS]) as reader:
        await poll(lambda: reader.records, what="the broken record read")
        if look:
            reader.events(topics.OUTBOUND)  # any look at the events checks every topic read


async def test_an_undecodable_record_on_a_relais_topic_fails_the_test(infra: Infra, namespace: str) -> None:
    await create_topics(infra, namespace)
    async with RawPublisher(infra, namespace) as publisher:
        await publisher.send(topics.CONVERSATIONS, BROKEN, "c1")
    with pytest.raises(ContractViolation, match=r"relais\.conversations\.v1 .*offset 0"):
        await read(infra, namespace, look=True)
    with pytest.raises(ContractViolation):  # never looked at: the reader still fails when it closes
        await read(infra, namespace, look=False)


async def test_dead_letters_and_the_tests_own_poison_are_exempt(infra: Infra, namespace: str) -> None:
    await create_topics(infra, namespace)
    async with RawPublisher(infra, namespace) as publisher:
        await publisher.send(topics.DEADLETTER, b"not json", "k")
        await publisher.send(topics.ROUTING, BROKEN, "acme")
        wanted = [topics.DEADLETTER, topics.ROUTING]
        async with TopicReader(infra, namespace, wanted, poison=[BROKEN]) as reader:
            await poll(lambda: len(reader.records) == 2, what="both records read")
            assert reader.events(topics.ROUTING) == []
            assert reader.events(topics.DEADLETTER) == []

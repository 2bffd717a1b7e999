"""Secrets never stored, whatever the script or the separators: card numbers written the ways that used to
leak (full-width digits, thin and narrow no-break spaces, zero-width spaces, line breaks, en dashes,
underscores, glued to words), in the text, the customer's name and an attachment's name, go through the
real context store; no topic the services write and no Redis key of the namespace holds them in clear."""

import json
import random
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from stdnum import luhn

from relais_contracts import topics
from relais_contracts.conversation import CustomerMessage
from relais_contracts.routing import WorkSubmitted
from relais_platform.testing import RawPublisher, TopicReader, api_headers, poll, redis_dump
from tests.e2e.system import TENANT, System, inbound

pytestmark = pytest.mark.e2e

WRITTEN_BY_SERVICES = [
    topics.CONVERSATIONS,
    topics.OUTBOUND,
    topics.ROUTING,
    topics.AGENTS,
    topics.DEADLETTER,
]
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def card_number(rng: random.Random) -> str:
    """A Luhn-valid 16-digit number none of whose 13- to 15-digit prefixes is one too: one in ten cards
    has such a prefix, and then the prefix is the reading whose last four stay (the unit tests cover it),
    which would make the check below of the last four flaky."""
    while True:
        digits = [4, *(rng.randrange(10) for _ in range(14))]
        total = sum(d if i % 2 else sum(divmod(2 * d, 10)) for i, d in enumerate(reversed(digits)))
        number = "".join(map(str, digits)) + str((10 - total % 10) % 10)
        if not any(luhn.is_valid(number[:n]) for n in (13, 14, 15)):
            return number


def grouped(number: str, separator: str) -> str:
    return separator.join(number[i : i + 4] for i in range(0, len(number), 4))


FORMS: dict[str, Callable[[str], str]] = {
    "full-width": lambda n: "ma carte " + grouped(n.translate(FULL_WIDTH), " "),
    "thin space": lambda n: "card " + grouped(n, "\u2009"),
    "narrow no-break space": lambda n: "carte " + grouped(n, "\u202f"),
    "zero-width spaces": lambda n: "\u200b".join(n),
    "newlines": lambda n: "ma carte :\n" + grouped(n, "\n") + "\nmerci",
    "en dashes": lambda n: "Карта " + grouped(n, "\u2013") + " 🙏",
    "underscores": lambda n: "カード番号 " + grouped(n, "_"),
    "glued": lambda n: f"card{n}exp12/29",
}


def digit_runs(value: Any) -> Iterator[str]:
    """The digits (of any script, as ASCII) of every string inside a record or a Redis value."""
    if isinstance(value, bytes):
        text = value.decode(errors="replace")
        try:
            yield from digit_runs(json.loads(text))
        except ValueError:
            yield from digit_runs(text)
    elif isinstance(value, str):
        normal = unicodedata.normalize("NFKC", value)
        yield "".join(str(unicodedata.decimal(c)) for c in normal if c.isdecimal())
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from digit_runs(k)
            yield from digit_runs(v)
    elif isinstance(value, list | tuple | set):
        for v in value:
            yield from digit_runs(v)


def leaks(value: Any, numbers: list[str]) -> list[str]:
    """The numbers of which 10 consecutive digits outside the last four are readable in the value."""
    runs = list(digit_runs(value))
    return [n for n in numbers if any(n[i : i + 10] in run for run in runs for i in range(len(n) - 13))]


async def test_no_card_number_in_any_form_is_stored_in_clear(system: System) -> None:
    rng = random.Random(uuid.uuid4().int)
    numbers = {form: card_number(rng) for form in [*FORMS, "name", "attachment"]}
    iban = "DE89\u202f3704\u202f0044\u202f0532\u202f0130\u202f00"
    key = topics.inbound_key(TENANT, "webchat", "visitor-pci")
    texts = [write(numbers[form]) for form, write in FORMS.items()] + [
        f"mon IBAN ＤＥ８９３７０４００４４０５３２０１３０００ et {iban}",
        "je veux parler à un conseiller",
    ]
    async with (
        RawPublisher(system.infra, system.namespace) as channel,
        TopicReader(system.infra, system.namespace, WRITTEN_BY_SERVICES) as reader,
    ):
        for i, text in enumerate(texts):
            event = inbound(text, address="visitor-pci")
            if i == 0:
                event["data"]["from"]["name"] = f"Camille {grouped(numbers['name'], chr(0x2009))}"
                event["data"]["attachments"] = [
                    {
                        "url": "https://files.example/scan.png",
                        "content_type": "image/png",
                        "name": f"carte_{numbers['attachment']}.png",
                    }
                ]
            await channel.event(topics.INBOUND, key, event)

        def messages() -> list[CustomerMessage]:
            found = reader.events(topics.CONVERSATIONS, lambda e: isinstance(e, CustomerMessage))
            return [m for m in found if isinstance(m, CustomerMessage)]

        await poll(lambda: len(messages()) == len(texts), timeout=60, what="every message on the log")
        await reader.wait_event(
            topics.ROUTING, lambda e: isinstance(e, WorkSubmitted), timeout=60, what="the handoff"
        )
        stored = messages()
        conversation = stored[0].subject
        # The last four digits stay readable, and the rest of the customer's words as they wrote them.
        for form, message in zip(FORMS, stored, strict=False):
            assert "card" in message.data.redactions, form
            assert numbers[form][-4:] in next(digit_runs(message.data.text)), form
        assert stored[0].data.customer_name == "Camille ••••\u2009••••\u2009••••\u2009" + numbers["name"][-4:]
        assert stored[0].data.attachments[0].name == f"carte_{'•' * 12}{numbers['attachment'][-4:]}.png"
        assert stored[4].data.text.startswith("ma carte :\n••••\n")
        assert stored[5].data.text.endswith(" 🙏")
        assert stored[len(FORMS)].data.text == "mon IBAN [IBAN redacted] et [IBAN redacted]"

        async with httpx.AsyncClient(base_url=system.url("context-store"), timeout=30) as http:

            async def materialized() -> bool:
                got = await http.get(f"/v1/conversations/{conversation}", headers=api_headers(TENANT))
                return got.status_code == 200 and len(
                    [t for t in got.json()["timeline"] if t.get("author_kind") == "customer"]
                ) == len(texts)

            await poll(materialized, timeout=60, what="the conversation in the views")

        everything = [*numbers.values(), "89370400440532013000"]
        for record in reader.records:
            assert not leaks(record.value, everything), f"{record.topic}: {record.value[:300]!r}"
        dump = await redis_dump(system.infra, system.namespace, prefix="")
        assert dump
        for redis_key, value in dump.items():
            assert not leaks(value, everything), redis_key

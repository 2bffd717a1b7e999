"""`relais-facts export`: conversation facts for a BI tool, as CSV or Parquet.

It reads the facts topic (`relais.facts.v1`) from `--since` (found with the broker's time index), or,
with `--from-log`, recomputes the facts from the conversation log with the current fold
(domain.facts), so a changed definition applies to all history. Either way it keeps, of each
conversation, its latest revision among the facts that ended in [--since, --until), each fact id once.
Kafka is reached with the services' own `RELAIS_*` settings (bootstrap servers, namespace, SASL/TLS).
"""

import argparse
import asyncio
import csv
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from aiokafka import AIOKafkaConsumer, TopicPartition

from relais_context_store.domain.facts import Recomputation
from relais_contracts import DecodeError, decode, topics
from relais_contracts.facts import ConversationFact, ConversationFactData
from relais_platform.consumer import Delivery
from relais_platform.kafka import client_options
from relais_platform.settings import ServiceSettings, load_settings
from relais_platform.views_marker import end_offsets, replay

# A fact is appended after the wrap-up or close it records, by a clock that may run behind the one
# that dated the event: the read starts this much before --since, and the window is applied to the
# facts' own times.
SEEK_MARGIN = timedelta(hours=1)

# Columns, in order: the fact's id and tenant, then its data's fields. Lists are ";"-joined in CSV.
COLUMNS = ("fact_id", "tenant", *ConversationFactData.model_fields)
_LISTS = {"channels", "languages", "queues", "agents"}
_TIMES = {"opened_at", "closed_at"}
_FLOATS = {"wait_to_offer_s", "wait_to_accept_s", "first_response_s", "agent_first_response_s", "handle_s"}
_BOOLS = {"handed_over", "abandoned"}
_INTS = {
    "revision",
    "handoffs",
    "transfers",
    "reassignments",
    "customer_messages",
    "bot_replies",
    "agent_replies",
}


def _arrow_type(column: str) -> pa.DataType:
    if column in _LISTS:
        return pa.list_(pa.string())
    if column in _TIMES:
        return pa.timestamp("us", tz="UTC")
    if column in _FLOATS:
        return pa.float64()
    if column in _BOOLS:
        return pa.bool_()
    return pa.int64() if column in _INTS else pa.string()


PARQUET_SCHEMA = pa.schema([(c, _arrow_type(c)) for c in COLUMNS])


class Window:
    """The facts wanted: ended in [since, until), of one tenant or all."""

    def __init__(self, since: datetime | None, until: datetime | None, tenant: str | None = None) -> None:
        self.since, self.until, self.tenant = since, until, tenant

    def holds(self, fact: ConversationFact) -> bool:
        at = fact.data.closed_at
        return (
            (self.since is None or at >= self.since)
            and (self.until is None or at < self.until)
            and (self.tenant is None or fact.tenant == self.tenant)
        )


def latest(facts: Iterable[ConversationFact]) -> list[ConversationFact]:
    """Each conversation's highest revision, each fact id once (a replay may have written one twice),
    ordered by end time then conversation: the same facts give the same file."""
    best: dict[tuple[str, str], ConversationFact] = {}
    for fact in facts:
        key = (fact.tenant, fact.subject)
        if key not in best or fact.data.revision > best[key].data.revision:
            best[key] = fact
    return sorted(best.values(), key=lambda f: (f.data.closed_at, f.tenant, f.subject))


def row(fact: ConversationFact) -> dict[str, Any]:
    """One fact as a table row (typed values; `write_csv` renders them as text)."""
    return {"fact_id": fact.id, "tenant": fact.tenant, **fact.data.model_dump(mode="python")}


def write_csv(facts: Sequence[ConversationFact], out: Path) -> None:
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for fact in facts:
            writer.writerow({k: _text(k, v) for k, v in row(fact).items()})


def _text(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column in _LISTS:
        return ";".join(value)
    if column in _TIMES:
        return str(value.astimezone(UTC).isoformat())
    if column in _BOOLS:
        return "true" if value else "false"
    return str(value)


def write_parquet(facts: Sequence[ConversationFact], out: Path) -> None:
    rows = [{c: list(v) if c in _LISTS else v for c, v in row(f).items()} for f in facts]
    pq.write_table(pa.Table.from_pylist(rows, PARQUET_SCHEMA), out)


WRITERS: dict[str, Callable[[Sequence[ConversationFact], Path], None]] = {
    "csv": write_csv,
    "parquet": write_parquet,
}


async def read_facts(settings: ServiceSettings, since: datetime | None) -> list[ConversationFact]:
    """The facts on the facts topic appended from `since` (less SEEK_MARGIN) to now."""
    ends = {p: last for p, last in (await end_offsets(settings, topics.FACTS)).items() if last >= 0}
    if not ends:
        return []
    physical = settings.topic(topics.FACTS)
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    facts: list[ConversationFact] = []
    try:
        partitions = [TopicPartition(physical, p) for p in sorted(ends)]
        consumer.assign(partitions)
        starts: dict[TopicPartition, int] = {tp: 0 for tp in partitions}
        if since is not None:
            ms = int((since - SEEK_MARGIN).timestamp() * 1000)
            found = await consumer.offsets_for_times({tp: ms for tp in partitions})
            # None: nothing was appended to that partition since then.
            starts = {tp: at.offset for tp, at in found.items() if at is not None}
        remaining = {tp for tp, offset in starts.items() if offset <= ends[tp.partition]}
        for tp in remaining:
            consumer.seek(tp, starts[tp])
        while remaining:
            fetched = await consumer.getmany(*remaining, timeout_ms=500, max_records=5000)
            for tp, records in fetched.items():
                for record in records:
                    if record.offset <= ends[tp.partition]:
                        facts.extend(_fact(record.value))
            for tp in list(remaining):
                if await consumer.position(tp) > ends[tp.partition]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return facts


def _fact(value: bytes | None) -> list[ConversationFact]:
    try:
        event = decode(value)
    except DecodeError as exc:
        print(f"relais-facts: skipped a record that is not a fact ({exc.reason})", file=sys.stderr)
        return []
    return [event] if isinstance(event, ConversationFact) else []


async def recompute_facts(settings: ServiceSettings) -> list[ConversationFact]:
    """Every fact the current fold derives from the conversation log, from its beginning to now."""
    recomputation = Recomputation()
    facts: list[ConversationFact] = []

    async def fold(batch: Sequence[Delivery]) -> None:
        facts.extend(f for d in batch if (f := recomputation.add(d.event)) is not None)

    await replay(settings, topics.CONVERSATIONS, await end_offsets(settings, topics.CONVERSATIONS), fold)
    return facts


async def export(
    settings: ServiceSettings, window: Window, fmt: str, out: Path, *, from_log: bool = False
) -> int:
    """Write the window's facts to `out`; returns how many."""
    source: Awaitable[list[ConversationFact]] = (
        recompute_facts(settings) if from_log else read_facts(settings, window.since)
    )
    facts = latest(f for f in await source if window.holds(f))
    WRITERS[fmt](facts, out)
    return len(facts)


def parse_time(text: str) -> datetime:
    """A date (midnight UTC) or an ISO 8601 time (UTC when it names no offset)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        at = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date or ISO 8601 time: {text!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="relais-facts", description="Conversation facts for reporting.")
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export", help="write the facts of conversations that ended in a window to a file")
    e.add_argument("--since", type=parse_time, help="first end time included (date or ISO time, UTC)")
    e.add_argument("--until", type=parse_time, help="first end time excluded (date or ISO time, UTC)")
    e.add_argument("--tenant", help="only this tenant's conversations")
    e.add_argument("--format", choices=sorted(WRITERS), default="csv")
    e.add_argument("--out", type=Path, required=True, help="the file to write (replaced)")
    e.add_argument(
        "--from-log",
        action="store_true",
        help="recompute the facts from the conversation log with the current definition instead of "
        "reading the facts topic",
    )
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.since and args.until and args.since >= args.until:
        raise SystemExit("relais-facts: --since must be before --until")
    settings = load_settings(ServiceSettings, "relais-facts")
    window = Window(args.since, args.until, args.tenant)
    written = asyncio.run(export(settings, window, args.format, args.out, from_log=args.from_log))
    print(f"relais-facts: wrote {written} facts to {args.out}")


if __name__ == "__main__":
    main()

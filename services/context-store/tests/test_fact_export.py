"""The pure parts of `relais-facts export`: the window, the latest revision, the rows and both files."""

import argparse
import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from relais_context_store.fact_export import (
    COLUMNS,
    Window,
    latest,
    parse_time,
    parser,
    write_csv,
    write_parquet,
)
from relais_contracts.facts import ConversationFact, ConversationFactData

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 3, 9, tzinfo=UTC)


def fact(
    conversation: str, revision: int = 1, ended_s: float = 0, tenant: str = "acme", **data: object
) -> ConversationFact:
    return ConversationFact(
        id=f"{conversation}-{revision}",
        source="relais/context-store",
        time=T0 + timedelta(seconds=ended_s),
        tenant=tenant,
        subject=conversation,
        data=ConversationFactData.model_validate(
            {
                "conversation_id": conversation,
                "revision": revision,
                "ended_by": "wrap-up",
                "closed_at": T0 + timedelta(seconds=ended_s),
                "handed_over": True,
                "bot_outcome": "handed-over",
                **data,
            }
        ),
    )


def test_the_window_holds_facts_that_ended_from_since_until_until_excluded_of_its_tenant() -> None:
    window = Window(T0, T0 + timedelta(hours=1), "acme")
    assert window.holds(fact("c", ended_s=0))
    assert window.holds(fact("c", ended_s=3599.9))
    assert not window.holds(fact("c", ended_s=3600))
    assert not window.holds(fact("c", ended_s=-0.1))
    assert not window.holds(fact("c", ended_s=10, tenant="globex"))
    assert Window(None, None).holds(fact("c", tenant="globex"))


def test_latest_keeps_each_conversations_highest_revision_once_in_end_order() -> None:
    facts = [fact("b", 1, 50), fact("a", 2, 90), fact("a", 1, 10), fact("b", 1, 50), fact("a", 2, 90)]
    assert [(f.subject, f.data.revision) for f in latest(facts)] == [("b", 1), ("a", 2)]
    assert latest([fact("a", 1, 5, tenant="t2"), fact("a", 1, 5)]) == [
        fact("a", 1, 5),
        fact("a", 1, 5, tenant="t2"),
    ]


def test_csv_and_parquet_hold_the_same_typed_rows(tmp_path: Path) -> None:
    facts = [
        fact(
            "c-1", queue="billing", queues=["billing", "vip"], agents=["alice", "bob"],
            channels=["sms", "email"], wait_to_accept_s=42.5, handoff_reason="frustration",
            opened_at=T0 - timedelta(minutes=5), transfers=1,
        ),
        fact("c-2", 1, 60, handed_over=False, bot_outcome="contained"),
    ]  # fmt: skip
    write_csv(facts, tmp_path / "f.csv")
    write_parquet(facts, tmp_path / "f.parquet")
    with (tmp_path / "f.csv").open(newline="") as f:
        text = list(csv.DictReader(f))
    table = pq.read_table(tmp_path / "f.parquet")
    assert tuple(table.column_names) == COLUMNS == tuple(text[0])
    typed = table.to_pylist()
    assert (text[0]["fact_id"], text[0]["queues"], text[0]["agents"], text[0]["wait_to_accept_s"]) == (
        "c-1-1", "billing;vip", "alice;bob", "42.5",
    )  # fmt: skip
    assert (typed[0]["queues"], typed[0]["wait_to_accept_s"], typed[0]["transfers"]) == (
        ["billing", "vip"],
        42.5,
        1,
    )
    assert typed[0]["opened_at"] == T0 - timedelta(minutes=5)
    assert text[0]["opened_at"] == "2026-03-03T08:55:00+00:00"
    assert (text[1]["handed_over"], text[1]["wait_to_accept_s"], text[1]["opened_at"]) == ("false", "", "")
    assert (typed[1]["handed_over"], typed[1]["wait_to_accept_s"], typed[1]["queues"]) == (False, None, [])


def test_times_on_the_command_line_are_dates_or_iso_times_in_utc() -> None:
    assert parse_time("2026-03-03") == datetime(2026, 3, 3, tzinfo=UTC)
    assert parse_time("2026-03-03T10:30") == datetime(2026, 3, 3, 10, 30, tzinfo=UTC)
    assert parse_time("2026-03-03T10:30+02:00") == datetime(2026, 3, 3, 8, 30, tzinfo=UTC)
    with pytest.raises(argparse.ArgumentTypeError, match="not a date"):
        parse_time("tuesday")
    args = parser().parse_args(
        ["export", "--since", "2026-03-03", "--format", "parquet", "--out", "x.parquet"]
    )
    assert (args.since, args.until, args.format, args.from_log) == (
        T0.replace(hour=0),
        None,
        "parquet",
        False,
    )
    with pytest.raises(SystemExit):
        parser().parse_args(["export", "--format", "xlsx", "--out", "x"])

"""Business time: weekly hours, a tenant's holidays and exception days, time zones and DST."""

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from relais_router.domain.business_time import Schedule, schedule_of
from relais_router.domain.config import Calendar, OpeningHours, RoutingConfig

pytestmark = pytest.mark.unit

PARIS_WEEKDAYS = OpeningHours(
    timezone="Europe/Paris",
    weekly={d: ("09:00-12:00", "13:00-17:00") for d in ("mon", "tue", "wed", "thu", "fri")},  # type: ignore[misc]
)


def ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_open_time_counts_only_the_opening_intervals() -> None:
    schedule = Schedule(PARIS_WEEKDAYS)
    # Monday 6 Jan 2025, Paris is UTC+1: 11:00 local is 10:00 UTC; one hour to the lunch break.
    assert schedule.elapsed(ts(2025, 1, 6, 10), ts(2025, 1, 6, 13)) == 2 * 3600  # 11-12 and 13-14 local
    # 30 minutes of business time from 11:45 local: 15 before the break, 15 after it, so 13:15 local.
    assert schedule.add(ts(2025, 1, 6, 10, 45), 30 * 60) == ts(2025, 1, 6, 12, 15)


def test_a_deadline_on_friday_evening_runs_over_the_weekend() -> None:
    schedule = Schedule(PARIS_WEEKDAYS)
    # Friday 10 Jan 2025 16:30 local (15:30 UTC) + 1 hour of open time: 30 min Friday, 30 min Monday.
    assert schedule.add(ts(2025, 1, 10, 15, 30), 3600) == ts(2025, 1, 13, 8, 30)
    assert schedule.elapsed(ts(2025, 1, 10, 15, 30), ts(2025, 1, 13, 8, 30)) == 3600


def test_a_holiday_and_an_exception_day_of_the_tenant_calendar() -> None:
    calendar = Calendar(
        timezone="Europe/Paris",
        holidays={date(2025, 1, 13): "company day"},  # Monday closed
        exceptions={date(2025, 1, 14): ("10:00-11:00",)},  # Tuesday: one hour only
    )
    schedule = Schedule(PARIS_WEEKDAYS, calendar)
    # Friday 16:30 local + 1 hour: 30 min Friday, nothing Monday, 30 min from 10:00 Tuesday.
    assert schedule.add(ts(2025, 1, 10, 15, 30), 3600) == ts(2025, 1, 14, 9, 30)
    assert not schedule.is_open(ts(2025, 1, 13, 10))
    assert schedule.is_open(ts(2025, 1, 14, 9, 30))  # 10:30 local on the exception day
    assert not schedule.is_open(ts(2025, 1, 14, 12))  # 13:00 local: the weekly hours do not apply


def test_the_time_zone_change_of_daylight_saving_time() -> None:
    always = OpeningHours(timezone="Europe/Paris", weekly={"sun": ("00:00-23:59",)})
    schedule = Schedule(always)
    # 30 March 2025, clocks jump from 02:00 to 03:00 in Paris: the local day has 23 hours, so from
    # local midnight (23:00 UTC the day before) to 23:59 local (21:59 UTC) is 22 h 59 min of open time.
    assert schedule.elapsed(ts(2025, 3, 29, 23), ts(2025, 3, 30, 21, 59)) == 22 * 3600 + 59 * 60
    # A 9-to-5 day is 8 hours on either side of the change, at other UTC times.
    weekdays = Schedule(PARIS_WEEKDAYS)
    assert weekdays.add(ts(2025, 3, 28, 8), 3600) == ts(2025, 3, 28, 9)  # Friday: UTC+1
    assert weekdays.add(ts(2025, 3, 31, 7), 3600) == ts(2025, 3, 31, 8)  # Monday: UTC+2


def test_hours_that_never_open_give_no_deadline() -> None:
    never = Schedule(OpeningHours(weekly={}))
    assert never.add(ts(2025, 1, 1), 60) == float("inf")


def test_queues_use_the_calendar_they_name_and_an_unknown_one_is_refused() -> None:
    config = RoutingConfig.model_validate(
        {
            "calendars": {"fr": {"timezone": "Europe/Paris", "holidays": {"2025-01-01": "New Year"}}},
            "queues": {
                "support": {
                    "hours": {
                        "timezone": "Europe/Paris",
                        "weekly": {"wed": ["09:00-17:00"]},
                        "calendar": "fr",
                    }
                }
            },
        }
    )
    schedule = schedule_of(config, "support")
    assert schedule is not None
    assert not schedule.is_open(ts(2025, 1, 1, 10))  # a Wednesday, but a holiday
    assert schedule.is_open(ts(2025, 1, 8, 10))
    assert schedule_of(config, "general") is None
    with pytest.raises(ValidationError, match="unknown calendar"):
        RoutingConfig.model_validate(
            {"queues": {"q": {"hours": {"weekly": {"mon": ["09:00-17:00"]}, "calendar": "nope"}}}}
        )
    with pytest.raises(ValidationError, match="unknown time zone"):
        Calendar(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="business_hours needs"):
        RoutingConfig.model_validate({"queues": {"q": {"response": {"business_hours": True}}}})


def test_overlapping_intervals_of_a_day_count_once() -> None:
    # Hours written in pieces that overlap (a shift inside another, two that run into each other) are
    # open once, from the earliest start to the latest end of each run of overlapping intervals.
    # The third run holds an interval inside its first, after two runs are already merged.
    monday = (
        *("07:00-08:00", "09:00-12:00", "10:00-10:30", "11:00-13:00", "12:30-14:00"),
        *("15:00-16:00", "15:10-15:20", "15:30-17:00"),
    )
    schedule = Schedule(OpeningHours(weekly={"mon": monday}))  # type: ignore[misc]
    # Monday 6 Jan 2025, in UTC: open 07-08, 09-14 and 15-17.
    assert schedule.elapsed(ts(2025, 1, 6), ts(2025, 1, 7)) == 8 * 3600
    assert schedule.elapsed(ts(2025, 1, 6, 15, 45), ts(2025, 1, 6, 18)) == 75 * 60
    assert schedule.add(ts(2025, 1, 6, 6), 3 * 3600) == ts(2025, 1, 6, 11)  # 1 h before 08:00, 2 h from 09:00
    assert schedule.add(ts(2025, 1, 6, 13, 30), 3600) == ts(2025, 1, 6, 15, 30)
    assert [schedule.is_open(ts(2025, 1, 6, h, 59)) for h in (8, 13, 14, 16)] == [False, True, False, True]


EVERY_DAY_IN_TOKYO = OpeningHours(
    timezone="Asia/Tokyo",
    weekly={d: ("00:00-23:59",) for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},  # type: ignore[misc]
)


def test_a_holiday_is_the_whole_local_day_of_the_calendar_and_spans_are_never_empty() -> None:
    # Tokyo is UTC+9 all year, far from the UTC of the servers: a holiday read in the wrong zone, or
    # cut at the wrong hour, shows up as open time at one of its ends.
    calendar = Calendar(timezone="Asia/Tokyo", holidays={date(2025, 1, 15): "company day"})
    schedule = Schedule(EVERY_DAY_IN_TOKYO, calendar)
    # Wednesday 15 Jan in Tokyo is 14 Jan 15:00 to 15 Jan 15:00 UTC; the day before closes at 23:59 local.
    assert schedule.open_spans(ts(2025, 1, 14, 12), ts(2025, 1, 16)) == [
        (ts(2025, 1, 14, 12), ts(2025, 1, 14, 14, 59)),
        (ts(2025, 1, 15, 15), ts(2025, 1, 16)),
    ]
    # From one closing to the next opening there is no open time, not even an empty span at either end.
    assert schedule.open_spans(ts(2025, 1, 14, 14, 59), ts(2025, 1, 15, 15)) == []
    assert schedule.elapsed(ts(2025, 1, 14, 14, 59), ts(2025, 1, 15, 15)) == 0


def test_the_calendar_days_are_read_in_the_calendar_zone_not_the_hours_zone() -> None:
    every_day_utc = OpeningHours(weekly={d: ("00:00-23:59",) for d in ("mon", "tue", "wed", "thu")})  # type: ignore[misc]
    calendar = Calendar(timezone="Asia/Tokyo", holidays={date(2025, 1, 15): "company day"})
    schedule = Schedule(every_day_utc, calendar)
    # The holiday is 14 Jan 15:00 to 15 Jan 15:00 UTC: the evening of the 14th in UTC is already closed.
    assert [schedule.is_open(ts(2025, 1, 14, h)) for h in (14, 16)] == [True, False]
    assert [schedule.is_open(ts(2025, 1, 15, h)) for h in (14, 16)] == [False, True]


def test_a_deadline_that_uses_a_span_exactly_ends_with_it() -> None:
    schedule = Schedule(OpeningHours(weekly={"mon": ("09:00-12:00", "13:00-17:00")}))  # type: ignore[misc]
    # Three hours from 09:00 on Monday 6 Jan 2025 are the whole morning: due at 12:00, not at 13:00.
    assert schedule.add(ts(2025, 1, 6, 9), 3 * 3600) == ts(2025, 1, 6, 12)
    assert schedule.add(ts(2025, 1, 6, 9), 3 * 3600 + 1) == ts(2025, 1, 6, 13, 0, 1)


def test_a_deadline_is_looked_for_beyond_the_first_week() -> None:
    # Closed every week; the calendar opens one exception day ten days ahead.
    calendar = Calendar(exceptions={date(2025, 1, 16): ("10:00-11:00",)})
    schedule = Schedule(OpeningHours(weekly={}), calendar)
    assert schedule.add(ts(2025, 1, 6), 60) == ts(2025, 1, 16, 10, 1)


def test_no_open_time_passes_backwards() -> None:
    schedule = Schedule(PARIS_WEEKDAYS)
    # Monday 6 Jan 2025, both instants in the open morning, the end before the start.
    assert schedule.elapsed(ts(2025, 1, 6, 10), ts(2025, 1, 6, 9)) == 0

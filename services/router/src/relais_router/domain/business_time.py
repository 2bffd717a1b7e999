"""Business time: when a queue is open, by its weekly hours and its tenant's calendar of days off.

Open time is a list of intervals in epoch seconds, computed on demand for the span asked: weekly hours
read in the hours' time zone, minus the calendar's holidays and exception days (whole local days in
the calendar's time zone), plus the exception days' own hours. Daylight-saving changes fall out of
converting each local day's intervals on their own (zoneinfo).
"""

import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from relais_router.domain.config import WEEKDAYS, Calendar, OpeningHours, RoutingConfig, parse_interval

Span = tuple[float, float]
# How far ahead a deadline is looked for before it is taken as never (hours that never open).
HORIZON_DAYS = 400
_DAY = 86_400.0


class Schedule:
    """A queue's open time: its opening hours and, if it names one, its tenant's calendar."""

    def __init__(self, hours: OpeningHours, calendar: Calendar | None = None) -> None:
        self.hours = hours
        self.calendar = calendar
        self._zone = ZoneInfo(hours.timezone)
        self._calendar_zone = ZoneInfo(calendar.timezone) if calendar else self._zone

    def is_open(self, at: float) -> bool:
        return any(start <= at < end for start, end in self.open_spans(at, at + 1))

    def open_spans(self, start: float, end: float) -> list[Span]:
        """The open intervals within [start, end), sorted and disjoint."""
        weekly = []
        for day in _days(start, end, self._zone):
            for interval in self.hours.weekly.get(WEEKDAYS[day.weekday()], ()):
                weekly.append(_span(day, interval, self._zone))
        closed: list[Span] = []
        special: list[Span] = []
        if self.calendar is not None:
            for day in _days(start, end, self._calendar_zone):
                intervals = self.calendar.exceptions.get(day)
                if day in self.calendar.holidays or intervals is not None:
                    closed.append(_whole_day(day, self._calendar_zone))
                for interval in intervals or ():
                    special.append(_span(day, interval, self._calendar_zone))
        spans = _merge([*_subtract(weekly, closed), *special])
        return [(max(s, start), min(e, end)) for s, e in spans if e > start and s < end]

    def elapsed(self, start: float, end: float) -> float:
        """Open seconds between two instants."""
        if end <= start:
            return 0.0
        return sum(e - s for s, e in self.open_spans(start, end))

    def add(self, start: float, seconds: float) -> float:
        """The instant when `seconds` of open time have passed since `start`; inf if never."""
        left = seconds
        window_start = start
        while window_start < start + HORIZON_DAYS * _DAY:
            window_end = window_start + 7 * _DAY
            for s, e in self.open_spans(window_start, window_end):
                if e - s >= left:
                    return s + left
                left -= e - s
            window_start = window_end
        return math.inf


def _days(start: float, end: float, zone: ZoneInfo) -> list[date]:
    """The local dates that [start, end) touches, with a day either side for intervals across midnight."""
    first = datetime.fromtimestamp(start, UTC).astimezone(zone).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end, UTC).astimezone(zone).date() + timedelta(days=1)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _span(day: date, interval: str, zone: ZoneInfo) -> Span:
    opens, closes = parse_interval(interval)
    return (_at(day, opens, zone), _at(day, closes, zone))


def _whole_day(day: date, zone: ZoneInfo) -> Span:
    return (_at(day, time(0), zone), _at(day + timedelta(days=1), time(0), zone))


def _at(day: date, clock: time, zone: ZoneInfo) -> float:
    return datetime.combine(day, clock, tzinfo=zone).timestamp()


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _subtract(spans: list[Span], holes: list[Span]) -> list[Span]:
    out = []
    for s, e in spans:
        pieces = [(s, e)]
        for hs, he in holes:
            pieces = [p for ps, pe in pieces for p in ((ps, min(pe, hs)), (max(ps, he), pe)) if p[1] > p[0]]
        out.extend(pieces)
    return out


def schedule_of(config: RoutingConfig, queue: str) -> Schedule | None:
    """The queue's open time, or None when it has no hours (always open)."""
    hours = config.queue(queue).hours
    if hours is None:
        return None
    return Schedule(hours, config.calendars.get(hours.calendar) if hours.calendar else None)

"""Periods: the PERIOD forms of the contract as half-open intervals in a time zone.

A `Period` is a calendar unit (year, half, quarter, month or day) named by its label
(`2026`, `2026-H1`, `2026-Q3`, `2026-03`, `2026-03-15`). A `Span` is any half-open run of
days, such as a goal's 2026-2030 window. Both are pure values: turning them into instants
needs a time zone, which the caller passes in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from functools import lru_cache
from typing import Iterator
from zoneinfo import ZoneInfo

from tracker.core.errors import BadInput


class Granularity(StrEnum):
    YEAR = "year"
    HALF = "half"
    QUARTER = "quarter"
    MONTH = "month"
    DAY = "day"

    # Enum's own __hash__ is Python code (hash of the member's name); a period is hashed
    # millions of times a cycle, and str's hash agrees with str's equality anyway.
    __hash__ = str.__hash__

    @property
    def months(self) -> int:
        """Length in months; 0 for a day, which is not a whole number of months."""
        return _MONTHS[self]

    @property
    def example(self) -> str:
        return _EXAMPLES[self]


_MONTHS = {
    Granularity.YEAR: 12,
    Granularity.HALF: 6,
    Granularity.QUARTER: 3,
    Granularity.MONTH: 1,
    Granularity.DAY: 0,
}
_EXAMPLES = {
    Granularity.YEAR: "2026",
    Granularity.HALF: "2026-H1",
    Granularity.QUARTER: "2026-Q3",
    Granularity.MONTH: "2026-03",
    Granularity.DAY: "2026-03-15",
}
_FORMS = ", ".join(_EXAMPLES.values())

# One range of years for every date a user gives (periods, --at, --known-since, CSV): wide
# enough for any business history, narrow enough that a period's end, a day's start in any
# time zone and a previous window all stay inside what `datetime` can hold.
FIRST_YEAR, LAST_YEAR = 1900, 9000
YEARS = f"the years {FIRST_YEAR} to {LAST_YEAR}"

# One pattern for every form: a single match per label matters when importing a million rows.
_LABEL = re.compile(r"(\d{4})(?:-(?:H(\d)|Q(\d)|(\d{2})(?:-(\d{2}))?))?")


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, order=True, slots=True)
class Span:
    """A half-open run of whole days [start, end) in the catalog's time zone."""

    start: date
    end: date

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The span's instants, as aware UTC datetimes."""
        return local_midnight(self.start, tz), local_midnight(self.end, tz)

    def contains(self, other: Span | Period) -> bool:
        return self.start <= other.start and other.end <= self.end

    def overlaps(self, other: Span | Period) -> bool:
        return self.start < other.end and other.start < self.end

    def elapsed_share(self, now: datetime, tz: ZoneInfo) -> float:
        """The share of the span that lies before `now`, clamped to [0, 1]."""
        start, end = self.bounds(tz)
        if now <= start:
            return 0.0
        if now >= end:
            return 1.0
        return (now - start) / (end - start)

    def periods(self, granularity: Granularity) -> Iterator[Period]:
        """The periods of one granularity that start inside the span, in order."""
        period = Period.containing(granularity, self.start)
        while period.start < self.end:
            if period.start >= self.start:
                yield period
            period = period.next()

    @property
    def label(self) -> str:
        """A calendar period's own label (2026, 2026-Q1) where the span is one, else first..last day."""
        for granularity in (Granularity.YEAR, Granularity.HALF, Granularity.QUARTER, Granularity.MONTH):
            period = Period.containing(granularity, self.start)
            if period.start == self.start and period.end == self.end:
                return period.label
        return f"{self.start.isoformat()}..{(self.end - timedelta(days=1)).isoformat()}"


@dataclass(frozen=True, order=True, slots=True)
class Period:
    """One calendar unit: a year, half, quarter, month or day, named by its label."""

    start: date
    granularity: Granularity

    @staticmethod
    def parse(text: str) -> Period:
        """Reads a PERIOD label; raises BadInput naming the accepted forms."""
        text = text.strip()
        match = _LABEL.fullmatch(text)
        if match is None:
            raise BadInput(f"period {text!r} is not one of the forms {_FORMS}")
        year, half, quarter, month, day = match.groups()
        if day is not None:
            return _build(Granularity.DAY, [int(year), int(month), int(day)], text)
        if month is not None:
            return _build(Granularity.MONTH, [int(year), int(month)], text)
        if quarter is not None:
            return _build(Granularity.QUARTER, [int(year), int(quarter)], text)
        if half is not None:
            return _build(Granularity.HALF, [int(year), int(half)], text)
        return _build(Granularity.YEAR, [int(year)], text)

    @staticmethod
    def containing(granularity: Granularity, day: date) -> Period:
        """The period of `granularity` that contains the local calendar day `day`."""
        if granularity is Granularity.DAY:
            return Period(day, granularity)
        months = granularity.months
        first_month = (day.month - 1) // months * months + 1
        return Period(date(day.year, first_month, 1), granularity)

    @staticmethod
    def at(granularity: Granularity, when: datetime, tz: ZoneInfo) -> Period:
        """The period of `granularity` that contains the instant `when`."""
        return Period.containing(granularity, when.astimezone(tz).date())

    @property
    def end(self) -> date:
        return _end(self.start, self.granularity)

    @property
    def span(self) -> Span:
        return Span(self.start, self.end)

    @property
    def label(self) -> str:
        year, month = self.start.year, self.start.month
        match self.granularity:
            case Granularity.YEAR:
                return f"{year:04d}"
            case Granularity.HALF:
                return f"{year:04d}-H{(month - 1) // 6 + 1}"
            case Granularity.QUARTER:
                return f"{year:04d}-Q{(month - 1) // 3 + 1}"
            case Granularity.MONTH:
                return f"{year:04d}-{month:02d}"
        return self.start.isoformat()

    def __str__(self) -> str:
        return self.label

    def shift(self, count: int) -> Period:
        if self.granularity is Granularity.DAY:
            return Period(self.start + timedelta(days=count), self.granularity)
        return Period(_add_months(self.start, count * self.granularity.months), self.granularity)

    def next(self) -> Period:
        return self.shift(1)

    def previous(self) -> Period:
        return self.shift(-1)

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        return self.span.bounds(tz)

    def contains(self, other: Span | Period) -> bool:
        return self.span.contains(other)

    def elapsed_share(self, now: datetime, tz: ZoneInfo) -> float:
        return self.span.elapsed_share(now, tz)


@lru_cache(maxsize=16_384)  # pure; read a few hundred thousand times a cycle, of a few thousand periods
def _end(start: date, granularity: Granularity) -> date:
    if granularity is Granularity.DAY:
        return start + timedelta(days=1)
    return _add_months(start, granularity.months)


def _build(granularity: Granularity, parts: list[int], text: str) -> Period:
    year = parts[0]
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise BadInput(f"period {text!r} is outside {YEARS}")
    try:
        match granularity:
            case Granularity.YEAR:
                return Period(date(year, 1, 1), granularity)
            case Granularity.HALF:
                _check_range(parts[1], 2, "half", text)
                return Period(date(year, parts[1] * 6 - 5, 1), granularity)
            case Granularity.QUARTER:
                _check_range(parts[1], 4, "quarter", text)
                return Period(date(year, parts[1] * 3 - 2, 1), granularity)
            case Granularity.MONTH:
                _check_range(parts[1], 12, "month", text)
                return Period(date(year, parts[1], 1), granularity)
        return Period(date(year, parts[1], parts[2]), granularity)
    except ValueError as error:
        raise BadInput(f"period {text!r} is not a calendar date ({error})") from None


def _check_range(value: int, highest: int, name: str, text: str) -> None:
    if not 1 <= value <= highest:
        raise BadInput(f"period {text!r} has no {name} {value}; {name}s run from 1 to {highest}")


def parse_span(text: str) -> Span:
    """Reads a goal window: one PERIOD label, or two joined by `..` (both inclusive)."""
    first, sep, last = text.partition("..")
    start = Period.parse(first).start
    end = Period.parse(last).end if sep else Period.parse(first).end
    if end <= start:
        raise BadInput(f"span {text!r} ends before it starts")
    return Span(start, end)


@lru_cache(maxsize=4096)  # pure, and called per goal with the same few days in a cycle
def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The instant a local calendar day begins, as an aware UTC datetime."""
    return datetime.combine(day, time(), tzinfo=tz).astimezone(timezone.utc)


def parse_instant(text: str, tz: ZoneInfo) -> datetime:
    """An ISO 8601 date or date-time; without an offset it is read in `tz`. Aware UTC out."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"time {text!r} is not ISO 8601 (like 2026-07-05 or 2026-07-05T09:30+08:00)") from None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise BadInput(f"time {text!r} is outside {YEARS}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(timezone.utc)


@lru_cache(maxsize=4096)  # pure; a catalog's goals share a few windows, judged every cycle
def periods_of(span: Span, granularity: Granularity) -> tuple[Period, ...]:
    """The periods of one granularity that start inside the span, as a tuple."""
    return tuple(span.periods(granularity))


@lru_cache(maxsize=4096)  # pure; as periods_of
def starts_of(span: Span, granularity: Granularity) -> tuple[date, ...]:
    """The starts of periods_of(span, granularity), in order (for bisecting by day)."""
    return tuple(p.start for p in periods_of(span, granularity))

"""Late data (pure): which periods are due and have no figure.

A metric's period is due once it has ended and the metric's grace has passed. A due period
without data is missing: never zero. A goal is stale when a metric it reads (either side of
a ratio) misses a period inside the judged window, or, for a recurring goal, inside the
instance before it; the missing periods are named. A level (a metric whose latest reading
counts) misses only the periods after its latest reading: a newer reading supersedes the
ones before it. A metric without a grace is never due.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from tracker.core.goals import Aggregation, Goal, Metric
from tracker.core.periods import Granularity, Period, Span, periods_of, starts_of
from tracker.core.readings import Reading


@lru_cache(maxsize=1024)  # pure; thousands of metrics share a few (granularity, grace) pairs
def last_due(granularity: Granularity, grace: timedelta, now: datetime, tz: ZoneInfo) -> Period:
    """The latest period of this granularity whose figure is due by `now` (end + grace)."""
    return Period.at(granularity, now - grace, tz).previous()


def missing(
    goal: Goal,
    metrics: Mapping[str, Metric],
    have: Mapping[str, Mapping[Granularity, set[date]]],
    windows: Iterable[Span],
    now: datetime,
    tz: ZoneInfo,
) -> dict[str, list[Period]]:
    """Per metric of the goal, the due periods inside `windows` that have no figure."""
    out: dict[str, list[Period]] = {}
    for name in goal.metrics:
        spec = metrics[name]
        if spec.grace is None:
            continue
        due = last_due(spec.granularity, spec.grace, now, tz)
        present = have.get(name, _NONE).get(spec.granularity, _NONE)
        late = []
        for window in windows:
            # the periods started by the last due one's start (they are in order)
            due_here = periods_of(window, spec.granularity)[: bisect_right(starts_of(window, spec.granularity), due.start)]
            if spec.aggregation is Aggregation.LAST:
                seen = [i for i, p in enumerate(due_here) if p.start in present]
                due_here = due_here[seen[-1] + 1:] if seen else due_here
            late += [p for p in due_here if p.start not in present]
        if late:
            out[name] = late
    return out


def labels(found: Mapping[str, Sequence[Period]]) -> tuple[str, ...]:
    """The missing periods by label, each once, in time order."""
    return tuple(p.label for p in sorted({p for periods in found.values() for p in periods}))


_NONE: dict = {}


def present(readings: Mapping[str, Sequence[Reading]]) -> dict[str, dict[Granularity, set[date]]]:
    """The periods that have a figure, per metric, as the starts of each granularity's
    periods (a date hashes in C, a Period in Python)."""
    out: dict[str, dict[Granularity, set[date]]] = {}
    for name, rows in readings.items():
        periods = [r.period for r in rows]
        kinds = {p.granularity for p in periods}
        if len(kinds) == 1:  # a metric has one granularity: one set, made in C
            out[name] = {kinds.pop(): {p.start for p in periods}}
            continue
        starts: dict[Granularity, set[date]] = {}
        for p in periods:
            starts.setdefault(p.granularity, set()).add(p.start)
        out[name] = starts
    return out

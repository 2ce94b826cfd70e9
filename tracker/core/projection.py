"""From a goal's readings to its forecast (pure).

A window is cut into the periods of its metric's granularity (a year into months, say).
Each period gets its share of the plan (the pace curve: linear, or the goal's weights) and
its value where one is recorded; a period without data is missing, never zero. A figure
known before its period ended covers the period up to its known-since time, so the plan
counts only that part of the period. Earlier windows of the same length, where recorded,
give tracker.core.forecast the seasonal shape and the metric's own variation.
"""

from __future__ import annotations

import pickle
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from hashlib import blake2b
from threading import Lock
from zoneinfo import ZoneInfo

from tracker.core import forecast
from tracker.core.goals import Aggregation, Goal, Metric
from tracker.core.pace import share_due
from tracker.core.periods import Granularity, Period, Span, local_midnight, periods_of, starts_of
from tracker.core.readings import Reading, Rows, by_start

HISTORY_WINDOWS = 2  # earlier windows read for shape and variation; more adds little
_LEAST_COVER = 0.02  # a figure known at its period's very start still says something


@dataclass(frozen=True, slots=True)
class Series:
    """One metric over one window: the value of each period (None: no data yet)."""

    periods: tuple[Period, ...]
    values: tuple[Decimal | None, ...]
    covered: float = 1.0  # the part of the last period with data that its figure covers
    through: date | None = None  # local day (exclusive) the data runs through

    def floats(self) -> list[float | None]:
        return [None if v is None else float(v) for v in self.values]

    def observed(self) -> list[float | None]:
        """Values through the last period with data."""
        values = self.values
        last = len(values)
        while last and values[last - 1] is None:
            last -= 1
        return [None if v is None else float(v) for v in values[:last]]


def series(rows: Sequence[Reading], window: Span, spec: Metric, today: date, tz: ZoneInfo) -> Series:
    """The window's periods with the latest value of each that has started by `today`."""
    remembered = rows.windows if isinstance(rows, Rows) else None  # a goal asks for a window 3-5 times
    key = (window, spec.granularity, today, tz)
    found = remembered.get(key) if remembered is not None else None
    if found is None:
        found = _series(rows, window, spec.granularity, today, tz)
        if remembered is not None:
            remembered[key] = found
    return found


def _series(rows: Sequence[Reading], window: Span, granularity: Granularity, today: date, tz: ZoneInfo) -> Series:
    periods, starts = periods_of(window, granularity), starts_of(window, granularity)
    found = by_start(rows, granularity)  # a period of the window starts inside it
    # only periods started by `today` count (starts are in order)
    readings = [found.get(start) for start in starts[: bisect_right(starts, min(today, window.end - _DAY))]]
    if not any(readings):  # a Reading is true
        return Series(periods, (None,) * len(periods))
    while readings[-1] is None:
        readings.pop()
    values = [None if r is None else r.value for r in readings]
    values += [None] * (len(periods) - len(values))
    covered, through = _coverage(readings[-1], tz)
    return Series(periods, tuple(values), covered, through)


_DAY = timedelta(days=1)


def _coverage(reading: Reading, tz: ZoneInfo) -> tuple[float, date]:
    """All of its period, unless the figure was known before the period ended: then the
    part up to its known-since time (a to-date figure)."""
    known = reading.known_since
    if known is None or known >= local_midnight(reading.period.end, tz):
        return 1.0, reading.period.end
    return max(_LEAST_COVER, reading.period.elapsed_share(known, tz)), known.astimezone(tz).date()


@lru_cache(maxsize=4096)  # pure; the goals of a catalog share a few windows and paces
def plan_shares(pace: tuple[float, ...] | None, window: Span, granularity: Granularity,
                tz: ZoneInfo) -> tuple[float, ...]:
    """Each period's share of the target by the goal's pace curve (they add up to 1)."""
    cuts = [share_due(window, pace, local_midnight(p.end, tz), tz) for p in periods_of(window, granularity)]
    return tuple(b - a for a, b in zip([0.0, *cuts], cuts))


def _history(rows: Sequence[Reading], earlier: Sequence[Span], spec: Metric, today: date,
             tz: ZoneInfo) -> list[list[float | None]]:
    """Earlier windows' per-period values, oldest first; windows without data left out."""
    found = [series(rows, span, spec, today, tz) for span in earlier]
    return [window.floats() for window in found if window.through is not None]  # through: it has data


@dataclass(frozen=True, slots=True)
class Question:
    """What is asked of the forecast: one goal over one window, against one target."""

    goal: Goal
    window: Span
    earlier: tuple[Span, ...]  # earlier windows of the same length, oldest first
    target: Decimal
    today: date
    tz: ZoneInfo


def project(
    question: Question, metrics: Mapping[str, Metric], readings: Mapping[str, Sequence[Reading]]
) -> forecast.Forecast | None:
    """The distribution of the goal's measure at the window's end, from what is recorded."""
    goal, target, up = question.goal, float(question.target), question.goal.comparison.higher_is_better

    def inputs(name: str) -> tuple[Series, list[list[float | None]]]:
        rows, spec = readings.get(name, ()), metrics[name]
        found = series(rows, question.window, spec, question.today, question.tz)
        return found, _history(rows, question.earlier, spec, question.today, question.tz)

    if goal.is_ratio:
        (top, top_before), (bottom, bottom_before) = inputs(goal.numerator), inputs(goal.denominator)
        return _ratio(tuple(top.floats()), tuple(bottom.floats()), len(top.periods), _frozen(top_before),
                      _frozen(bottom_before), target, up)
    found, before = inputs(goal.metric)
    shares = plan_shares(goal.pace, question.window, metrics[goal.metric].granularity, question.tz)
    if metrics[goal.metric].aggregation is Aggregation.LAST:
        baseline = float(goal.baseline) if isinstance(goal.baseline, Decimal) else None
        return _level(tuple(found.observed()), _running(shares), baseline, target, up)
    observed = tuple(found.observed())
    outlook = _cumulative(shares, observed, found.covered, _frozen(before), target, up)
    floor = metrics[goal.metric].min
    if outlook is None or floor is None or floor < 0:
        return outlook
    # a flow that cannot go negative ends at least where it stands
    known = sum(v for v in observed if v is not None)
    return forecast.Forecast(outlook.probability, *(max(known, x) for x in (outlook.median, outlook.low, outlook.high)))


# The forecast is a pure function of its inputs, and a daemon's cycles mostly ask it the same
# questions again (actuals change far less often than every cycle): remember the answers,
# by a digest of the inputs (their tuples of floats take ~14 KB a goal; 100,000 of them
# were most of a 1 GB process).
_REMEMBERED = 131_072


class _Remembered:
    """A pure function's answers by a 128-bit digest of its pickled arguments, the least
    recently used forgotten first."""

    def __init__(self, function) -> None:  # type: ignore[no-untyped-def]
        self.function, self.answers = function, OrderedDict()  # type: ignore[var-annotated]
        self.lock = Lock()  # the daemon's request and scheduler threads share it

    def __call__(self, *args):  # type: ignore[no-untyped-def]
        key = blake2b(pickle.dumps(args, 5), digest_size=16).digest()
        answers = self.answers
        with self.lock:
            found = answers.get(key, _MISSING)
            if found is not _MISSING:
                answers.move_to_end(key)
                return found
        found = self.function(*args)
        with self.lock:
            answers[key] = found
            if len(answers) > _REMEMBERED:
                answers.popitem(last=False)
        return found

    def cache_clear(self) -> None:
        with self.lock:
            self.answers.clear()


_MISSING = object()


def _forecast_cumulative(plan, observed, covered, history, target, at_least):  # type: ignore[no-untyped-def]
    return forecast.cumulative(plan=plan, observed=observed, covered=covered, history=history, target=target,
                               at_least=at_least)


def _forecast_ratio(numerator, denominator, periods, history_numerator, history_denominator, target, at_least):  # type: ignore[no-untyped-def]
    return forecast.ratio(numerator=numerator, denominator=denominator, periods=periods,
                          history_numerator=history_numerator, history_denominator=history_denominator,
                          target=target, at_least=at_least)


def _forecast_level(observed, due_share, baseline, target, at_least):  # type: ignore[no-untyped-def]
    return forecast.level(observed=observed, due_share=due_share, baseline=baseline, target=target, at_least=at_least)


_cumulative = _Remembered(_forecast_cumulative)
_ratio = _Remembered(_forecast_ratio)
_level = _Remembered(_forecast_level)


def forget() -> None:
    """Drops the remembered answers (benchmarks measure a first cycle with it)."""
    for remembered in (_cumulative, _ratio, _level):
        remembered.cache_clear()


def _frozen(rows: Sequence[Sequence[float | None]]) -> tuple[tuple[float | None, ...], ...]:
    return tuple(tuple(row) for row in rows)


def _running(shares: Sequence[float]) -> tuple[float, ...]:
    total, out = 0.0, []
    for share in shares:
        total += share
        out.append(min(1.0, total))
    return tuple(out)

"""Pre-aggregated measures: what evaluation needs from the actuals, one row per metric and
window instead of every reading (pure).

`Requests` lists what a cycle asks for (tracker.core.evaluation.requests_for); `Aggregates`
answers it, either from the database in one pass per shape (tracker.store.aggregate_sql) or from
readings (`aggregate_readings`, the reference the SQL is tested against). Either way
`measure_from` turns an answer into the same Measure that tracker.core.measures computes from
readings, so judging does not depend on where the numbers came from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from tracker.core.goals import Aggregation, Goal, Metric
from tracker.core.measures import Measure, in_window, latest_per_period
from tracker.core.periods import Period, Span
from tracker.core.readings import Reading

Window = tuple[str, date, date]  # metric, window start, window end (local dates, end exclusive)
RatioWindow = tuple[str, str, date, date]  # numerator, denominator, start, end


@dataclass(frozen=True, slots=True)
class Totals:
    """A metric over a window: how many periods, their exact sum, and the latest one."""

    count: int
    total: Decimal
    last: Period
    last_value: Decimal


@dataclass(frozen=True, slots=True)
class RatioTotals:
    """Two metrics over the periods of a window where both have data."""

    count: int
    numerator: Decimal
    denominator: Decimal
    last: Period


@dataclass
class Requests:
    windows: set[Window] = field(default_factory=set)
    ratios: set[RatioWindow] = field(default_factory=set)
    due: set[tuple[str, Period]] = field(default_factory=set)  # staleness: is this period in?
    firsts: set[str] = field(default_factory=set)  # milestones: the earliest period recorded


@dataclass
class Aggregates:
    """Answers to Requests as of one day; a window without data is simply absent."""

    windows: dict[Window, Totals] = field(default_factory=dict)
    ratios: dict[RatioWindow, RatioTotals] = field(default_factory=dict)
    present: set[tuple[str, Period]] = field(default_factory=set)
    firsts: dict[str, Period] = field(default_factory=dict)


def measure_from(goal: Goal, metrics: Mapping[str, Metric], found: Aggregates, window: Span) -> Measure | None:
    """The goal's measure over `window`, as tracker.core.measures.measure gives it from readings."""
    if goal.is_ratio:
        ratio = found.ratios.get((goal.numerator, goal.denominator, window.start, window.end))
        if ratio is None or ratio.count == 0 or ratio.denominator == 0:
            return None
        return Measure(ratio.numerator / ratio.denominator, ratio.last.end, "rate")
    totals = found.windows.get((goal.metric, window.start, window.end))
    if totals is None or totals.count == 0:
        return None
    if metrics[goal.metric].aggregation is Aggregation.LAST:
        return Measure(totals.last_value, totals.last.end, "stock")
    return Measure(totals.total, totals.last.end, "flow")


def aggregate_readings(readings: Mapping[str, Sequence[Reading]], requests: Requests, today: date) -> Aggregates:
    """Answers `requests` from readings: the reference for the SQL, and a pure fallback."""
    out = Aggregates()
    for metric, start, end in requests.windows:
        chosen = latest_per_period(in_window(readings.get(metric, ()), Span(start, end), today))
        if chosen:
            last = max(chosen)
            out.windows[(metric, start, end)] = Totals(len(chosen), sum(chosen.values(), Decimal(0)), last, chosen[last])
    for top_name, bottom_name, start, end in requests.ratios:
        span = Span(start, end)
        top = latest_per_period(in_window(readings.get(top_name, ()), span, today))
        bottom = latest_per_period(in_window(readings.get(bottom_name, ()), span, today))
        both = top.keys() & bottom.keys()
        if both:
            out.ratios[(top_name, bottom_name, start, end)] = RatioTotals(
                len(both), sum((top[p] for p in both), Decimal(0)), sum((bottom[p] for p in both), Decimal(0)), max(both)
            )
    for metric, period in requests.due:
        if any(r.period == period for r in readings.get(metric, ())):
            out.present.add((metric, period))
    for metric in requests.firsts:
        starts = [r.period for r in readings.get(metric, ()) if r.period.start <= today]
        if starts:
            out.firsts[metric] = min(starts)
    return out

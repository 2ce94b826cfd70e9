"""What the readings of a goal's window add up to (pure).

A goal reads one metric or the ratio of two. Its measure over a window is:
- a flow (one metric summed, such as deliveries): the sum of the periods that have data;
- a stock (one metric whose aggregation is `last`, such as a store count): the latest reading;
- a rate (numerator / denominator): the sum of one over the sum of the other, over the
  periods where both have data; never the mean of per-period ratios.
`through` is the end (local date, exclusive) of the last period with data: pace is judged
through it, so a late month is lateness, not zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from tracker.core.goals import Aggregation, Goal, Metric
from tracker.core.periods import Granularity, Period, Span
from tracker.core.readings import Reading


@dataclass(frozen=True, slots=True)
class Measure:
    value: Decimal
    through: date
    shape: str  # "flow", "stock" or "rate"


def in_window(readings: Sequence[Reading], window: Span, visible_until: date) -> list[Reading]:
    """Readings of periods inside the window that start on or before the as-of day."""
    first, end = window.start, window.end
    return [r for r in readings if first <= (p := r.period).start <= visible_until and p.end <= end]


def measure(
    goal: Goal,
    metrics: Mapping[str, Metric],
    readings: Mapping[str, Sequence[Reading]],
    window: Span,
    visible_until: date,
) -> Measure | None:
    """The goal's measure over `window`, or None when the window has no usable data."""
    if goal.is_ratio:
        return _rate(
            in_window(readings.get(goal.numerator, ()), window, visible_until),
            in_window(readings.get(goal.denominator, ()), window, visible_until),
        )
    rows = in_window(readings.get(goal.metric, ()), window, visible_until)
    if not rows:
        return None
    chosen = _latest(rows)
    last = chosen[max(chosen)]
    if metrics[goal.metric].aggregation is Aggregation.LAST:
        return Measure(last.value, last.period.end, "stock")
    return Measure(sum([r.value for r in chosen.values()], Decimal(0)), last.period.end, "flow")


def _rate(numerators: list[Reading], denominators: list[Reading]) -> Measure | None:
    top, bottom = _latest(numerators), _latest(denominators)
    both = top.keys() & bottom.keys()
    if not both:
        return None
    denominator = sum((bottom[p].value for p in both), Decimal(0))
    if denominator == 0:
        return None
    numerator = sum((top[p].value for p in both), Decimal(0))
    return Measure(numerator / denominator, top[max(both)].period.end, "rate")


def latest_per_period(rows: Sequence[Reading]) -> dict[Period, Decimal]:
    """One value per period: the most recently recorded, whatever order rows came in."""
    return {row.period: row.value for row in _latest(rows).values()}


def _latest(rows: Sequence[Reading]) -> dict[tuple[date, Granularity], Reading]:
    """latest_per_period's readings, by (start, granularity): a Period's own fields, its
    equality and hash, but hashed and compared in C (a Period's are Python functions)."""
    chosen = {(row.period.start, row.period.granularity): row for row in rows}
    if len(chosen) < len(rows):  # the store gives one per period; other callers may not
        for row in rows:
            key = (row.period.start, row.period.granularity)
            held = chosen[key]
            if (row.recorded_at, row.value) > (held.recorded_at, held.value):
                chosen[key] = row
    return chosen

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
from tracker.core.periods import Period, Span
from tracker.core.readings import Reading


@dataclass(frozen=True, slots=True)
class Measure:
    value: Decimal
    through: date
    shape: str  # "flow", "stock" or "rate"


def in_window(readings: Sequence[Reading], window: Span, visible_until: date) -> list[Reading]:
    """Readings of periods inside the window that start on or before the as-of day."""
    return [
        r
        for r in readings
        if window.start <= r.period.start and r.period.end <= window.end and r.period.start <= visible_until
    ]


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
    by_period = latest_per_period(rows)
    last = max(by_period)
    if metrics[goal.metric].aggregation is Aggregation.LAST:
        return Measure(by_period[last], last.end, "stock")
    return Measure(sum(by_period.values(), Decimal(0)), last.end, "flow")


def _rate(numerators: list[Reading], denominators: list[Reading]) -> Measure | None:
    top, bottom = latest_per_period(numerators), latest_per_period(denominators)
    both = top.keys() & bottom.keys()
    if not both:
        return None
    denominator = sum((bottom[p] for p in both), Decimal(0))
    if denominator == 0:
        return None
    numerator = sum((top[p] for p in both), Decimal(0))
    return Measure(numerator / denominator, max(both).end, "rate")


def latest_per_period(rows: Sequence[Reading]) -> dict[Period, Decimal]:
    """One value per period: the most recently recorded, whatever order rows came in."""
    chosen = {row.period: row for row in rows}
    if len(chosen) < len(rows):  # the store gives one per period; other callers may not
        for row in rows:
            held = chosen[row.period]
            if (row.recorded_at, row.value) > (held.recorded_at, held.value):
                chosen[row.period] = row
    return {period: row.value for period, row in chosen.items()}

"""Where judging gets its numbers: readings in memory, or aggregates made by the database
(pure). Both answer the same three questions, so tracker.core.evaluation has one code path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from tracker.core.aggregates import Aggregates, measure_from
from tracker.core.goals import Goal, Metric
from tracker.core.measures import Measure, measure
from tracker.core.periods import Period, Span
from tracker.core.readings import Reading


class FromReadings:
    def __init__(self, metrics: Mapping[str, Metric], readings: Mapping[str, Sequence[Reading]]) -> None:
        self.metrics, self.readings = metrics, readings

    def measure(self, goal: Goal, window: Span, today: date) -> Measure | None:
        return measure(goal, self.metrics, self.readings, window, today)

    def has_period(self, metric: str, period: Period) -> bool:
        return any(r.period == period for r in self.readings.get(metric, ()))

    def first_start(self, metric: str, today: date) -> date | None:
        return min((r.period.start for r in self.readings.get(metric, ()) if r.period.start <= today), default=None)


class FromAggregates:
    """Aggregates answer for the day they were made for: `today` is already applied."""

    def __init__(self, metrics: Mapping[str, Metric], found: Aggregates) -> None:
        self.metrics, self.found = metrics, found

    def measure(self, goal: Goal, window: Span, today: date) -> Measure | None:
        return measure_from(goal, self.metrics, self.found, window)

    def has_period(self, metric: str, period: Period) -> bool:
        return (metric, period) in self.found.present

    def first_start(self, metric: str, today: date) -> date | None:
        first = self.found.firsts.get(metric)
        return None if first is None else first.start

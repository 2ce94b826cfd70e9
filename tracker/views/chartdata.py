"""What a goal's chart shows, as plain numbers: pure, no plotting, no clock, no database.

A chart is one of four shapes, chosen by the goal's kind:
- `progress` (cumulative, level): the actual to date, step by step, against the pace curve
  (the share of the target due by then), the target and the projection to the period's end;
- `running` (a ratio judged over a fixed window): the ratio of sums to date, quarter by
  quarter, against the target;
- `instances` (a recurring ratio or delta): one bar per recent period against its target;
- `milestone`: the window, the deadline, the warning run-up and the day it happened.
`charts.py` draws these; the tests check them here, where they are cheap to read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tracker.core.goals import Goal, Kind
from tracker.core.periods import Granularity, Period, local_midnight
from tracker.core.readings import Reading
from tracker.core.verdict import Evaluation

Pace = Callable[[datetime], float]  # share of the target due by an instant, in [0, 1]
XY = tuple[date, float]

# How many recent periods a recurring goal's chart shows, the current one included.
_INSTANCES = {Granularity.QUARTER: 8, Granularity.YEAR: 4, Granularity.HALF: 6, Granularity.MONTH: 12}


@dataclass(frozen=True)
class Revision:
    effective: date
    value: float
    note: str | None


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    target: float | None
    current: bool


@dataclass(frozen=True)
class ChartData:
    """Hashable, so that a chart drawn once is not drawn again (charts.render_svg caches)."""

    shape: str  # progress | running | instances | milestone
    percent: bool
    start: date
    end: date
    as_of: date
    actual: tuple[XY, ...] = ()
    pace: tuple[XY, ...] = ()
    targets: tuple[XY, ...] = ()  # a step line: each value holds from its date on
    revisions: tuple[Revision, ...] = ()
    projection: tuple[XY, XY] | None = None
    baseline: float | None = None
    bars: tuple[Bar, ...] = ()
    projected_bar: float | None = None
    deadline: date | None = None
    warn_from: date | None = None
    happened: date | None = None


def chart_data(
    goal: Goal, evaluation: Evaluation, readings: Mapping[str, Sequence[Reading]], tz: ZoneInfo, pace: Pace
) -> ChartData:
    """The chart of one goal as judged in `evaluation`, from the goal's current readings."""
    as_of = evaluation.evaluated_at.astimezone(tz).date()
    base = {
        "percent": goal.display == "percent",
        "start": evaluation.period_start,
        "end": evaluation.period_end,
        "as_of": as_of,
    }
    if goal.kind is Kind.MILESTONE:
        return _milestone(goal, readings.get(goal.metric or "", ()), base)
    if goal.kind in (Kind.CUMULATIVE, Kind.LEVEL):
        return _progress(goal, evaluation, readings.get(goal.metric or "", ()), tz, pace, base)
    if goal.recurs is not None:
        return _instances(goal, evaluation, readings, base)
    return _running(goal, evaluation, readings, base)


def _inside(readings: Sequence[Reading], start: date, end: date) -> list[Reading]:
    return [r for r in readings if start <= r.period.start and r.period.end <= end]


def _f(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _progress(goal, evaluation, readings, tz, pace, base) -> ChartData:  # type: ignore[no-untyped-def]
    start, end = base["start"], base["end"]
    level = goal.kind is Kind.LEVEL
    baseline = _f(goal.baseline) if level else 0.0
    points: list[XY] = []
    total = 0.0
    for reading in _inside(readings, start, end):
        total = float(reading.value) if level else total + float(reading.value)
        points.append((reading.period.end, total))
    # A sum starts from zero at the window's start; a level has no reading before its first.
    actual = points if level or not points else [(start, 0.0), *points]
    curve = [(day, _expected(goal, day, pace(local_midnight(day, tz)), baseline)) for day in _month_starts(start, end)]
    return ChartData(
        shape="progress",
        actual=tuple(actual),
        pace=tuple(curve),
        targets=_target_steps(goal, evaluation, start),
        revisions=tuple(Revision(t.effective, float(t.value), t.note) for t in goal.targets[1:]),
        projection=_projection(points, evaluation),
        baseline=baseline if level else None,
        **base,
    )


def _expected(goal: Goal, day: date, share: float, baseline: float | None) -> float:
    """The pace line: baseline + (target in force - baseline) * share due."""
    target = float(goal.target_at(day) or 0)
    floor = baseline or 0.0
    return floor + (target - floor) * share


def _month_starts(start: date, end: date) -> list[date]:
    """Where the pace curve is sampled: the window's ends and every month in between (pace
    weights are monthly or quarterly, and the curve is straight within a month)."""
    days = [start]
    month = Period.containing(Granularity.MONTH, start).next()
    while month.start < end:
        days.append(month.start)
        month = month.next()
    return days + [end]


def _target_steps(goal: Goal, evaluation: Evaluation, start: date) -> tuple[XY, ...]:
    if goal.targets:
        return tuple((max(t.effective, start), float(t.value)) for t in goal.targets)
    target = _f(evaluation.target) if evaluation.target is not None else _f(goal.target)
    return () if target is None else ((start, target),)


def _projection(actual: list[XY], evaluation: Evaluation) -> tuple[XY, XY] | None:
    """From the last actual to the projected value at the period's end, while the period runs."""
    if not actual or evaluation.projected is None:
        return None
    last_day, last_value = actual[-1]
    if last_day >= evaluation.period_end:
        return None
    return (last_day, last_value), (evaluation.period_end, float(evaluation.projected))


def _ratio_pairs(goal: Goal, readings: Mapping[str, Sequence[Reading]]) -> dict[Period, tuple[Decimal, Decimal]]:
    """Numerator and denominator per period, where both are recorded."""
    numerators = {r.period: r.value for r in readings.get(goal.numerator or "", ())}
    denominators = {r.period: r.value for r in readings.get(goal.denominator or "", ())}
    return {p: (numerators[p], denominators[p]) for p in sorted(numerators.keys() & denominators.keys())}


def _ratio(pairs: Sequence[tuple[Decimal, Decimal]]) -> float | None:
    """A ratio of sums, never a mean of ratios; None where the denominator sums to zero."""
    denominator = sum((d for _, d in pairs), Decimal(0))
    return None if denominator == 0 else float(sum((n for n, _ in pairs), Decimal(0)) / denominator)


def _running(goal, evaluation, readings, base) -> ChartData:  # type: ignore[no-untyped-def]
    start, end = base["start"], base["end"]
    pairs = [(p, v) for p, v in _ratio_pairs(goal, readings).items() if start <= p.start and p.end <= end]
    actual: list[XY] = []
    for index, (period, _) in enumerate(pairs):
        value = _ratio([v for _, v in pairs[: index + 1]])
        if value is not None:
            actual.append((period.end, value))
    return ChartData(
        shape="running",
        actual=tuple(actual),
        targets=_target_steps(goal, evaluation, start),
        revisions=tuple(Revision(t.effective, float(t.value), t.note) for t in goal.targets[1:]),
        projection=_projection(actual, evaluation),
        **base,
    )


def _instances(goal, evaluation, readings, base) -> ChartData:  # type: ignore[no-untyped-def]
    pairs = _ratio_pairs(goal, readings)
    current = Period.containing(goal.recurs, evaluation.period_start)
    count = _INSTANCES.get(goal.recurs, 6)
    periods = [current.shift(offset) for offset in range(-count, 1)]  # one extra: a delta's base
    values = {p: _ratio([v for q, v in pairs.items() if p.contains(q)]) for p in periods}
    bars = [Bar(p.label, values[p], _instance_target(goal, p, values, evaluation, current), p == current) for p in periods[1:]]
    while len(bars) > 1 and bars[0].value is None:
        bars.pop(0)  # no empty history before the first recorded period
    projected = _f(evaluation.projected)
    if projected is not None and values[current] is not None and abs(projected - values[current]) < 1e-9:
        projected = None  # a closed period's projection is its value: no second mark
    return ChartData(
        shape="instances",
        bars=tuple(bars),
        projected_bar=projected,
        baseline=_f(evaluation.baseline),
        **base,
    )


def _instance_target(goal: Goal, period: Period, values, evaluation: Evaluation, current: Period) -> float | None:  # type: ignore[no-untyped-def]
    if period == current and evaluation.target is not None:
        return float(evaluation.target)
    if goal.kind is Kind.DELTA:
        previous = values.get(period.previous())
        return None if previous is None or goal.delta is None else previous + float(goal.delta)
    return _f(goal.target_at(period.start))


def _milestone(goal: Goal, readings: Sequence[Reading], base) -> ChartData:  # type: ignore[no-untyped-def]
    deadline = goal.deadline
    assert deadline is not None  # the catalog requires it of a milestone
    warn_from = deadline - goal.warn_before if goal.warn_before else None
    happened = min((r.period.start for r in readings), default=None)
    end = max(base.pop("end"), deadline + timedelta(days=1))
    return ChartData(shape="milestone", end=end, deadline=deadline, warn_from=warn_from, happened=happened, **base)

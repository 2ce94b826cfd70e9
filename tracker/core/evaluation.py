"""Judging goals: pace, projection and status for every goal kind (pure: no DB, clock or logging).

`evaluate(goal, catalog=, readings=, now=)` judges one goal as of `now` from the current
readings of its metrics (tracker.core.readings.Reading, in period order). The rules (DESIGN.md,
"The judgement"):

- Only periods that start on or before `now` count: an as-of evaluation never sees the future.
- Pace is judged through `data_through`, the end of the last period with data, not through
  `now`: with January and February only on 3 April, expected = target x w(end of February);
  March is late (see staleness), not zero. Projected = actual / w(data_through).
- Status comes from projected attainment against the goal's bands (catalog defaults
  on_track >= 0.97, at_risk >= 0.90). Attainment is oriented so that higher is better: for
  at_most / below goals it is target / value. A window that has closed, with data through
  its end, is graded achieved or missed. No data is `no_data`, never zero.
- Recurring goals (recurs = year/quarter/...) judge the instance that contains `now`; while
  that instance has no data yet, they show the previous instance's verdict instead (the
  most recent one that means something), with that instance's period in the result.
- A metric is stale when its latest due period (period end + grace <= now) has no actual;
  a goal is stale when a metric it reads is stale for a period inside the judged window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from tracker.core.aggregates import Aggregates, Requests
from tracker.core.goals import CatalogLike as Catalog
from tracker.core.goals import Comparison, Goal, Kind, Metric
from tracker.core.measures import Measure
from tracker.core.pace import share_due
from tracker.core.periods import Granularity, Period, Span, local_midnight
from tracker.core.readings import Reading
from tracker.core.sources import FromAggregates, FromReadings
from tracker.core.summary import summarize
from tracker.core.verdict import Evaluation, Status

Readings = Mapping[str, Sequence[Reading]]
Source = FromReadings | FromAggregates


def pace(goal: Goal, *, catalog: Catalog, at: datetime) -> float:
    """The share of the target due by `at` (0..1) over the goal's window (for a recurring
    goal, the instance containing `at`)."""
    return share_due(_window_at(goal, catalog, at), goal.pace, at, catalog.timezone)


def evaluate_all(catalog: Catalog, readings: Readings, now: datetime) -> list[Evaluation]:
    source = FromReadings(catalog.metrics, readings)
    return [_evaluate(goal, catalog, source, now) for goal in catalog.goals]


def evaluate(goal: Goal, *, catalog: Catalog, readings: Readings, now: datetime) -> Evaluation:
    """Judges one goal as of `now` (aware)."""
    return _evaluate(goal, catalog, FromReadings(catalog.metrics, readings), now)


def evaluate_aggregated(catalog: Catalog, aggregates: Aggregates, now: datetime) -> list[Evaluation]:
    """evaluate_all from pre-aggregated measures (answers to `requests_for(catalog, now)`):
    the same Evaluations, without every reading in memory."""
    source = FromAggregates(catalog.metrics, aggregates)
    return [_evaluate(goal, catalog, source, now) for goal in catalog.goals]


def requests_for(catalog: Catalog, now: datetime) -> Requests:
    """Every window, due period and first reading that evaluating the catalog as of `now`
    may look at: the current window, the previous instance of a recurring goal, and the
    window before either for baselines taken from the previous period."""
    wanted = Requests()
    for goal in catalog.goals:
        if goal.kind is Kind.MILESTONE:
            wanted.firsts.add(goal.metric)
            continue
        windows = [_window_at(goal, catalog, now)]
        if goal.recurs is not None:
            windows.append(Period.containing(goal.recurs, windows[0].start).previous().span)
        if goal.kind is Kind.DELTA or goal.baseline == "previous_period":
            windows += [_previous_window(goal, w) for w in windows]
        for w in windows:
            if goal.is_ratio:
                wanted.ratios.add((goal.numerator, goal.denominator, w.start, w.end))
            else:
                wanted.windows.add((goal.metric, w.start, w.end))
        for name in goal.metrics:
            due = _due_period(catalog.metrics[name], catalog, now)
            if due is not None:
                wanted.due.add((name, due))
    return wanted


def _evaluate(goal: Goal, catalog: Catalog, source: Source, now: datetime) -> Evaluation:
    today = now.astimezone(catalog.timezone).date()
    window = _window_at(goal, catalog, now)
    if goal.kind is Kind.MILESTONE:
        return _milestone(goal, catalog, source, window, now, today)
    found = source.measure(goal, window, today)
    if found is None and goal.recurs is not None:
        previous = Period.containing(goal.recurs, window.start).previous().span
        earlier = source.measure(goal, previous, today)
        if earlier is not None:
            window, found = previous, earlier
    return _judge(goal, catalog, source, window, found, now, today)


def _window_at(goal: Goal, catalog: Catalog, at: datetime) -> Span:
    if goal.period is not None:
        return goal.period
    return Period.at(goal.recurs, at, catalog.timezone).span


def _previous_window(goal: Goal, window: Span) -> Span:
    """The window before: the previous instance, or as many calendar months just before."""
    if goal.recurs is not None:
        return Period.containing(goal.recurs, window.start).previous().span
    months = list(window.periods(Granularity.MONTH))
    if window.start.day == 1 and months and months[-1].end == window.end:
        return Span(months[0].shift(-len(months)).start, window.start)
    return Span(window.start - (window.end - window.start), window.start)


@dataclass(frozen=True)
class _Target:
    value: Decimal | None
    baseline: Decimal | None
    why_missing: str = ""


def _target(goal: Goal, catalog: Catalog, source: Source, window: Span, today: date) -> _Target:
    """The target in force on `today`; for delta goals and thresholds against the previous
    period, the previous window's measure once that window has closed with all its data."""
    if goal.kind is Kind.DELTA or goal.baseline == "previous_period":
        before = _previous_window(goal, window)
        base = source.measure(goal, before, today)
        if base is None or base.through < before.end:
            return _Target(None, None, f"the baseline ({before.label}) is not complete yet")
        step = goal.delta if goal.kind is Kind.DELTA else Decimal(0)
        return _Target(base.value + step, base.value)
    baseline = goal.baseline if isinstance(goal.baseline, Decimal) else None
    return _Target(goal.target_at(today), baseline)


def _judge(
    goal: Goal,
    catalog: Catalog,
    source: Source,
    window: Span,
    found: Measure | None,
    now: datetime,
    today: date,
) -> Evaluation:
    tz = catalog.timezone
    stale = _stale_metrics(goal, catalog, source, window, now)
    base = dict(goal=goal, window=window, now=now, stale=stale)
    target = _target(goal, catalog, source, window, today)
    if found is None or target.value is None:
        why = f"nothing recorded for {window.label} yet" if found is None else target.why_missing
        return _build(**base, status=Status.NO_DATA, target=target.value, baseline=target.baseline, note=why)
    share = share_due(window, goal.pace, local_midnight(found.through, tz), tz)
    numbers = _numbers(goal, found, target, share)
    status = _status(goal, catalog, found, window, target.value, numbers, now)
    rate, unit = _required_rate(goal, catalog, found, window, target.value)
    return _build(**base, status=status, target=target.value, baseline=target.baseline, found=found,
                  required_rate=rate, rate_unit=unit, **numbers)


def _numbers(goal: Goal, found: Measure, target: _Target, share: float) -> dict[str, object]:
    """actual, expected, projected and the two attainments for the measure's shape."""
    value, goal_value = found.value, target.value
    w = Decimal(repr(share))
    if goal.kind is Kind.LEVEL and target.baseline is not None:
        b = target.baseline
        projected = b + (value - b) / w if w > 0 else None
        return dict(actual=value, expected=b + (goal_value - b) * w, projected=projected,
                    attainment=_progress(value, b, goal_value, goal.comparison),
                    projected_attainment=None if projected is None else _progress(projected, b, goal_value, goal.comparison))
    if found.shape == "flow":
        projected = value / w if w > 0 else None
        return dict(actual=value, expected=goal_value * w, projected=projected,
                    attainment=score(value, goal_value, goal.comparison),
                    projected_attainment=None if projected is None else score(projected, goal_value, goal.comparison))
    # a rate or a stock held against a level: today's value is the best projection
    attained = score(value, goal_value, goal.comparison)
    return dict(actual=value, expected=goal_value, projected=value, attainment=attained, projected_attainment=attained)


def score(value: Decimal, target: Decimal, comparison: Comparison) -> float:
    """Attainment oriented so that 1.0 is on target and more is better."""
    if target > 0 and value > 0:
        return float(value / target if comparison.higher_is_better else target / value)
    return 1.0 if comparison.met(value, target) else 0.0


def _progress(value: Decimal, baseline: Decimal, target: Decimal, comparison: Comparison) -> float:
    """How far from the baseline towards the target: 0 at the baseline, 1 at the target."""
    if target == baseline:
        return 1.0 if comparison.met(value, target) else 0.0
    return float((value - baseline) / (target - baseline))


def _status(goal: Goal, catalog: Catalog, found: Measure, window: Span, target: Decimal,
            numbers: dict[str, object], now: datetime) -> Status:
    closed = now >= local_midnight(window.end, catalog.timezone)
    met = goal.comparison.met(found.value, target)
    if closed and found.through >= window.end:
        return Status.ACHIEVED if met else Status.MISSED
    if found.shape == "flow" and goal.kind is not Kind.LEVEL:
        # flows do not run backwards: a total past the line is settled before the window ends
        if met and goal.comparison.higher_is_better:
            return Status.ACHIEVED
        if not met and not goal.comparison.higher_is_better:
            return Status.MISSED
    projected = numbers["projected_attainment"]
    if projected is None:  # nothing was due yet by data_through
        return Status.ON_TRACK
    bands = catalog.bands_for(goal)
    if projected >= bands.on_track:
        return Status.ON_TRACK
    return Status.AT_RISK if projected >= bands.at_risk else Status.OFF_TRACK


def _required_rate(goal: Goal, catalog: Catalog, found: Measure, window: Span,
                   target: Decimal) -> tuple[Decimal | None, str | None]:
    """What is still needed per remaining period of the metric's granularity (flows and levels)."""
    if found.shape == "rate":
        return None, None
    granularity = catalog.metrics[goal.metrics[0]].granularity
    remaining = _periods_between(found.through, window.end, granularity)
    if remaining == 0:
        return None, None
    gap = target - found.value
    if goal.comparison.higher_is_better and gap < 0:
        gap = Decimal(0)
    return gap / remaining, str(granularity)


def _periods_between(start: date, end: date, granularity: Granularity) -> int:
    """How many whole periods of `granularity` fit in [start, end) (counted, not iterated)."""
    if granularity is Granularity.DAY:
        return max(0, (end - start).days)
    months = (end.year - start.year) * 12 + end.month - start.month
    return max(0, months // granularity.months)


def _due_period(spec: Metric, catalog: Catalog, now: datetime) -> Period | None:
    """The metric's latest period whose actual is due by `now` (end + grace), if it has a grace."""
    if spec.grace is None:
        return None
    return _due(spec.granularity, spec.grace, now, catalog.timezone)


@lru_cache(maxsize=1024)  # pure; thousands of metrics share a few (granularity, grace) pairs
def _due(granularity: Granularity, grace: timedelta, now: datetime, tz: ZoneInfo) -> Period:
    return Period.at(granularity, now - grace, tz).previous()


def _stale_metrics(goal: Goal, catalog: Catalog, source: Source, window: Span, now: datetime) -> tuple[str, ...]:
    """Metrics whose latest due period (end + grace <= now) inside the window has no actual."""
    stale = []
    for name in goal.metrics:
        due = _due_period(catalog.metrics[name], catalog, now)
        if due is None or not (window.start <= due.start and due.end <= window.end):
            continue
        if not source.has_period(name, due):
            stale.append(name)
    return tuple(stale)


def _milestone(goal: Goal, catalog: Catalog, source: Source, window: Span, now: datetime, today: date) -> Evaluation:
    """Done (a reading on or before the deadline), missed (late, or not done by it), or pending."""
    tz = catalog.timezone
    done = source.first_start(goal.metric, today)
    deadline_end = local_midnight(goal.deadline + timedelta(days=1), tz)
    base = dict(goal=goal, window=window, now=now, stale=(), target=Decimal(1), baseline=None)
    if done is not None:
        status = Status.ACHIEVED if done <= goal.deadline else Status.MISSED
        return _build(**base, status=status, actual=Decimal(1), attainment=1.0, data_through=done + timedelta(days=1),
                      note=f"done on {done.isoformat()}")
    if now >= deadline_end:
        return _build(**base, status=Status.MISSED, actual=Decimal(0), attainment=0.0, note="not done by the deadline")
    near = goal.warn_before is not None and now >= deadline_end - goal.warn_before
    left = (deadline_end - now).days
    return _build(**base, status=Status.ON_TRACK, actual=Decimal(0), attainment=0.0, deadline_near=near,
                  note=f"not done yet; due by {goal.deadline.isoformat()} ({left} days left)")


def _build(*, goal: Goal, window: Span, now: datetime, status: Status, stale: tuple[str, ...],
           found: Measure | None = None, note: str = "", **fields: object) -> Evaluation:
    if found is not None:  # the last day with data, inclusive, as people read "through"
        fields["data_through"] = found.through - timedelta(days=1)
    evaluation = Evaluation(
        goal=goal.id, title=goal.title, kind=str(goal.kind), period_start=window.start, period_end=window.end,
        status=status, evaluated_at=now, stale=bool(stale), stale_metrics=stale, display=goal.display,
        unit=goal.unit, labels=dict(goal.labels), **fields,
    )
    # The summary reads the other fields. Set on the new, not yet shared object: a
    # dataclasses.replace copy would cost a quarter of a 10,000-goal cycle.
    object.__setattr__(evaluation, "summary", summarize(evaluation, note))
    return evaluation

"""Judging goals: forecast, probability and status for every goal kind (pure: no DB, clock
or logging).

`evaluate(goal, catalog=, readings=, now=)` judges one goal as of `now` from the readings of
its metrics (tracker.core.readings.Reading: what was known; the store picks them). The rules
(README, "Status: how goals are judged"):

- Only periods that start on or before `now` count: an as-of evaluation never sees the future.
- A due period without data is missing, never zero: the forecast uses the periods that have
  data and the plan's share of them; the goal is stale and names them (tracker.core.gaps).
- While the window is open, the status comes from the forecast's probability of meeting
  the target (tracker.core.forecast): on track from `bands.on_track` (0.8), off track below
  `bands.off_track` (0.2), at risk between. A total that has passed its floor is achieved,
  one past its ceiling missed: flows do not run backwards.
- A closed window with every period in is graded achieved or missed; one still missing
  periods is not graded, and says what it waits for.
- Delta goals and thresholds against the previous period take their baseline from the
  previous window, complete; an incomplete baseline is no_data, naming what it lacks.
- Recurring goals judge the instance containing `now`; while it has no data they show the
  previous instance's verdict, with its period, and say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from tracker.core import gaps
from tracker.core.goals import CatalogLike as Catalog
from tracker.core.goals import Comparison, Goal, Kind
from tracker.core.measures import Measure, measure
from tracker.core.milestones import judge_milestone
from tracker.core.pace import share_due
from tracker.core.periods import Granularity, Period, Span, local_midnight
from tracker.core.projection import HISTORY_WINDOWS, Question, project, series
from tracker.core.readings import Reading
from tracker.core.summary import summarize
from tracker.core.verdict import Evaluation, Status

Readings = Mapping[str, Sequence[Reading]]


def pace(goal: Goal, *, catalog: Catalog, at: datetime) -> float:
    """The share of the target due by `at` (0..1) over the goal's window (for a recurring
    goal, the instance containing `at`)."""
    return share_due(window_at(goal, catalog, at), goal.pace, at, catalog.timezone)


def evaluate_all(catalog: Catalog, readings: Readings, now: datetime, *, known_at: datetime | None = None) -> list[Evaluation]:
    return evaluate_goals(catalog, catalog.goals, readings, now, known_at=known_at)


def evaluate_goals(catalog: Catalog, goals: Iterable[Goal], readings: Readings, now: datetime, *,
                   known_at: datetime | None = None) -> list[Evaluation]:
    """Some of the catalog's goals (the readings need only theirs), each as evaluate_all judges it."""
    data = _Data(catalog, readings, now, known_at)
    return [data.judge(goal) for goal in goals]


def evaluate(goal: Goal, *, catalog: Catalog, readings: Readings, now: datetime,
             known_at: datetime | None = None) -> Evaluation:
    """Judges one goal as of `now` (aware)."""
    return _Data(catalog, readings, now, known_at).judge(goal)


def grade(goal: Goal, *, catalog: Catalog, readings: Readings, now: datetime, start: date, end: date) -> Evaluation:
    """The goal judged over one given window (a backtest's): achieved or missed once that
    window has closed with all its data."""
    window = Span(start, end)
    data = _Data(catalog, readings, now, None)
    if goal.kind is Kind.MILESTONE:
        return data.judge(goal)
    return data.judge_window(goal, window, data.measure(goal, window), carried=None)


def earliest_start(catalog: Catalog, now: datetime) -> date:
    """The first day any goal judged as of `now` may read: its window, the one before (a
    recurring goal's previous instance, a baseline), and the forecast's earlier windows."""
    starts, shapes = [], set()
    for goal in catalog.goals:
        shape = (goal.period, goal.recurs)  # all a goal's windows depend on
        if shape in shapes:
            continue
        shapes.add(shape)
        window = window_at(goal, catalog, now)
        for _ in range(HISTORY_WINDOWS + 1):
            window = previous_window(goal, window)
        starts.append(window.start)
    return min(starts, default=now.date())


def window_at(goal: Goal, catalog: Catalog, at: datetime) -> Span:
    if goal.period is not None:
        return goal.period
    return Period.at(goal.recurs, at, catalog.timezone).span


def previous_window(goal: Goal, window: Span) -> Span:
    """The window before: the previous instance, or as many calendar months just before."""
    return _previous(goal.recurs, window)


@lru_cache(maxsize=4096)  # pure; the goals of a catalog share a few windows
def _previous(recurs: Granularity | None, window: Span) -> Span:
    if recurs is not None:
        return Period.containing(recurs, window.start).previous().span
    start, end = window.start, window.end
    months = (end.year - start.year) * 12 + end.month - start.month
    if start.day == 1 and end.day == 1 and months > 0:
        return Span(Period.containing(Granularity.MONTH, start).shift(-months).start, start)
    return Span(start - (end - start), start)


@dataclass(frozen=True)
class _Target:
    value: Decimal | None
    baseline: Decimal | None
    why_missing: str = ""
    missing: tuple[str, ...] = ()


class _Data:
    """One evaluation's inputs: the catalog, the readings and the instant, judged goal by goal."""

    def __init__(self, catalog: Catalog, readings: Readings, now: datetime, known_at: datetime | None) -> None:
        self.catalog, self.readings, self.now, self.known_at = catalog, readings, now, known_at
        self.tz = catalog.timezone
        self.today = now.astimezone(self.tz).date()
        self.have = gaps.present(readings)

    def judge(self, goal: Goal) -> Evaluation:
        current = window_at(goal, self.catalog, self.now)
        if goal.kind is Kind.MILESTONE:
            days = [r.period.start for r in self.readings.get(goal.metric, ()) if r.period.start <= self.today]
            verdict = judge_milestone(goal, min(days, default=None), self.now, self.tz, self.catalog.bands_for(goal))
            return self._build(goal, current, verdict.status, {}, note=verdict.note, **verdict.fields)
        window, found = current, self.measure(goal, current)
        if found is None and goal.recurs is not None:
            before = previous_window(goal, current)
            earlier = self.measure(goal, before)
            if earlier is not None:
                window, found = before, earlier
        return self.judge_window(goal, window, found, carried=current if window != current else None)

    def measure(self, goal: Goal, window: Span) -> Measure | None:
        return measure(goal, self.catalog.metrics, self.readings, window, self.today)

    def _missing(self, goal: Goal, windows: Sequence[Span]) -> dict[str, list[Period]]:
        return gaps.missing(goal, self.catalog.metrics, self.have, windows, self.now, self.tz)

    def judge_window(self, goal: Goal, window: Span, found: Measure | None, carried: Span | None) -> Evaluation:
        watched = [window]
        if goal.recurs is not None:  # the instance shown and the one next to it: an overdue one is late too
            watched.append(carried if carried is not None else previous_window(goal, window))
        late = self._missing(goal, watched)
        target = self._target(goal, window)
        if found is None or target.value is None:
            why = f"nothing recorded for {window.label} yet" if found is None else target.why_missing
            return self._build(goal, window, Status.NO_DATA, late, target=target.value, baseline=target.baseline,
                               missing_extra=target.missing, note=why)
        question = Question(goal, window, self._earlier(goal, window), target.value, self.today, self.tz)
        outlook = project(question, self.catalog.metrics, self.readings)
        complete = not self._missing(goal, [window]) and found.through >= window.end
        closed = self.now >= local_midnight(window.end, self.tz)
        status, probability = self._status(goal, found, target.value, outlook, closed and complete)
        through = self._through(goal, window, found)
        share = share_due(window, goal.pace, local_midnight(through, self.tz), self.tz)
        numbers = _numbers(goal, found, target.value, outlook, share)
        if closed and complete:  # graded: the measure is what it is
            numbers.update(projected=found.value, projected_low=found.value, projected_high=found.value,
                           projected_attainment=numbers["attainment"])
        rate, unit, recent, counted = self._rates(goal, window, found, target.value, closed)
        note = "waiting for " + ", ".join(gaps.labels(late)) if closed and not complete and late else ""
        return self._build(goal, window, status, late, target=target.value, baseline=target.baseline,
                           data_through=through - timedelta(days=1), probability=probability, required_rate=rate, rate_unit=unit, recent_rate=recent,
                           recent_periods=counted,
                           carried=carried, note=note, **numbers)

    def _earlier(self, goal: Goal, window: Span) -> tuple[Span, ...]:
        out, span = [], window
        for _ in range(HISTORY_WINDOWS):
            span = previous_window(goal, span)
            out.append(span)
        return tuple(reversed(out))

    def _target(self, goal: Goal, window: Span) -> _Target:
        """The target in force today; for delta goals and thresholds against the previous
        period, the previous window's measure, once that window has all its data."""
        if goal.kind is Kind.DELTA or goal.baseline == "previous_period":
            before = previous_window(goal, window)
            base = self.measure(goal, before)
            lacking = gaps.labels(self._missing(goal, [before]))
            if base is None or base.through < before.end or lacking:
                detail = f": missing {', '.join(lacking)}" if lacking else " is not complete yet"
                return _Target(None, None, f"the baseline ({before.label}){detail}", lacking)
            step = goal.delta if goal.kind is Kind.DELTA else Decimal(0)
            return _Target(base.value + step, base.value)
        baseline = goal.baseline if isinstance(goal.baseline, Decimal) else None
        return _Target(goal.target_at(self.today), baseline)

    def _status(self, goal: Goal, found: Measure, target: Decimal, outlook, graded: bool) -> tuple[Status, float | None]:  # type: ignore[no-untyped-def]
        met = goal.comparison.met(found.value, target)
        if graded:
            return (Status.ACHIEVED, 1.0) if met else (Status.MISSED, 0.0)
        if found.shape == "flow" and goal.kind is not Kind.LEVEL:
            if met and goal.comparison.higher_is_better:  # a total past its floor stays past it
                return Status.ACHIEVED, 1.0
            if not met and not goal.comparison.higher_is_better:  # nor comes back under a ceiling
                return Status.MISSED, 0.0
        if outlook is None:  # nothing to go by beyond today's value
            return (Status.ON_TRACK if met else Status.AT_RISK), None
        return self.catalog.bands_for(goal).status(outlook.probability), outlook.probability

    def _through(self, goal: Goal, window: Span, found: Measure) -> date:
        """The local day (exclusive) the data runs through: the end of the last period with
        data, or a to-date figure's known-since day."""
        spec = self.catalog.metrics[goal.metrics[0]]
        through = series(self.readings.get(goal.metrics[0], ()), window, spec, self.today, self.tz).through
        return min(found.through, through) if through is not None else found.through

    def _rates(self, goal: Goal, window: Span, found: Measure, target: Decimal,
               closed: bool) -> tuple[Decimal | None, str | None, Decimal | None, int]:
        """What is still needed per period of the metric's granularity, and the recent run
        rate (flows): over the periods that have no figure yet, while the window is open."""
        if found.shape == "rate" or closed:
            return None, None, None, 0
        spec = self.catalog.metrics[goal.metric]
        found_series = series(self.readings.get(goal.metric, ()), window, spec, self.today, self.tz)
        full = [v for v in found_series.values[: len(found_series.observed())] if v is not None]
        if found_series.covered < 1.0:
            full = full[:-1]
        last = full[-3:] if found.shape == "flow" else []
        recent = sum(last, Decimal(0)) / len(last) if last else None
        if found.shape == "flow":
            remaining = sum(1 for v in found_series.values if v is None) + (found_series.covered < 1.0)
        else:
            remaining = len(found_series.values) - len(found_series.observed())
        unit = str(spec.granularity)
        if remaining == 0:
            return None, unit, recent, len(last)
        gap = target - found.value
        if goal.comparison.higher_is_better and gap < 0:
            gap = Decimal(0)
        return gap / remaining, unit, recent, len(last)

    def _build(self, goal: Goal, window: Span, status: Status, late: Mapping[str, Sequence[Period]], *,
               note: str = "", carried: Span | None = None, missing_extra: tuple[str, ...] = (),
               **fields: object) -> Evaluation:
        missing = tuple(sorted(set(gaps.labels(late)) | set(missing_extra)))
        evaluation = Evaluation(
            goal=goal.id, title=goal.title, kind=str(goal.kind), period_start=window.start, period_end=window.end,
            status=status, evaluated_at=self.now, stale=bool(late), stale_metrics=tuple(late), display=goal.display,
            unit=goal.unit, labels=dict(goal.labels), missing_periods=missing, known_at=self.known_at, **fields,
        )
        # The summary reads the other fields. Set on the new, not yet shared object: a
        # dataclasses.replace copy would cost a quarter of a 10,000-goal cycle.
        words = summarize(evaluation, self.catalog.bands_for(goal), note=note, comparison=str(goal.comparison),
                          carried=None if carried is None else (window.label, carried.label))
        object.__setattr__(evaluation, "summary", words)
        return evaluation


def _numbers(goal: Goal, found: Measure, target: Decimal, outlook, share: float) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """actual, expected, the projection and its interval, and the two attainments."""
    value, w = found.value, Decimal(repr(share))
    if outlook is not None:
        projected, low, high = (_decimal(x) for x in (outlook.median, outlook.low, outlook.high))
    else:
        projected, low, high = value, None, None
    if goal.kind is Kind.LEVEL and isinstance(goal.baseline, Decimal):
        b = goal.baseline
        expected = b + (target - b) * w
        attained, projected_attained = _progress(value, b, target, goal.comparison), _progress(projected, b, target, goal.comparison)
    else:
        expected = target * w if found.shape == "flow" else target
        attained, projected_attained = score(value, target, goal.comparison), score(projected, target, goal.comparison)
    return dict(actual=value, expected=expected, projected=projected, projected_low=low, projected_high=high,
                attainment=attained, projected_attainment=projected_attained)


def _decimal(x: float) -> Decimal:
    return Decimal(f"{x:.6g}") if abs(x) < 1e6 else Decimal(round(x))


def score(value: Decimal, target: Decimal, comparison: Comparison) -> float:
    """Attainment oriented so that 1.0 is on target and more is better. For positive values
    the ratio; where the target or the value is not positive (a margin of -5.5% against
    -5%), one plus the shortfall or excess as a share of the target's size."""
    if target > 0 and value > 0:
        return float(value / target if comparison.higher_is_better else target / value)
    if target == 0:
        return 1.0 if comparison.met(value, target) else 0.0
    excess = (value - target) if comparison.higher_is_better else (target - value)
    return float(1 + excess / abs(target))


def _progress(value: Decimal, baseline: Decimal, target: Decimal, comparison: Comparison) -> float:
    """How far from the baseline towards the target: 0 at the baseline, 1 at the target."""
    if target == baseline:
        return 1.0 if comparison.met(value, target) else 0.0
    return float((value - baseline) / (target - baseline))

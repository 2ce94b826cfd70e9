"""Backtests (pure): each goal judged at a series of dates with only what was known then,
and, where the judged window has closed since, whether the verdict was right.

A verdict is right when it called the end: on track (or achieved) for a window that ended
met, off track (or missed) for one that ended missed. At risk says neither, so it is not
scored; nor is a window that has not closed with all its data.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tracker.core.evaluation import Readings, evaluate_all, grade
from tracker.core.goals import CatalogLike as Catalog
from tracker.core.periods import local_midnight
from tracker.core.readings import Reading, newest_known
from tracker.core.verdict import Evaluation, Status

_CALLS = {Status.ON_TRACK: True, Status.ACHIEVED: True, Status.OFF_TRACK: False, Status.MISSED: False}


@dataclass(frozen=True, slots=True)
class Verdict:
    day: date  # judged at the start of this day, in the catalog's time zone
    at: datetime
    evaluation: Evaluation
    outcome: bool | None  # the window ended met (True), missed (False), or has not closed
    right: bool | None  # None: not scored (at risk, no data, window still open)

    def to_json(self) -> dict[str, object]:
        e = self.evaluation.to_json()
        return {"date": self.day.isoformat(), "at": self.at.isoformat(), "goal": e["goal"], "status": e["status"],
                "probability": e["probability"], "period": e["period"], "projected": e["projected"],
                "outcome": None if self.outcome is None else ("met" if self.outcome else "missed"),
                "right": self.right}


def dates(start: date, end: date, every: str) -> Iterator[date]:
    """start, start + a step, ... up to end, inclusive; a month steps by calendar month (the
    31st becomes the month's last day)."""
    step = 0
    day = start
    while day <= end:
        yield day
        step += 1
        day = _months_on(start, step) if every == "month" else start + timedelta(days=step * (7 if every == "week" else 1))


def _months_on(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def known_by(revisions: Mapping[str, Sequence[Reading]], at: datetime) -> dict[str, list[Reading]]:
    """Each period's newest revision known by `at` (revisions come in period, then revision order)."""
    return {name: newest_known(rows, at) for name, rows in revisions.items()}


def backtest(catalog: Catalog, revisions: Readings, days: Sequence[date], *, now: datetime) -> list[Verdict]:
    """Every goal at the start of each day (catalog time zone), judged as known then;
    outcomes from everything known `now`."""
    tz: ZoneInfo = catalog.timezone
    final = known_by(revisions, now)
    goals = {goal.id: goal for goal in catalog.goals}
    outcomes: dict[tuple[str, date], bool | None] = {}
    out = []
    for day in days:
        at = local_midnight(day, tz)
        for e in evaluate_all(catalog, known_by(revisions, at), at, known_at=at):
            key = (e.goal, e.period_start)
            if key not in outcomes:
                ended = grade(goals[e.goal], catalog=catalog, readings=final, now=now, start=e.period_start,
                              end=e.period_end)
                outcomes[key] = {Status.ACHIEVED: True, Status.MISSED: False}.get(ended.status)
            outcome = outcomes[key]
            call = _CALLS.get(e.status)
            right = None if outcome is None or call is None else call == outcome
            out.append(Verdict(day, at, e, outcome, right))
    return out

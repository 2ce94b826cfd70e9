"""The result of judging one goal: what `tracker status --json` prints, what alert rules
read, what the webhook payload carries and what the report draws. Pure data."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from operator import attrgetter
from typing import Any

from tracker.core.jsonable import jsonable


class Status(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"
    ACHIEVED = "achieved"
    MISSED = "missed"
    NO_DATA = "no_data"


# Slots: an idle daemon holds every goal's verdict and its copy at the cycle's instant; as
# instances with a dict (31 fields and json_view's memo, past the 30 keys a class's instances
# share), each was 0.8-1.6 KB (10,000 copies: 17 MB); slotted, 288 bytes.
@dataclass(frozen=True, slots=True)
class Evaluation:
    """One goal judged as of `evaluated_at`.

    `period_start`/`period_end` are local calendar dates, end exclusive (the goal's window, or
    for a recurring goal the instance being judged). Numbers are None where they do not apply
    (a milestone has no projection; no data has no actual). `required_rate` is the amount still
    needed per remaining `rate_unit` (a granularity such as "month").
    """

    goal: str
    title: str
    kind: str
    period_start: date
    period_end: date
    status: Status
    evaluated_at: datetime
    target: Decimal | None = None
    actual: Decimal | None = None
    expected: Decimal | None = None
    projected: Decimal | None = None
    baseline: Decimal | None = None
    attainment: float | None = None
    projected_attainment: float | None = None
    required_rate: Decimal | None = None
    rate_unit: str | None = None
    data_through: date | None = None
    probability: float | None = None  # of meeting the target at the window's end
    projected_low: Decimal | None = None  # an 80% interval of the window-end measure
    projected_high: Decimal | None = None
    recent_rate: Decimal | None = None  # the mean of the last `recent_periods` (<= 3) full periods
    recent_periods: int = 0
    missing_periods: tuple[str, ...] = ()  # due periods without data (labels)
    known_at: datetime | None = None  # judged with only what was known then
    stale: bool = False
    stale_metrics: tuple[str, ...] = ()
    deadline_near: bool = False
    display: str = "number"
    unit: str | None = None
    summary: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    # json_view's object, made on first use: not a field of the verdict (no __init__
    # argument; equality, repr and replace() ignore it).
    _json: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The object of CONTRACT.md's `tracker status --json` (numbers as JSON numbers),
        every value already JSON's (tracker.core.jsonable's rule, field by field: a recursive
        pass over the finished dict costs as much as judging a remembered goal): a copy the
        caller may change."""
        return {**self.json_view()}

    def json_view(self) -> dict[str, Any]:
        """to_json's object without the copy, for callers that never change it: the same
        object at every call (an alert's status object: a copy per goal was 8 MB of an idle
        daemon at 10,000 goals), or a new one for a copy at a later instant."""
        known = self._json
        if known is not None:  # a copy at a later instant (at_instant) shares its original's
            stamp = self.evaluated_at.isoformat()
            return known if known["evaluated_at"] == stamp else {**known, "evaluated_at": stamp}
        number, day = _number, _iso
        made = {
            "goal": self.goal,
            "title": self.title,
            "kind": self.kind,
            "period": {"start": self.period_start.isoformat(), "end": self.period_end.isoformat()},
            "status": str(self.status),
            "target": number(self.target),
            "actual": number(self.actual),
            "expected": number(self.expected),
            "projected": number(self.projected),
            "baseline": number(self.baseline),
            "attainment": _round(self.attainment),
            "projected_attainment": _round(self.projected_attainment),
            "required_rate": number(self.required_rate),
            "rate_unit": self.rate_unit,
            "data_through": day(self.data_through),
            "probability": _round(self.probability),
            "projected_low": number(self.projected_low),
            "projected_high": number(self.projected_high),
            "recent_rate": number(self.recent_rate),
            "missing_periods": list(self.missing_periods),
            "known_at": day(self.known_at),
            "stale": self.stale,
            "stale_metrics": list(self.stale_metrics),
            "deadline_near": self.deadline_near,
            "display": self.display,
            "unit": self.unit,
            "summary": self.summary,
            "labels": jsonable(self.labels),
            "evaluated_at": self.evaluated_at.isoformat(),
        }
        object.__setattr__(self, "_json", made)
        return made


def _number(value: Decimal | None) -> Any:
    return None if value is None else jsonable(value)


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


# The verdict's fields, json_view's memo not among them, and each slot's own setter: what
# copies and decoded verdicts are filled with, without __init__ (its checks and defaults
# are the judgement's; a copy or a stored verdict already holds every field).
FIELDS = tuple(f.name for f in fields(Evaluation) if f.init)
_SETTERS = tuple(getattr(Evaluation, name).__set__ for name in FIELDS)
values_of = attrgetter(*FIELDS)  # the fields' values, in FIELDS' order


def made_of(values: tuple[Any, ...]) -> Evaluation:
    """An Evaluation of these values, in FIELDS' order (no memo)."""
    made = object.__new__(Evaluation)
    for setter, value in zip(_SETTERS, values):
        setter(made, value)
    object.__setattr__(made, "_json", None)
    return made


def at_instant(evaluation: Evaluation, now: datetime) -> Evaluation:
    """The same verdict evaluated at `now`, sharing its memo: json_view dates a copy of it
    (dataclasses.replace would validate and rebuild every field, a few microseconds a goal)."""
    copy = made_of(values_of(evaluation))
    object.__setattr__(copy, "evaluated_at", now)
    object.__setattr__(copy, "_json", evaluation._json)
    return copy

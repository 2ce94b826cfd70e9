"""What the catalog says about metrics and goals, as validated models.

A metric is a series of actuals (one value per period of its granularity). A goal judges one
metric, or the ratio of two, over a window against a target. The models check each field and
the fields of a goal that its kind needs; `catalog.py` checks what spans several entries.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from tracker.core.durations import Duration
from tracker.core.errors import BadInput
from tracker.core.periods import Granularity, Span, parse_span
from tracker.core.verdict import Status


class Kind(StrEnum):
    CUMULATIVE = "cumulative"
    LEVEL = "level"
    RATIO = "ratio"
    DELTA = "delta"
    THRESHOLD = "threshold"
    MILESTONE = "milestone"


class Comparison(StrEnum):
    AT_LEAST = "at_least"
    AT_MOST = "at_most"
    ABOVE = "above"
    BELOW = "below"

    @property
    def higher_is_better(self) -> bool:
        return self in (Comparison.AT_LEAST, Comparison.ABOVE)

    def met(self, value: Decimal, target: Decimal) -> bool:
        """Equality meets at_least and at_most, and misses above and below."""
        match self:
            case Comparison.AT_LEAST:
                return value >= target
            case Comparison.AT_MOST:
                return value <= target
            case Comparison.ABOVE:
                return value > target
        return value < target


class Aggregation(StrEnum):
    SUM = "sum"  # flows: deliveries, revenue
    LAST = "last"  # levels: store count, head count


Severity = Literal["critical", "warning", "info"]


def _to_span(value: object) -> object:
    if isinstance(value, str):
        try:
            return parse_span(value)
        except BadInput as error:
            raise ValueError(str(error)) from None
    return value


SpanField = Annotated[Span, BeforeValidator(_to_span), PlainSerializer(lambda s: s.label, return_type=str)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Quote(Strict):
    """Where a goal came from, so a reader can check it."""

    document: str
    publisher: str
    published: date
    quote: str
    url: str | None = None


class Metric(Strict):
    name: str = ""
    title: str
    unit: str
    granularity: Granularity
    aggregation: Aggregation
    min: Decimal | None = None
    max: Decimal | None = None
    grace: Duration | None = Field(
        None, description="how long after a period ends its actual is still on time; unset: never stale"
    )
    description: str | None = None

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Metric:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class TargetRevision(Strict):
    value: Decimal
    effective: date
    note: str | None = None


class Bands(Strict):
    """While a window is open: on track when the probability of meeting the target is at
    least `on_track`, off track when it is below `off_track`, at risk between."""

    on_track: float = Field(0.8, gt=0, lt=1)
    off_track: float = Field(0.2, gt=0, lt=1)

    @model_validator(mode="before")
    @classmethod
    def _no_attainment_bands(cls, data: object) -> object:
        if isinstance(data, dict) and "at_risk" in data:
            raise ValueError(
                "bands are probabilities of meeting the target: on_track (default 0.8) and "
                "off_track (default 0.2); at_risk is no longer a band"
            )
        return data

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if self.off_track >= self.on_track:
            raise ValueError("off_track must be below on_track")
        return self

    def status(self, probability: float) -> Status:
        if probability >= self.on_track:
            return Status.ON_TRACK
        return Status.OFF_TRACK if probability < self.off_track else Status.AT_RISK


class Goal(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    kind: Kind
    comparison: Comparison = Comparison.AT_LEAST
    period: SpanField | None = None
    recurs: Granularity | None = None
    metric: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    target: Decimal | None = None
    targets: tuple[TargetRevision, ...] = ()
    baseline: Decimal | Literal["previous_period"] | None = None
    delta: Decimal | None = None
    deadline: date | None = None
    warn_before: Duration | None = None
    pace: tuple[float, ...] | None = None
    bands: Bands | None = None
    severity: Severity | None = Field(None, description="caps the severity of this goal's alerts")
    display: Literal["number", "percent"] = "number"
    unit: str | None = None
    labels: dict[str, str] = {}
    source: Quote
    notes: str | None = None

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every metric the goal reads."""
        return tuple(m for m in (self.metric, self.numerator, self.denominator) if m)

    @property
    def is_ratio(self) -> bool:
        return self.numerator is not None

    def target_at(self, day: date) -> Decimal | None:
        """The target in force on a local calendar day (the first revision before it starts)."""
        if not self.targets:
            return self.target
        in_force = [t for t in self.targets if t.effective <= day]
        return (in_force[-1] if in_force else self.targets[0]).value

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Goal:
        if (self.period is None) == (self.recurs is None):
            raise ValueError("give exactly one of period (a fixed window) and recurs (a granularity)")
        if (self.numerator is None) != (self.denominator is None):
            raise ValueError("numerator and denominator come together")
        if self.metric and self.numerator:
            raise ValueError("give metric, or numerator and denominator, not both")
        if not self.metric and not self.numerator:
            raise ValueError("give metric, or numerator and denominator")
        if self.target is not None and self.targets:
            raise ValueError("give target or targets (revisions), not both")
        if list(self.targets) != sorted(self.targets, key=lambda t: t.effective):
            raise ValueError("targets must be in order of their effective dates")
        _KIND_CHECKS[self.kind](self)
        if self.pace is not None:
            _check_pace(self)
        return self


def _has_target(goal: Goal) -> None:
    if goal.target is None and not goal.targets:
        raise ValueError(f"a {goal.kind} goal needs target (or targets)")


def _check_cumulative(goal: Goal) -> None:
    _has_target(goal)
    if goal.is_ratio:
        raise ValueError("a cumulative goal sums one metric: use metric")


def _check_level(goal: Goal) -> None:
    _has_target(goal)
    if not isinstance(goal.baseline, Decimal):
        raise ValueError("a level goal needs a numeric baseline (the level it starts from)")


def _check_ratio(goal: Goal) -> None:
    _has_target(goal)
    if not goal.is_ratio:
        raise ValueError("a ratio goal needs numerator and denominator")


def _check_delta(goal: Goal) -> None:
    if goal.delta is None:
        raise ValueError("a delta goal needs delta (the change over the previous period's value)")


def _check_threshold(goal: Goal) -> None:
    if goal.baseline == "previous_period":
        if goal.target is not None or goal.targets:
            raise ValueError("a threshold against the previous period takes no target")
    else:
        _has_target(goal)


def _check_milestone(goal: Goal) -> None:
    if goal.deadline is None:
        raise ValueError("a milestone goal needs deadline")
    if goal.is_ratio:
        raise ValueError("a milestone is one metric (1 on the day it happened)")


_KIND_CHECKS = {
    Kind.CUMULATIVE: _check_cumulative,
    Kind.LEVEL: _check_level,
    Kind.RATIO: _check_ratio,
    Kind.DELTA: _check_delta,
    Kind.THRESHOLD: _check_threshold,
    Kind.MILESTONE: _check_milestone,
}


def _check_pace(goal: Goal) -> None:
    if goal.period is None:
        raise ValueError("pace weights need a fixed period")
    if any(w < 0 for w in goal.pace) or sum(goal.pace) <= 0:
        raise ValueError("pace weights must be non-negative and not all zero")
    months = len(list(goal.period.periods(Granularity.MONTH)))
    if len(goal.pace) not in (months, months // 3):
        raise ValueError(
            f"pace has {len(goal.pace)} weights; the period has {months} months "
            f"({months // 3} quarters)"
        )
    total = sum(goal.pace)
    # Shares of the target, in percent or as fractions: any other sum is a slip of the pen.
    if not (math.isclose(total, 100, rel_tol=1e-6) or math.isclose(total, 1, rel_tol=1e-6)):
        raise ValueError(f"pace weights sum to {total:g}; they are shares of the target and must sum to 100 (or to 1)")


class CatalogLike(Protocol):
    """What judging reads of a catalog. The validated one is tracker.catalog.model.Catalog;
    the core names only this, so that it never reaches up to the layer that reads files."""

    @property
    def timezone(self) -> ZoneInfo: ...

    @property
    def metrics(self) -> Mapping[str, Metric]: ...

    @property
    def goals(self) -> Sequence[Goal]: ...

    def bands_for(self, goal: Goal) -> Bands: ...


def definition_digest(goal: Goal, catalog: CatalogLike) -> bytes:
    """A digest of everything of the catalog that the goal's verdict reads: pydantic's JSON
    of the goal, its bands and metrics, and the time zone (the same bytes in every process,
    unlike a set's repr)."""
    parts = [goal.model_dump_json(), catalog.bands_for(goal).model_dump_json(), str(catalog.timezone)]
    parts += [catalog.metrics[name].model_dump_json() for name in goal.metrics]
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=16).digest()

"""Checks on one actual before it is recorded (pure: no database, no clock).

The same checks serve `tracker record`, `tracker import` and the collectors, so a value that
one path refuses, every path refuses, with the same words.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from tracker.core.errors import BadInput, NotFound
from tracker.core.goals import Metric
from tracker.core.periods import Period, local_midnight, parse_instant

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
JUMP_FACTOR = 10
# What the database columns hold (tracker.store.models.Actual): PostgreSQL refuses longer
# text, SQLite would keep it, so both are held to the same limits before anything is written.
VALUE_LENGTH = 64
METRIC_LENGTH = 100
TEXT_LENGTHS = {"source": 200, "note": 2000}


def parse_value(text: str) -> Decimal:
    """A decimal number as written, an exponent written out (`1E2` is 100, `1.5e-3` 0.0015);
    NaN, infinities and thousands separators are refused."""
    cleaned = text.strip()
    if not _NUMBER.fullmatch(cleaned):
        hint = " (write it without thousands separators)" if re.fullmatch(r"[\d,.\s]+", cleaned) else ""
        raise BadInput(f"value {text!r} is not a decimal number{hint}")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise BadInput(f"value {text!r} is not a decimal number") from None
    if len(cleaned) < VALUE_LENGTH and "e" not in cleaned and "E" not in cleaned:
        return value  # written out already, and short enough even with a 0 before a leading point
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite: the pattern admits no NaN or infinity
    # The written-out length, judged before writing it out: 1E999999999 must not be built.
    length = sign + (len(digits) + exponent if exponent > 0 else max(len(digits), 1 - exponent) + (exponent < 0))
    if length > VALUE_LENGTH:
        raise BadInput(f"value {text.strip()!r} has {length} characters written out; at most {VALUE_LENGTH} are kept")
    if exponent > 0:
        value = Decimal((sign, digits + (0,) * exponent, 0))
    return value


def plain(value: Decimal) -> str:
    """The value written out, never in exponent form (str(Decimal) shows 1E-7 so)."""
    return format(value, "f")


def check_metric_name(name: str) -> None:
    if len(name) > METRIC_LENGTH:
        raise BadInput(
            f"metric name {name[:20]!r}... is {len(name)} characters long; the database keeps at most "
            f"{METRIC_LENGTH} (shorten it in the catalog)"
        )


def check_text(field: str, text: str | None) -> None:
    """A source or note no longer than its column."""
    limit = TEXT_LENGTHS[field]
    if text is not None and len(text) > limit:
        raise BadInput(f"{field} is {len(text)} characters long; at most {limit} are kept")


def find_metric(metrics: dict[str, Metric], name: str) -> Metric:
    try:
        return metrics[name]
    except KeyError:
        known = ", ".join(sorted(metrics))
        raise NotFound(f"unknown metric {name!r}; the catalog has: {known}") from None


def parse_period_for(metric: Metric, text: str) -> Period:
    """The period, which must have the metric's granularity."""
    period = Period.parse(text)
    if period.granularity != metric.granularity:
        raise BadInput(
            f"period {text!r} is a {period.granularity}, but {metric.name} is recorded by "
            f"{metric.granularity} (like {metric.granularity.example})"
        )
    return period


def check_bounds(metric: Metric, value: Decimal) -> None:
    if metric.min is not None and value < metric.min:
        raise BadInput(f"value {value} for {metric.name} is below its minimum {metric.min} {metric.unit}")
    if metric.max is not None and value > metric.max:
        raise BadInput(
            f"value {value} for {metric.name} is above its maximum {metric.max} {metric.unit}; check the unit"
        )


def check_jump(metric: Metric, period: Period, value: Decimal, previous: Decimal | None, force: bool) -> None:
    """More than tenfold up or down from the previous period is usually a unit slip."""
    if force or previous is None or previous == 0 or value == 0:
        return
    ratio = abs(value) / abs(previous)
    if ratio > JUMP_FACTOR or ratio < Decimal(1) / JUMP_FACTOR:
        raise BadInput(
            f"value {value} for {metric.name} {period} is more than ten times "
            f"{'above' if ratio > 1 else 'below'} {previous} for {period.previous()}; "
            "check the unit, or pass --force to record it anyway"
        )


def validate(
    metrics: dict[str, Metric],
    name: str,
    period_text: str,
    value_text: str,
) -> tuple[Metric, Period, Decimal]:
    """Everything that can be checked without the previous period's value."""
    metric = find_metric(metrics, name)
    check_metric_name(metric.name)
    period = parse_period_for(metric, period_text)
    value = parse_value(value_text)
    check_bounds(metric, value)
    return metric, period, value


def parse_known_since(text: str, period: Period, now: datetime, tz: ZoneInfo) -> datetime:
    """When a figure became known: not in the future, and not before its period began."""
    known = parse_instant(text, tz)
    if known > now:
        raise BadInput(f"known-since {text.strip()} is in the future")
    if known < local_midnight(period.start, tz):
        raise BadInput(f"known-since {text.strip()} is before {period.label} begins: a figure is known after its period starts")
    return known

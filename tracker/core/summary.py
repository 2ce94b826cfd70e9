"""One sentence per evaluation that a person can act on (alert webhooks send it).

The words agree with the numbers: a probability is shown in whole percent, rounded away
from a band's edge rather than across it (0.7996 with on track from 0.8 reads 79%, not 80%),
and never as a certainty it is not (<1%, >99%).
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

from tracker.core.verdict import Evaluation, Status

_PER = {"day": "a day", "month": "a month", "quarter": "a quarter", "half": "a half-year", "year": "a year"}
_UNITS = {"day": "days", "month": "months", "quarter": "quarters", "half": "half-years", "year": "years"}
_COUNT = {1: "", 2: "two ", 3: "three "}
_VERB = {"at_least": "reach", "above": "exceed", "at_most": "stay at or below", "below": "stay below"}


def number(value: Decimal | None, display: str) -> str:
    """481,200 for counts, 7.4% for shares; the precision a reader needs, not more."""
    if value is None:
        return "n/a"
    if display == "percent":
        return f"{float(value) * 100:.1f}%"
    magnitude = abs(value)
    if magnitude >= 100 or value == value.to_integral_value():
        return f"{float(value):,.0f}"
    return f"{float(value):,.2f}" if magnitude >= 1 else f"{float(value):.4g}"


def likelihood(probability: float, edges: tuple[float, ...] = ()) -> str:
    """Whole percent, never rounded across one of `edges`, never 0% or 100% unless certain."""
    if probability >= 1:
        return "100%"
    if probability <= 0:
        return "0%"
    shown = round(probability * 100)
    for edge in edges:
        if probability < edge <= shown / 100:
            shown = math.ceil(edge * 100) - 1
        elif shown / 100 < edge <= probability:
            shown = math.ceil(edge * 100)
    if shown >= 100:
        return ">99%"
    return "<1%" if shown <= 0 else f"{shown}%"


def summarize(e: Evaluation, bands, *, note: str = "", carried: tuple[str, str] | None = None,  # type: ignore[no-untyped-def]
              comparison: str = "at_least") -> str:
    """`carried`: (the instance shown, the current one) when a recurring goal shows the
    verdict of its previous instance."""
    show = lambda v: number(v, e.display)  # noqa: E731
    edges = (bands.off_track, bands.on_track)
    head = f"{e.title}: "
    if e.kind == "milestone":
        odds = "" if e.probability is None or e.status in (Status.ACHIEVED, Status.MISSED) else \
            f", {likelihood(e.probability, edges)} likely on time"
        return head + f"{_WORDS[e.status]}; {note}{odds}" + (" (deadline near)" if e.deadline_near else "")
    if e.status is Status.NO_DATA:
        return head + (f"no data: {note}" if note else "no data") + _late(e)
    complete = e.data_through is not None and e.data_through >= e.period_end - timedelta(days=1) and not e.missing_periods
    if e.status in (Status.ACHIEVED, Status.MISSED) and complete and e.probability in (0.0, 1.0) and e.projected == e.actual:
        text = f"{_WORDS[e.status]} with {show(e.actual)} against {show(e.target)}"
    elif e.status in (Status.ACHIEVED, Status.MISSED):
        text = f"{_WORDS[e.status]} already: {show(e.actual)} against {show(e.target)}"
    else:
        text = _outlook(e, show, edges, comparison)
    if note:
        text += f"; {note}"
    elif e.data_through is not None and not complete:
        text += f" (data through {e.data_through.isoformat()})"
    if carried is not None:
        text += f" (the verdict of {carried[0]}; {carried[1]} has no data yet)"
    return head + text + _late(e)


def _outlook(e: Evaluation, show, edges: tuple[float, ...], comparison: str) -> str:  # type: ignore[no-untyped-def]
    word = _WORDS[e.status]
    if e.probability is None:
        return f"{word}: now {show(e.actual)} against {show(e.target)}"
    text = f"{word}: {likelihood(e.probability, edges)} likely to {_VERB[comparison]} {show(e.target)}: projected {show(e.projected)}"
    if e.projected_low is not None and e.projected_high is not None:
        text += f" ({show(e.projected_low)}-{show(e.projected_high)})"
    if e.required_rate is not None and e.rate_unit:
        text += f"; needs {show(e.required_rate)} {_PER.get(e.rate_unit, 'per ' + e.rate_unit)}"
    if e.recent_rate is not None and e.rate_unit:
        count = e.recent_periods
        unit = _UNITS.get(e.rate_unit, e.rate_unit + "s") if count > 1 else e.rate_unit
        verb = "averaged" if count > 1 else "was"
        text += f", the last {_COUNT.get(count, '')}{unit} {verb} {show(e.recent_rate)}"
    return text


def _late(e: Evaluation) -> str:
    if not e.stale:
        return ""
    periods = f" ({', '.join(e.missing_periods)})" if e.missing_periods else ""
    return f"; late data: {', '.join(e.stale_metrics)}{periods}"


_WORDS = {
    Status.ON_TRACK: "on track",
    Status.AT_RISK: "at risk",
    Status.OFF_TRACK: "off track",
    Status.ACHIEVED: "achieved",
    Status.MISSED: "missed",
    Status.NO_DATA: "no data",
}

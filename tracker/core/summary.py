"""One sentence per evaluation that a person can act on (alert webhooks send it)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tracker.core.verdict import Evaluation, Status

_PER = {"day": "a day", "month": "a month", "quarter": "a quarter", "half": "a half-year", "year": "a year"}


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


def summarize(e: Evaluation, note: str = "") -> str:
    show = lambda v: number(v, e.display)  # noqa: E731
    head = f"{e.title}: "
    if e.kind == "milestone":
        return head + f"{_WORDS[e.status]}; {note}" + (" (deadline near)" if e.deadline_near else "")
    if e.status is Status.NO_DATA:
        return head + (f"no data: {note}" if note else "no data")
    complete = e.data_through is not None and e.data_through >= e.period_end - timedelta(days=1)
    if e.status in (Status.ACHIEVED, Status.MISSED) and complete:
        text = f"{_WORDS[e.status]} with {show(e.actual)} against {show(e.target)}"
    elif e.status in (Status.ACHIEVED, Status.MISSED):
        text = f"{_WORDS[e.status]} already: {show(e.actual)} against {show(e.target)}"
    else:
        share = f" ({e.projected_attainment:.0%})" if e.projected_attainment is not None else ""
        text = f"projected {show(e.projected)} of {show(e.target)}{share}, {_WORDS[e.status]}"
        if e.required_rate is not None and e.rate_unit:
            text += f"; needs {show(e.required_rate)} {_PER.get(e.rate_unit, 'per ' + e.rate_unit)} for the rest of the period"
    if e.data_through is not None and not complete:
        text += f" (data through {e.data_through.isoformat()})"
    if e.stale:
        text += f"; late data: {', '.join(e.stale_metrics)}"
    return head + text


_WORDS = {
    Status.ON_TRACK: "on track",
    Status.AT_RISK: "at risk",
    Status.OFF_TRACK: "off track",
    Status.ACHIEVED: "achieved",
    Status.MISSED: "missed",
    Status.NO_DATA: "no data",
}

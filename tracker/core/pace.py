"""Pace curves: the share of a goal's target that is due by an instant (pure).

Linear by default: the share of the window that has elapsed. A goal may carry weights per
month or per quarter of its window (a business that ramps); the share due is then the
weights of the whole units before the instant, plus the current unit's weight in proportion
to the part of it that has elapsed, over the sum of all weights.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from tracker.core.periods import Granularity, Period, Span


@lru_cache(maxsize=4096)  # pure; the goals of a cycle share a few windows and days
def share_due(span: Span, weights: tuple[float, ...] | None, at: datetime, tz: ZoneInfo) -> float:
    """w(at) in [0, 1] for a window; `weights` are per month or per quarter of the window."""
    if not weights:
        return span.elapsed_share(at, tz)
    months = sum(1 for _ in span.periods(Granularity.MONTH))
    unit = Granularity.MONTH if len(weights) == months else Granularity.QUARTER
    due = 0.0
    for period, weight in zip(_units(span, unit), weights):
        elapsed = period.elapsed_share(at, tz)
        if elapsed <= 0:
            break
        due += weight * elapsed
    return min(1.0, max(0.0, due / sum(weights)))


def _units(span: Span, unit: Granularity) -> list[Period]:
    return list(span.periods(unit))

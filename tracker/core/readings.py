"""A current actual as the judgement reads it: shared by the store (which makes them) and
the core (which judges them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tracker.core.periods import Period


@dataclass(frozen=True, slots=True)
class Reading:
    """An actual as evaluation needs it: the value of a period known by the time judged.

    `known_since` is when the figure became known (None: not said, read as known after its
    period closed). A figure known before its period ended covers the period to that time."""

    metric: str
    period: Period
    value: Decimal
    recorded_at: datetime
    known_since: datetime | None = None


def newest_known(rows: Iterable[Reading], at: datetime | None = None) -> list[Reading]:
    """Rows in period then revision order, reduced to each period's newest revision (known
    by `at`, when given)."""
    kept: list[Reading] = []
    for r in rows:
        if at is not None and (r.known_since or r.recorded_at) > at:
            continue
        if kept and kept[-1].period == r.period:
            kept[-1] = r
        else:
            kept.append(r)
    return kept

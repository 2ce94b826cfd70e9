"""A current actual as the judgement reads it: shared by the store (which makes them) and
the core (which judges them)."""

from __future__ import annotations

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

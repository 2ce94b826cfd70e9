"""A current actual as the judgement reads it: shared by the store (which makes them) and
the core (which judges them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tracker.core.periods import Period


@dataclass(frozen=True, slots=True)
class Reading:
    """A current actual, as evaluation needs it."""

    metric: str
    period: Period
    value: Decimal
    recorded_at: datetime

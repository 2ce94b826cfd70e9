"""A current actual as the judgement reads it: shared by the store (which makes them) and
the core (which judges them)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from tracker.core.periods import Granularity, Period


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


_FIELDS = ("metric", "period", "value", "recorded_at", "known_since")
_SETTERS = tuple(Reading.__dict__[name].__set__ for name in _FIELDS)  # the slots' own setters


def reading(metric: str, period: Period, value: Decimal, recorded_at: datetime,
            known_since: datetime | None) -> Reading:
    """Reading(metric, period, value, recorded_at, known_since), made slot by slot: the
    frozen dataclass's __init__ (an object.__setattr__ call per field) was a third of the
    store's read loop, 100,000 rows a cycle. Every field is given (tests/test_readings.py)."""
    made = _new(Reading)
    set_metric, set_period, set_value, set_recorded, set_known = _SETTERS
    set_metric(made, metric)
    set_period(made, period)
    set_value(made, value)
    set_recorded(made, recorded_at)
    set_known(made, known_since)
    return made


_new = object.__new__


class Rows(list):  # type: ignore[type-arg]
    """A metric's readings in period order, which remembers its lookup by period start (one
    per granularity): a goal reads the same metric over several windows, and a window's
    periods are found by key instead of by a pass over every reading. `windows` keeps what
    tracker.core.projection makes of a window of them (its Series), for the same reason."""

    __slots__ = ("_by_start", "windows")

    def __init__(self, rows: Iterable[Reading] = ()) -> None:
        super().__init__(rows)
        self._by_start: dict[Granularity, dict[date, Reading]] = {}
        self.windows: dict[tuple, object] = {}


def by_start(rows: Sequence[Reading], granularity: Granularity) -> dict[date, Reading]:
    """The readings of one granularity by their period's start, the most recently recorded
    of each period (then the larger value, so the order rows come in does not matter)."""
    remembered = rows._by_start if isinstance(rows, Rows) else None
    if remembered is not None and granularity in remembered:
        return remembered[granularity]
    mine = [r for r in rows if r.period.granularity is granularity]
    found: dict[date, Reading] = {r.period.start: r for r in mine}
    if len(found) < len(mine):  # a period given twice (the store gives each once): choose
        found = {}
        for r in mine:
            start = r.period.start
            held = found.get(start)
            if held is None or (r.recorded_at, r.value) > (held.recorded_at, held.value):
                found[start] = r
    if remembered is not None:
        remembered[granularity] = found
    return found


def newest_known(rows: Iterable[Reading], at: datetime | None = None) -> Rows:
    """Rows in period then revision order, reduced to each period's newest revision (known
    by `at`, when given)."""
    kept = Rows()
    last = None  # kept[-1]'s period, compared by its fields (Period's __eq__ is Python's)
    for r in rows:
        if at is not None and (r.known_since or r.recorded_at) > at:
            continue
        period = r.period
        if last is not None and period.start == last.start and period.granularity == last.granularity:
            kept[-1] = r
        else:
            kept.append(r)
        last = period
    return kept

"""The database side of a cycle: answer tracker.core.aggregates.Requests with one aggregating
query per shape, so Python sees one row per metric and window, not every reading.

The requested windows go into temporary tables (no 10,000-name IN list) and are joined to the
current actuals through the index (metric, is_current, period_start), grouped by window.
Sums are exact: PostgreSQL sums NUMERIC; SQLite, whose values are TEXT, sums the integer
columns value_whole and value_nanos (tracker.store.dbtypes.value_parts), and rows where those are
NULL (more than 9 places, huge, or written without them) are fetched and added in Python.
A period is inside a window by its stored bounds, which the store wrote in the catalog's time
zone; "as of" keeps the periods that start by `until`. Rows go through the driver cursor:
SQLAlchemy's per-row processing would cost more than the queries.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from tracker.core.aggregates import Aggregates, RatioTotals, Requests, Totals
from tracker.core.periods import Period, local_midnight
from tracker.store.dbtypes import utc_to_db

_INSIDE = "{a}.is_current = TRUE AND {a}.period_start >= w.lo AND {a}.period_start <= ? AND {a}.period_end <= w.hi"
# The denominator's same period (same bounds), found in the covering index like the numerator.
_PAIRED = "b.metric = w.other AND b.is_current = TRUE AND b.period_start = a.period_start AND b.period_end = a.period_end"
# The latest period of a window (for `last` metrics and data_through): one index seek per window.
_LATEST = ("(SELECT a.id FROM actuals a {join} WHERE a.metric = w.metric AND " + _INSIDE.format(a="a")
           + " ORDER BY a.period_start DESC LIMIT 1)")


def aggregates_until(db: Session, *, requests: Requests, tz: ZoneInfo, until: datetime) -> Aggregates:
    """Answers `requests` from the current actuals of periods that start by `until`."""
    cursor = _Cursor(db, until)
    try:
        out = Aggregates()
        _windows(cursor, sorted(requests.windows), tz, out)
        _ratios(cursor, sorted(requests.ratios), tz, out)
        _due(cursor, sorted(requests.due), out)
        _firsts(cursor, sorted(requests.firsts), out)
        return out
    finally:
        cursor.close()


class _Cursor:
    """The driver cursor, the dialect's parameter mark, and the temporary tables made."""

    def __init__(self, db: Session, until: datetime) -> None:
        connection = db.connection()
        self.dialect = connection.dialect.name
        self.raw = connection.connection.driver_connection.cursor()
        self.until = self.instant(until)
        self.temps: list[str] = []
        self.days: dict[date, Any] = {}
        self.periods: dict[str, Period] = {}

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        self.raw.execute(self._marks(sql), params)
        return self.raw.fetchall()

    def temp(self, name: str, columns: dict[str, str], rows: list[tuple[Any, ...]]) -> None:
        """A temporary table keyed by `id`, the row's index in `rows`."""
        instant = "VARCHAR(26)" if self.dialect == "sqlite" else "TIMESTAMPTZ"
        spec = ", ".join(f"{column} {kind.replace('INSTANT', instant)}" for column, kind in columns.items())
        self.raw.execute(f"CREATE TEMPORARY TABLE {name} (id INTEGER PRIMARY KEY, {spec})")
        self.temps.append(name)
        marks = ", ".join("?" * (len(columns) + 1))
        self.raw.executemany(self._marks(f"INSERT INTO {name} VALUES ({marks})"), [(i, *row) for i, row in enumerate(rows)])

    def instant(self, when: datetime) -> Any:
        return utc_to_db(when, self.dialect)

    def bounds(self, start: date, end: date, tz: ZoneInfo) -> tuple[Any, Any]:
        return self._day(start, tz), self._day(end, tz)

    def _day(self, day: date, tz: ZoneInfo) -> Any:
        found = self.days.get(day)  # thousands of windows share a few days
        if found is None:
            found = self.days[day] = self.instant(local_midnight(day, tz))
        return found

    def sums(self, a: str) -> str:
        """Exact sum columns: NUMERIC on PostgreSQL; on SQLite the integer parts and how many
        rows had them (the others are added in Python)."""
        if self.dialect == "postgresql":
            return f"sum({a}.value), 0, count(*)"
        return f"sum({a}.value_whole), sum({a}.value_nanos), count({a}.value_whole)"

    def total(self, whole: Any, nanos: Any, extra: list[str]) -> Decimal:
        if self.dialect == "postgresql":
            total = Decimal(0) if whole is None else Decimal(whole)
        else:
            units, rest = divmod(nanos or 0, 10**9)
            # equal to the sum of the Decimals; places may differ (4 for 1.5 + 2.5, not 4.0)
            total = Decimal((whole or 0) + units)
            if rest:
                total = (total + Decimal(rest).scaleb(-9)).normalize()
        return sum((Decimal(value) for value in extra), total)

    def period(self, label: str) -> Period:
        found = self.periods.get(label)  # windows mostly end on the same few periods
        if found is None:
            found = self.periods[label] = Period.parse(label)
        return found

    def _marks(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    def close(self) -> None:
        for name in reversed(self.temps):
            self.raw.execute(f"DROP TABLE {name}")
        self.raw.close()


def _windows(cursor: _Cursor, keys: list[tuple[str, date, date]], tz: ZoneInfo, out: Aggregates) -> None:
    if not keys:
        return
    columns = {"metric": "VARCHAR(100)", "lo": "INSTANT", "hi": "INSTANT"}
    cursor.temp("eval_windows", columns, [(metric, *cursor.bounds(start, end, tz)) for metric, start, end in keys])
    found = cursor.rows(
        "SELECT g.*, l.period, l.value FROM ("
        f"SELECT w.id AS id, count(*) AS n, {cursor.sums('a')}, {_LATEST.format(join='')} AS latest"
        f" FROM eval_windows w JOIN actuals a ON a.metric = w.metric AND {_INSIDE.format(a='a')} GROUP BY w.id"
        ") g JOIN actuals l ON l.id = g.latest",
        (cursor.until, cursor.until),
    )
    odd = _odd_rows(cursor, "eval_windows", "", [row[0] for row in found if row[4] < row[1]])
    for wid, count, whole, nanos, _, _, label, value in found:
        total = cursor.total(whole, nanos, [v for v, _ in odd[wid]])
        out.windows[keys[wid]] = Totals(count, total, cursor.period(label), Decimal(value))


def _ratios(cursor: _Cursor, keys: list[tuple[str, str, date, date]], tz: ZoneInfo, out: Aggregates) -> None:
    """Sums over the periods where both metrics have data: a join on the period."""
    if not keys:
        return
    columns = {"metric": "VARCHAR(100)", "other": "VARCHAR(100)", "lo": "INSTANT", "hi": "INSTANT"}
    cursor.temp("eval_ratios", columns, [(top, bottom, *cursor.bounds(start, end, tz)) for top, bottom, start, end in keys])
    found = cursor.rows(
        "SELECT g.*, l.period FROM ("
        f"SELECT w.id AS id, count(*) AS n, {cursor.sums('a')}, {cursor.sums('b')},"
        f" {_LATEST.format(join='JOIN actuals b ON ' + _PAIRED)} AS latest"
        f" FROM eval_ratios w JOIN actuals a ON a.metric = w.metric AND {_INSIDE.format(a='a')}"
        f" JOIN actuals b ON {_PAIRED} GROUP BY w.id"
        ") g JOIN actuals l ON l.id = g.latest",
        (cursor.until, cursor.until),
    )
    odd = _odd_rows(cursor, "eval_ratios", f"JOIN actuals b ON {_PAIRED}",
                    [row[0] for row in found if row[4] < row[1] or row[7] < row[1]])
    for wid, count, *sums, _, label in found:
        top = cursor.total(*sums[0:2], [v for v, which in odd[wid] if which == "a"])
        bottom = cursor.total(*sums[3:5], [v for v, which in odd[wid] if which == "b"])
        out.ratios[keys[wid]] = RatioTotals(count, top, bottom, cursor.period(label))


def _odd_rows(cursor: _Cursor, table: str, join: str, ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """The values (and which side, a or b) of rows without integer parts, by window: rare."""
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    if not ids:
        return found
    cursor.temp(f"{table}_odd", {"win": "INTEGER"}, [(i,) for i in ids])
    sides = ["a"] + (["b"] if join else [])
    picks = ", ".join(f"{s}.value, {s}.value_whole IS NULL" for s in sides)
    rows = cursor.rows(
        f"SELECT w.id, {picks} FROM {table}_odd o JOIN {table} w ON w.id = o.win"
        f" JOIN actuals a ON a.metric = w.metric AND {_INSIDE.format(a='a')} {join}",
        (cursor.until,),
    )
    for wid, *values in rows:
        for side, (value, missing) in zip(sides, zip(values[::2], values[1::2])):
            if missing:
                found[wid].append((str(value), side))
    return found


def _due(cursor: _Cursor, keys: list[tuple[str, Period]], out: Aggregates) -> None:
    """Which due periods have a current actual (staleness)."""
    if not keys:
        return
    cursor.temp("eval_due", {"metric": "VARCHAR(100)", "period": "VARCHAR(16)"}, [(m, p.label) for m, p in keys])
    for (wid,) in cursor.rows(
        "SELECT d.id FROM eval_due d WHERE EXISTS (SELECT 1 FROM actuals a"
        " WHERE a.metric = d.metric AND a.period = d.period AND a.is_current)"
    ):
        out.present.add(keys[wid])


def _firsts(cursor: _Cursor, metrics: list[str], out: Aggregates) -> None:
    """The earliest period recorded by `until` (milestones)."""
    if not metrics:
        return
    cursor.temp("eval_firsts", {"metric": "VARCHAR(100)"}, [(m,) for m in metrics])
    rows = cursor.rows(
        "SELECT f.id, (SELECT a.period FROM actuals a WHERE a.metric = f.metric AND a.is_current"
        " AND a.period_start <= ? ORDER BY a.period_start LIMIT 1) FROM eval_firsts f",
        (cursor.until,),
    )
    for fid, label in rows:
        if label is not None:
            out.firsts[metrics[fid]] = Period.parse(label)

"""Recording many actuals at once in bounded memory, through staging tables.

A file is validated whole before anything is written, and the checks that span rows (one row
per metric and period, values equal to the current ones, tenfold jumps from the previous
period, which may be in the file or on record) need keyed access to every row. Held in
Python, a 7.5-million-row file took 4 GB; so the rows go, checked one by one, into temporary
tables of the same connection and transaction (COPY on PostgreSQL, executemany on SQLite),
the cross-row checks run there in SQL, and the write is `INSERT ... SELECT` in chunks. The
file is read once, the database holds the rows, and Python holds one batch.

Temporary tables are private to the connection and vanish with it; a refusal rolls them
back with everything else, so nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple, Protocol

from tracker.core.errors import BadInput
from tracker.core.periods import Period
from tracker.core.validation import (
    check_bounds,
    check_jump,
    check_metric_name,
    check_text,
    find_metric,
    parse_known_since,
    parse_period_for,
    parse_value,
    plain,
)
from tracker.store.dbtypes import utc_to_db, value_parts

if TYPE_CHECKING:
    from sqlmodel import Session

    from tracker.catalog.model import Catalog
    from tracker.core.goals import Metric

BATCH = 20_000  # rows per executemany or COPY, and per progress step
CHUNK = 100_000  # file lines per write statement
_PERIOD_CACHE = 50_000  # distinct period labels held in Python before they go to the table
STAGE, PERIODS, RESOLVED = "tracker_import_stage", "tracker_import_periods", "tracker_import_resolved"


class RowInput(NamedTuple):
    """One actual as typed or read from a file, before validation (a tuple: a million of
    them are made per large import)."""

    line: int
    metric: str
    period: str
    value: str
    source: str | None = None
    note: str | None = None
    known_since: str | None = None  # ISO 8601, as written; None: known when recorded


class Progress(Protocol):
    def phase(self, name: str, total: int | None) -> None: ...
    def advance(self, count: int) -> None: ...


class Imported(NamedTuple):
    recorded: int
    unchanged: int  # rows equal to the current value, left out


class _Sql:
    """The few places where the two databases differ."""

    def __init__(self, dialect: str) -> None:
        self.postgres = dialect == "postgresql"
        self.dialect = dialect
        self.real = "double precision" if self.postgres else "REAL"
        self.text_time = "timestamptz" if self.postgres else "TEXT"
        self.number = "numeric" if self.postgres else "TEXT"

    def q(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql


def record_rows(
    db: Session,
    *,
    catalog: Catalog,
    rows: Iterable[RowInput],
    now: datetime,
    label: str = "input",
    force: bool = False,
    default_source: str | None = None,
    skip_unchanged: bool = False,
    progress: Progress | None = None,
) -> Imported:
    """Records the rows in the caller's transaction: all of them, or, on the first bad row,
    none (a BadInput naming `label` and the row's line, or both lines of a duplicate)."""
    connection = db.connection()
    sql = _Sql(connection.dialect.name)
    cursor = connection.connection.driver_connection.cursor()
    try:
        _create(cursor, sql)
        checker = RowChecker(catalog, label, now, default_source, sql.dialect)
        staged = _load(cursor, sql, checker, rows, progress)
        _index(cursor, sql)
        _refuse_duplicates(cursor, sql, label)
        _resolve(cursor, sql, skip_unchanged)
        if not force:
            _refuse_jumps(cursor, sql, catalog, label)
        written = _write(cursor, sql, utc_to_db(now, sql.dialect), progress)
        _drop(cursor)
    finally:
        cursor.close()
    return Imported(written, staged - written)


def _create(cursor, sql: _Sql) -> None:  # type: ignore[no-untyped-def]
    _drop(cursor)
    if sql.postgres:
        # The checks join and sort every staged row; at the default 4 MB they spill to disk
        # (a 300,000-row import sorted 16 MB in external merges). For this transaction only.
        cursor.execute("SET LOCAL work_mem = '256MB'")
    key = "INTEGER PRIMARY KEY" if not sql.postgres else "bigint"  # SQLite: the rowid itself
    cursor.execute(
        f"CREATE TEMP TABLE {STAGE} (line {key}, metric TEXT, period TEXT, value {sql.number}, "
        f"value_whole BIGINT, value_nanos BIGINT, source TEXT, note TEXT, known_since {sql.text_time})"
    )
    cursor.execute(
        f"CREATE TEMP TABLE {PERIODS} (label TEXT PRIMARY KEY, previous TEXT, "
        f"period_start {sql.text_time}, period_end {sql.text_time})"
    )
    resolved_key = "INTEGER PRIMARY KEY" if not sql.postgres else "bigint PRIMARY KEY"
    cursor.execute(f"CREATE TEMP TABLE {RESOLVED} (line {resolved_key}, old_id BIGINT, old_rev INTEGER)")


def _drop(cursor) -> None:  # type: ignore[no-untyped-def]
    for table in (STAGE, PERIODS, RESOLVED):
        cursor.execute(f"DROP TABLE IF EXISTS {table}")


class _PeriodInfo(NamedTuple):
    period: Period
    label: str
    start: object  # the bounds in stored form
    end: object
    previous: str  # the labels of its neighbours, for the tenfold-jump check
    following: str


class Checked(NamedTuple):
    """One row that passed the checks it can pass on its own, in stored form."""

    line: int
    metric: Metric
    period: _PeriodInfo
    value: Decimal
    source: str | None
    note: str | None
    known_since: object  # stored form, or None: known when recorded


class RowChecker:
    """The checks of one row on its own (metric, period, value, bounds, lengths, known-since).
    What depends only on the period (parsing, bounds in the catalog's zone, stored form) is
    worked out once per label; at most _PERIOD_CACHE labels are held."""

    def __init__(self, catalog: Catalog, label: str, now: datetime, default_source: str | None, dialect: str) -> None:
        self.metrics, self.zone, self.dialect = catalog.metrics, catalog.timezone, dialect
        self.label, self.now, self.default_source = label, now, default_source
        self.periods: dict[str, _PeriodInfo] = {}
        self.named: set[str] = set()
        self.new_periods: list[_PeriodInfo] = []  # labels not seen before, for whoever stores them

    def check(self, row: RowInput) -> Checked:
        try:
            return self._check(row)
        except BadInput as error:
            raise BadInput(f"{self.label} line {row.line}: {error}") from None

    def _check(self, row: RowInput) -> Checked:
        spec = self.metrics.get(row.metric) or find_metric(self.metrics, row.metric)
        if spec.name not in self.named:
            check_metric_name(spec.name)
            self.named.add(spec.name)
        info = self.periods.get(row.period) or self._period(row.period)
        if info.period.granularity != spec.granularity:
            parse_period_for(spec, row.period)  # raises the usual message
        amount = parse_value(row.value)
        check_bounds(spec, amount)
        source = row.source or self.default_source
        check_text("source", source)
        check_text("note", row.note)
        known = None
        if row.known_since:
            known = utc_to_db(parse_known_since(row.known_since, info.period, self.now, self.zone), self.dialect)
        return Checked(row.line, spec, info, amount, source, row.note or None, known)

    def _period(self, text: str) -> _PeriodInfo:
        if len(self.periods) >= _PERIOD_CACHE:
            self.periods.clear()  # labels already stored stay stored
        period = Period.parse(text)
        start, end = period.bounds(self.zone)
        info = _PeriodInfo(period, period.label, utc_to_db(start, self.dialect), utc_to_db(end, self.dialect),
                           period.previous().label, period.next().label)
        self.periods[text] = info
        self.new_periods.append(info)
        return info


def _load(  # type: ignore[no-untyped-def]
    cursor,
    sql: _Sql,
    checker: RowChecker,
    rows: Iterable[RowInput],
    progress: Progress | None,
) -> int:
    """Checks each row on its own and stages it; returns how many rows were staged."""
    batch: list[tuple[object, ...]] = []
    staged = 0
    for row in rows:
        ok = checker.check(row)
        amount = ok.value
        whole, nanos = value_parts(amount)
        stored = amount if sql.postgres else plain(amount)
        batch.append((ok.line, ok.metric.name, ok.period.label, stored, whole, nanos, ok.source, ok.note, ok.known_since))
        if len(batch) >= BATCH:
            staged += _stage(cursor, sql, batch, _take_periods(checker), progress)
            batch = []
    return staged + _stage(cursor, sql, batch, _take_periods(checker), progress)


def _take_periods(checker: RowChecker) -> list[tuple[object, ...]]:
    """The periods table's rows for the labels the checker met since the last call."""
    pending = [(p.label, p.previous, p.start, p.end) for p in checker.new_periods]
    checker.new_periods.clear()
    return pending


def _stage(cursor, sql: _Sql, batch: list, pending: list, progress: Progress | None) -> int:  # type: ignore[no-untyped-def]
    if pending:
        cursor.executemany(sql.q(f"INSERT INTO {PERIODS} VALUES (?, ?, ?, ?) ON CONFLICT (label) DO NOTHING"), pending)
    if not batch:
        return 0
    if sql.postgres:
        columns = "line, metric, period, value, value_whole, value_nanos, source, note, known_since"
        with cursor.copy(f"COPY {STAGE} ({columns}) FROM STDIN") as copy:
            for row in batch:
                copy.write_row(row)
    else:
        cursor.executemany(f"INSERT INTO {STAGE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
    if progress:
        progress.advance(len(batch))
    return len(batch)


def _index(cursor, sql: _Sql) -> None:  # type: ignore[no-untyped-def]
    """Built once the rows are in: cheaper than keeping it up to date row by row."""
    cursor.execute(f"CREATE INDEX {STAGE}_key ON {STAGE} (metric, period, line)")
    if sql.postgres:
        cursor.execute(f"ANALYZE {STAGE}")  # temporary tables are never analysed on their own
        cursor.execute(f"ANALYZE {PERIODS}")


def _refuse_duplicates(cursor, sql: _Sql, label: str) -> None:  # type: ignore[no-untyped-def]
    """Two rows for one metric and period: which should count is the user's call, not ours."""
    cursor.execute(f"SELECT 1 FROM {STAGE} GROUP BY metric, period HAVING COUNT(*) > 1 LIMIT 1")
    if cursor.fetchone() is None:
        return
    cursor.execute(
        f"SELECT s.line, s.metric, s.period, (SELECT MIN(t.line) FROM {STAGE} t "
        f"WHERE t.metric = s.metric AND t.period = s.period) FROM {STAGE} s WHERE EXISTS (SELECT 1 FROM {STAGE} t "
        "WHERE t.metric = s.metric AND t.period = s.period AND t.line < s.line) ORDER BY s.line LIMIT 1"
    )
    line, metric, period, first = cursor.fetchone()
    raise BadInput(
        f"{label} line {line}: {metric} {period} is also on line {first}; "
        "give each metric and period once per file (the newest figure)"
    )


def _resolve(cursor, sql: _Sql, skip_unchanged: bool) -> None:  # type: ignore[no-untyped-def]
    """The rows to write, each with the current row it replaces: all rows, or with
    `skip_unchanged` those whose value differs from the current one."""
    where = ""
    if skip_unchanged:
        # Exact in SQL: NUMERIC on PostgreSQL; on SQLite the integer parts (text would
        # differ for 100 and 100.0), with the rare values too big or fine for them below.
        where = ("WHERE a.id IS NULL OR a.value <> s.value" if sql.postgres else
                 "WHERE a.id IS NULL OR s.value_whole IS NULL OR a.value_whole IS NULL "
                 "OR a.value_whole <> s.value_whole OR a.value_nanos <> s.value_nanos")
    cursor.execute(
        f"INSERT INTO {RESOLVED} (line, old_id, old_rev) SELECT s.line, a.id, a.revision FROM {STAGE} s "
        "LEFT JOIN actuals a ON a.metric = s.metric AND a.period = s.period AND a.is_current " + where
    )
    if skip_unchanged and not sql.postgres:
        cursor.execute(
            f"SELECT r.line, s.value, a.value FROM {RESOLVED} r JOIN {STAGE} s ON s.line = r.line "
            "JOIN actuals a ON a.id = r.old_id WHERE s.value_whole IS NULL OR a.value_whole IS NULL"
        )
        same = [(line,) for line, new, old in cursor.fetchall() if Decimal(new) == Decimal(old)]
        cursor.executemany(f"DELETE FROM {RESOLVED} WHERE line = ?", same)
    if sql.postgres:
        cursor.execute(f"ANALYZE {RESOLVED}")


def _refuse_jumps(cursor, sql: _Sql, catalog: Catalog, label: str) -> None:  # type: ignore[no-untyped-def]
    """Tenfold jumps from the previous period: its row in the file, else the one on record.
    SQL picks the candidates in floating point with a margin; each is then judged exactly."""
    real = sql.real
    cursor.execute(
        "SELECT line, metric, period, value, prev FROM ("
        f"SELECT s.line AS line, s.metric AS metric, s.period AS period, s.value AS value, "
        f"COALESCE(f.value, a.value) AS prev FROM {RESOLVED} r JOIN {STAGE} s ON s.line = r.line "
        f"JOIN {PERIODS} p ON p.label = s.period "
        f"LEFT JOIN {STAGE} f ON f.metric = s.metric AND f.period = p.previous "
        "LEFT JOIN actuals a ON f.line IS NULL AND a.metric = s.metric AND a.period = p.previous AND a.is_current"
        ") j WHERE prev IS NOT NULL "
        f"AND (ABS(CAST(value AS {real})) > 9.99 * ABS(CAST(prev AS {real})) "
        f"OR 9.99 * ABS(CAST(value AS {real})) < ABS(CAST(prev AS {real}))) ORDER BY line"
    )
    for line, metric, period, value, previous in cursor:
        try:
            check_jump(catalog.metrics[metric], Period.parse(period), Decimal(value), Decimal(previous), False)
        except BadInput as error:
            raise BadInput(f"{label} line {line}: {error}") from None


_COLUMNS = ("metric, period, period_start, period_end, value, source, note, recorded_at, revision, is_current, "
            "value_whole, value_nanos, known_since")


def _write(cursor, sql: _Sql, recorded: object, progress: Progress | None) -> int:  # type: ignore[no-untyped-def]
    """Replaced rows become history and the new ones current, a chunk of lines at a time so
    that the progress bar moves; all in the caller's one transaction."""
    cursor.execute(f"SELECT MIN(line), MAX(line), COUNT(*) FROM {RESOLVED}")
    first, last, total = cursor.fetchone()
    if progress:
        progress.phase("writing", total)
    if not total:
        return 0
    supersede = sql.q(
        f"UPDATE actuals SET is_current = FALSE WHERE id IN (SELECT old_id FROM {RESOLVED} "
        "WHERE line >= ? AND line < ? AND old_id IS NOT NULL)"
    )
    insert = sql.q(
        f"INSERT INTO actuals ({_COLUMNS}) SELECT s.metric, s.period, p.period_start, p.period_end, s.value, "
        "s.source, s.note, ?, COALESCE(r.old_rev, 0) + 1, TRUE, s.value_whole, s.value_nanos, "
        f"COALESCE(s.known_since, ?) FROM {RESOLVED} r JOIN {STAGE} s ON s.line = r.line "
        f"JOIN {PERIODS} p ON p.label = s.period WHERE r.line >= ? AND r.line < ?"
    )
    written = 0
    for start in range(first, last + 1, CHUNK):
        cursor.execute(supersede, (start, start + CHUNK))
        cursor.execute(insert, (recorded, recorded, start, start + CHUNK))
        written += cursor.rowcount
        if progress:
            progress.advance(cursor.rowcount)
    return written


"""Recording and reading actuals. Session first, keyword-only, no commits: the caller's
session (see `db.session`) owns the transaction, so a failed import writes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import insert, select, update
from sqlmodel import Session

from tracker.catalog.model import Catalog
from tracker.core.errors import BadInput
from tracker.core.goals import Metric
from tracker.core.periods import Period, local_midnight
from tracker.core.readings import Reading, newest_known
from tracker.core.validation import (
    check_bounds,
    check_jump,
    check_text,
    find_metric,
    parse_known_since,
    parse_period_for,
    parse_value,
    validate,
)
from tracker.store.dbtypes import decimal_to_db, utc_to_db, value_parts
from tracker.store.models import Actual

_CHUNK = 10_000
# `since` is a local day; a day's start is within 14 h of its UTC midnight in every zone.
_ZONE_SLACK = timedelta(hours=14)


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


def _current_row(db: Session, metric: str, period: str) -> Actual | None:
    query = select(Actual).where(Actual.metric == metric, Actual.period == period, Actual.is_current)
    return db.execute(query).scalars().first()


def record(
    db: Session,
    *,
    catalog: Catalog,
    metric: str,
    period: str,
    value: str,
    now: datetime,
    source: str | None = None,
    note: str | None = None,
    force: bool = False,
    skip_unchanged: bool = False,
    known_since: str | None = None,
) -> Actual | None:
    """Records one actual as a new revision; returns None when `skip_unchanged` and the
    current value is already this one (collectors use that to stay idempotent).
    `known_since` (ISO 8601) is when the figure became known; by default, now."""
    spec, parsed, amount = validate(catalog.metrics, metric, period, value)
    check_text("source", source)
    check_text("note", note)
    known = parse_known_since(known_since, parsed, now, catalog.timezone) if known_since else now
    existing = _current_row(db, spec.name, parsed.label)
    if existing is not None and skip_unchanged and existing.value == amount:
        return None  # before the jump check: a value already on record (maybe forced) is not new
    previous = _current_row(db, spec.name, parsed.previous().label)
    check_jump(spec, parsed, amount, previous.value if previous else None, force)
    if existing is not None:
        existing.is_current = False
        db.flush()  # the partial unique index allows one current row per metric and period
    start, end = parsed.bounds(catalog.timezone)
    whole, nanos = value_parts(amount)
    row = Actual(
        metric=spec.name,
        period=parsed.label,
        period_start=start,
        period_end=end,
        value=amount,
        value_whole=whole,
        value_nanos=nanos,
        source=source,
        note=note,
        recorded_at=now,
        known_since=known,
        revision=existing.revision + 1 if existing else 1,
        is_current=True,
    )
    db.add(row)
    db.flush()
    return row


def history(db: Session, *, metric: str) -> Sequence[Actual]:
    """Every actual of a metric, revisions included, by period then revision."""
    query = select(Actual).where(Actual.metric == metric).order_by(Actual.period_start, Actual.revision)
    return db.execute(query).scalars().all()


def _period_parser() -> Callable[[str], Period]:
    return _memo(Period.parse)


def _memo(parse: Callable[[object], object]) -> Callable[[object], object]:
    """A per-call cache: labels and timestamps repeat across a million rows."""
    cache: dict[object, object] = {}

    def cached(value: object) -> object:
        found = cache.get(value)
        if found is None:
            found = cache[value] = parse(value)
        return found

    return cached


class _State(NamedTuple):
    """What the import knows of each (metric, period): its current revision and value, and
    either the stored row it replaces or its place in this import's rows."""

    revision: int
    value: Decimal
    row_id: int | None
    index: int | None


_COLUMNS = ("metric", "period", "period_start", "period_end", "value", "source", "note", "recorded_at", "revision", "is_current",
            "value_whole", "value_nanos", "known_since")
_IS_CURRENT = _COLUMNS.index("is_current")


class _PeriodInfo(NamedTuple):
    period: Period
    label: str
    previous: str
    start: object  # in stored form
    end: object


def import_rows(
    db: Session,
    *,
    catalog: Catalog,
    rows: Iterable[RowInput],
    now: datetime,
    label: str = "input",
    force: bool = False,
    default_source: str | None = None,
    progress: Callable[[int], None] | None = None,
    skip_unchanged: bool = False,
) -> int:
    """Records many actuals in the caller's transaction: all of them, or, on the first bad
    row, none (a BadInput naming `label` and the row's line). With `skip_unchanged`, a row
    whose value is already the current one is left out (collectors re-read the same data);
    returns how many rows were recorded."""
    dialect = db.get_bind().dialect.name
    prepared = _prepare(catalog, rows, label, progress, dialect, now)
    state = _load_state(db, {row[0].name for row in prepared})
    superseded: list[int] = []
    params: list[list[object]] = []
    recorded = utc_to_db(now, dialect)
    for spec, info, amount, source, note, line, known in prepared:
        key = (spec.name, info.label)
        old = state.get(key)
        if skip_unchanged and old is not None and old.value == amount:
            continue
        previous = state.get((spec.name, info.previous))
        try:
            check_jump(spec, info.period, amount, previous.value if previous else None, force)
        except BadInput as error:
            raise BadInput(f"{label} line {line}: {error}") from None
        if old is not None and old.row_id is not None:
            superseded.append(old.row_id)
        elif old is not None:
            params[old.index][_IS_CURRENT] = False
        revision = old.revision + 1 if old else 1
        state[key] = _State(revision, amount, None, len(params))
        params.append(
            [spec.name, info.label, info.start, info.end, decimal_to_db(amount, dialect),
             source or default_source, note, recorded, revision, True, *value_parts(amount), known or recorded]
        )
    _write(db, superseded, params)
    return len(params)


def _prepare(
    catalog: Catalog,
    rows: Iterable[RowInput],
    label: str,
    progress: Callable[[int], None] | None,
    dialect: str,
    now: datetime,
) -> list[tuple[Metric, _PeriodInfo, Decimal, str | None, str | None, int, object]]:
    """Validates every row before anything is written. What depends only on the period
    (parsing, bounds in the catalog's zone, the stored form) is worked out once per period."""
    periods: dict[str, _PeriodInfo] = {}
    boundaries: dict[object, object] = {}

    def bound(day: object) -> object:
        stored = boundaries.get(day)
        if stored is None:
            stored = boundaries[day] = utc_to_db(local_midnight(day, catalog.timezone), dialect)  # type: ignore[arg-type]
        return stored

    out = []
    metrics = catalog.metrics
    for count, row in enumerate(rows, 1):
        try:
            spec = metrics.get(row.metric) or find_metric(metrics, row.metric)
            info = periods.get(row.period)
            if info is None:
                period = Period.parse(row.period)
                info = periods[row.period] = _PeriodInfo(
                    period, period.label, period.previous().label, bound(period.start), bound(period.end)
                )
            if info.period.granularity != spec.granularity:
                parse_period_for(spec, row.period)  # raises the usual message
            amount = parse_value(row.value)
            check_bounds(spec, amount)
            known = None
            if row.known_since:
                known = utc_to_db(parse_known_since(row.known_since, info.period, now, catalog.timezone), dialect)
        except BadInput as error:
            raise BadInput(f"{label} line {row.line}: {error}") from None
        out.append((spec, info, amount, row.source or None, row.note or None, row.line, known))
        if progress and count % _CHUNK == 0:
            progress(_CHUNK)
    if progress:
        progress(len(out) % _CHUNK)
    return out


def _load_state(db: Session, metrics: set[str]) -> dict[tuple[str, str], _State]:
    query = select(Actual.id, Actual.metric, Actual.period, Actual.revision, Actual.value).where(
        Actual.metric.in_(sorted(metrics)), Actual.is_current
    )
    return {(m, p): _State(rev, value, row_id, None) for row_id, m, p, rev, value in db.execute(query)}


def _write(db: Session, superseded: list[int], params: list[list[object]]) -> None:
    """Marks replaced rows historical, then inserts in chunks. On SQLite the rows, already in
    stored form, go to the driver's executemany: per-row type processing would cost more than
    the insert itself (bench/import_bench.py). PostgreSQL takes them through Core, whose
    bind processing passes datetimes and decimals through as they are."""
    for start in range(0, len(superseded), _CHUNK):
        ids = superseded[start : start + _CHUNK]
        db.execute(update(Actual).where(Actual.id.in_(ids)).values(is_current=False))
    if not params:
        return
    connection = db.connection()
    if connection.dialect.name == "sqlite":
        sql = f"INSERT INTO actuals ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
        cursor = connection.connection.driver_connection.cursor()
        for start in range(0, len(params), 50_000):
            cursor.executemany(sql, params[start : start + 50_000])
        return
    for start in range(0, len(params), _CHUNK):
        connection.execute(insert(Actual), [dict(zip(_COLUMNS, row)) for row in params[start : start + _CHUNK]])


def readings_until(
    db: Session,
    *,
    metrics: Iterable[str],
    until: datetime,
    since: date | None = None,
    known_at: datetime | None = None,
) -> dict[str, list[Reading]]:
    """The value of every period of the given metrics that starts by `until` (and, with
    `since`, on or after that day), in period order: what an evaluation as of `until` may
    see. With `known_at`, each period's newest revision known by then, so a revision (or a
    figure) that became known later is not seen; else the current one."""
    found = _readings(db, metrics, until, since, known_at, current=known_at is None)
    return {name: newest_known(rows) for name, rows in found.items()}


def revisions_until(db: Session, *, metrics: Iterable[str], until: datetime) -> dict[str, list[Reading]]:
    """Every revision of every period that starts by `until`, in period then revision
    order, each with its known-since time (for backtests)."""
    return _readings(db, metrics, until, None, None, current=False)


def _readings(db: Session, metrics: Iterable[str], until: datetime, since: date | None, known_at: datetime | None,
              *, current: bool) -> dict[str, list[Reading]]:
    """The rows go through the driver cursor, not SQLAlchemy's per-row result processing,
    which would cost more than the query itself on a million rows (bench/evaluate_bench.py);
    values stay exact Decimals."""
    names = sorted(set(metrics))
    out: dict[str, list[Reading]] = {name: [] for name in names}
    if not names:
        return out
    connection = db.connection()
    dialect = connection.dialect.name
    mark = "%s" if dialect == "postgresql" else "?"
    where = [f"metric IN ({', '.join([mark] * len(names))})", f"period_start <= {mark}"]
    params: list[object] = [*names, utc_to_db(until, dialect)]
    if since is not None:
        where.append(f"period_start >= {mark}")
        params.append(utc_to_db(datetime(since.year, since.month, since.day, tzinfo=timezone.utc) - _ZONE_SLACK, dialect))
    if current:
        where.append("is_current")
    if known_at is not None:
        where.append(f"COALESCE(known_since, recorded_at) <= {mark}")
        params.append(utc_to_db(known_at, dialect))
    sql = (
        "SELECT metric, period, value, recorded_at, COALESCE(known_since, recorded_at) FROM actuals "
        f"WHERE {' AND '.join(where)} ORDER BY metric, period_start, revision"
    )
    cursor = connection.connection.driver_connection.cursor()
    cursor.execute(sql, params)
    rows = cursor.fetchall()
    cursor.close()
    parse, instant = _period_parser(), _instant_parser()
    for name, label, value, recorded_at, known in rows:
        out[name].append(Reading(name, parse(label), Decimal(value), instant(recorded_at), instant(known)))
    return out


def _instant_parser() -> Callable[[object], datetime]:
    """Stored instants to aware UTC (SQLite keeps them as fixed-width text)."""
    def parse(value: object) -> datetime:
        found = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return found.replace(tzinfo=timezone.utc) if found.tzinfo is None else found

    return _memo(parse)

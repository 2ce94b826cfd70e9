"""Recording and reading actuals. Session first, keyword-only, no commits: the caller's
session (see `db.session`) owns the transaction, so a failed import writes nothing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import select
from sqlmodel import Session

from tracker.catalog.model import Catalog
from tracker.core.periods import Period
from tracker.core.readings import Reading, newest_known, reading
from tracker.core.validation import check_jump, check_text, parse_known_since, validate
from tracker.store.dbtypes import utc_to_db, value_parts
from tracker.store.models import Actual
from tracker.store.staging import Progress, RowInput, record_rows

__all__ = ["RowInput", "history", "import_rows", "readings_until", "record", "revisions_until"]

_CHUNK = 10_000  # rows per fetch where readings are read in batches

# `since` is a local day; a day's start is within 14 h of its UTC midnight in every zone.
_ZONE_SLACK = timedelta(hours=14)


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


def import_rows(
    db: Session,
    *,
    catalog: Catalog,
    rows: Iterable[RowInput],
    now: datetime,
    label: str = "input",
    force: bool = False,
    default_source: str | None = None,
    progress: Progress | None = None,
    skip_unchanged: bool = False,
) -> int:
    """Records many actuals in the caller's transaction: all of them, or, on the first bad
    row, none (a BadInput naming `label` and the row's line). A file gives each metric and
    period once. With `skip_unchanged`, a row whose value is already the current one is left
    out; returns how many rows were recorded (`staging.record_rows` also says how many were
    left out)."""
    return record_rows(
        db, catalog=catalog, rows=rows, now=now, label=label, force=force,
        default_source=default_source, skip_unchanged=skip_unchanged, progress=progress,
    ).recorded


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


# Past this many metrics the query names none and drops the others' rows as it reads them:
# SQLite takes at most 32,766 parameters, and a long IN list costs more than it saves.
_IN_LIST_LIMIT = 2_000


def _where(names: list[str], dialect: str, until: datetime | None, since: date | None, known_at: datetime | None,
           *, current: bool, every: bool) -> tuple[str, list[object]]:
    mark = "%s" if dialect == "postgresql" else "?"
    where: list[str] = ["TRUE"]
    params: list[object] = []
    if until is not None:
        where, params = [f"period_start <= {mark}"], [utc_to_db(until, dialect)]
    if not every:
        where.append(f"metric IN ({', '.join([mark] * len(names))})")
        params.extend(names)
    if since is not None:
        where.append(f"period_start >= {mark}")
        params.append(utc_to_db(datetime(since.year, since.month, since.day, tzinfo=timezone.utc) - _ZONE_SLACK, dialect))
    if current:
        where.append("is_current")
    if known_at is not None:
        where.append(f"COALESCE(known_since, recorded_at) <= {mark}")
        params.append(utc_to_db(known_at, dialect))
    return " AND ".join(where), params


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
    every = len(names) > _IN_LIST_LIMIT
    where, params = _where(names, connection.dialect.name, until, since, known_at, current=current, every=every)
    sql = (
        "SELECT metric, period, value, recorded_at, COALESCE(known_since, recorded_at) FROM actuals "
        f"WHERE {where} ORDER BY metric, period_start, revision"
    )
    cursor = connection.connection.driver_connection.cursor()
    cursor.execute(sql, params)
    # Labels and instants repeat across rows: each is parsed once, looked up inline (a
    # function call per value cost as much as the fetch).
    periods: dict[object, Period] = {}
    instants: dict[object, datetime] = {}
    parse, instant = Period.parse, _instant
    rows: list[Reading] | None = None
    name = None
    while batch := cursor.fetchmany(_CHUNK):
        for metric, label, value, recorded_at, known in batch:
            if metric != name:
                name, rows = metric, out.get(metric)
            if rows is None:
                continue
            period = periods.get(label)
            if period is None:
                period = periods[label] = parse(label)
            at = instants.get(recorded_at)
            if at is None:
                at = instants[recorded_at] = instant(recorded_at)
            since = at if known == recorded_at else instants.get(known)  # equal keys, the same instant
            if since is None:
                since = instants[known] = instant(known)
            rows.append(reading(name, period, Decimal(value), at, since))
    cursor.close()
    return out


class Prints(NamedTuple):
    """Per metric, (count, sum of ids, largest id) of the current rows readings_until would
    read, and how many times its rows were edited in place (migration 0011; `edits` has every
    metric's); `upcoming`: the earliest start after `until` of a current row in scope, as
    the database holds it (until then, time alone brings no row into view)."""

    by_metric: dict[str, tuple]
    upcoming: object | None
    edits: dict[str, int]


def fingerprints(db: Session, *, metrics: Iterable[str], until: datetime, since: date | None = None,
                 after: int | None = None) -> Prints:
    """Any row recorded, revised, edited or removed changes a metric's print. One aggregate
    over the covering index (SQLite keeps the row id in every index), about what one GROUP
    BY costs. With `after` (SQLite): over the rows with a larger id alone, found by the row id."""
    names = sorted(set(metrics))
    if not names:
        return Prints({}, None, {})
    connection = db.connection()
    dialect = connection.dialect.name
    every = len(names) > _IN_LIST_LIMIT
    where, params = _where(names, dialect, None, since, None, current=True, every=every)
    mark = "%s" if dialect == "postgresql" else "?"
    seen = f"FILTER (WHERE period_start <= {mark})"
    table = "actuals"
    if after is not None:  # else SQLite scans the whole covering index for its order
        table, where, params = "actuals NOT INDEXED", f"id > {mark} AND {where}", [after, *params]
    cursor = connection.connection.driver_connection.cursor()
    cursor.execute(f"SELECT metric, COUNT(*) {seen}, SUM(id) {seen}, MAX(id) {seen},"
                   f" MIN(period_start) FILTER (WHERE period_start > {mark}) FROM {table} WHERE {where}"
                   " GROUP BY metric", [utc_to_db(until, dialect)] * 4 + params)
    rows = cursor.fetchall()
    cursor.execute("SELECT metric, edits FROM actuals_edits")
    edits = dict(cursor.fetchall())
    cursor.close()
    if every:
        wanted = set(names)
        rows = [row for row in rows if row[0] in wanted]
    found = {metric: (count, total, top, edits.get(metric, 0)) for metric, count, total, top, _ in rows if count}
    upcoming = min((row[4] for row in rows if row[4] is not None), default=None)
    return Prints(found, upcoming, edits)


def change_marker(db: Session) -> tuple[int, int] | None:
    """(largest id, changes counted by migration 0011's triggers): equal at two moments only
    if no actual was inserted, updated or deleted in between, read in O(1). SQLite only
    (PostgreSQL ids can commit out of order); None there, or where the triggers are gone."""
    connection = db.connection()
    if connection.dialect.name != "sqlite":
        return None
    cursor = connection.connection.driver_connection.cursor()
    cursor.execute("SELECT (SELECT MAX(id) FROM actuals), (SELECT changes FROM actuals_changes WHERE id = 1),"
                   " (SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'"
                   " AND name IN ('actuals_changed_on_update', 'actuals_changed_on_delete'))")
    top, changes, triggers = cursor.fetchone()
    cursor.close()
    return None if triggers != 2 or changes is None else (top or 0, changes)


def _instant(value: object) -> datetime:
    """A stored instant as aware UTC (SQLite keeps them as fixed-width text)."""
    found = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return found.replace(tzinfo=timezone.utc) if found.tzinfo is None else found

"""Recording and reading actuals, on SQLite and on PostgreSQL."""

import os
import stat
import subprocess
import sys
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.conftest import NOW, ROOT, table_dump
from tracker.core.errors import BadInput
from tracker.store import actuals as store
from tracker.store import db
from tracker.store.actuals import RowInput
from tracker.store.staging import record_rows


def _record(engine, catalog, metric, period, value, **kw):
    with db.session(engine, write=True) as session:
        return store.record(session, catalog=catalog, metric=metric, period=period, value=value, now=NOW, **kw)


def _history(engine, metric):
    with db.session(engine) as session:
        return [(a.period, str(a.value), a.revision, a.is_current) for a in store.history(session, metric=metric)]


def test_recording_again_is_a_revision_and_keeps_history(engine, catalog):
    _record(engine, catalog, "ev_deliveries", "2026-03", "40000", source="press release")
    _record(engine, catalog, "ev_deliveries", "2026-03", "41000.5", note="restated")
    assert _history(engine, "ev_deliveries") == [
        ("2026-03", "40000", 1, False),
        ("2026-03", "41000.5", 2, True),
    ]
    with db.session(engine) as session:
        readings = store.readings_until(session, metrics=["ev_deliveries"], until=NOW)
    assert [(r.period.label, r.value) for r in readings["ev_deliveries"]] == [("2026-03", Decimal("41000.5"))]


def test_values_are_exact(engine, catalog):
    for period, value in [("2026-Q1", "0.1"), ("2026-Q2", "0.2"), ("2026-Q3", "1.123456789012345678")]:
        _record(engine, catalog, "total_code_lines", period, value)
    with db.session(engine) as session:
        values = [r.value for r in store.readings_until(session, metrics=["total_code_lines"], until=NOW)["total_code_lines"]]
    assert values[0] + values[1] == Decimal("0.3")
    assert str(values[2]) == "1.123456789012345678"


def test_period_bounds_are_stored_in_the_catalog_zone(engine, catalog):
    row = _record(engine, catalog, "ev_deliveries", "2026-12", "50000")
    assert row.period_start == datetime(2026, 11, 30, 16, tzinfo=timezone.utc)
    assert row.period_end == datetime(2026, 12, 31, 16, tzinfo=timezone.utc)
    with db.session(engine) as session:
        stored = store.history(session, metric="ev_deliveries")[0]
    assert stored.period_end == row.period_end and stored.recorded_at == NOW


def test_refused_value_writes_nothing(engine, catalog, database_url):
    _record(engine, catalog, "ev_deliveries", "2026-02", "4000")
    before = table_dump(database_url)
    with pytest.raises(BadInput, match="more than ten times above 4000 for 2026-02"):
        _record(engine, catalog, "ev_deliveries", "2026-03", "40001")
    assert table_dump(database_url) == before
    assert _record(engine, catalog, "ev_deliveries", "2026-03", "40001", force=True).value == 40001


def test_skip_unchanged_records_nothing_new(engine, catalog):
    assert _record(engine, catalog, "home_stores", "2026-03", "610", skip_unchanged=True) is not None
    assert _record(engine, catalog, "home_stores", "2026-03", "610", skip_unchanged=True) is None
    assert _record(engine, catalog, "home_stores", "2026-03", "620", skip_unchanged=True).revision == 2


def test_import_is_all_or_nothing(engine, catalog, database_url):
    _record(engine, catalog, "ev_deliveries", "2026-01", "30000")
    before = table_dump(database_url)
    rows = [
        RowInput(2, "ev_deliveries", "2026-02", "35000"),
        RowInput(3, "home_stores", "2026-02", "600"),
        RowInput(4, "ev_deliveries", "2026-13", "1"),
        RowInput(5, "home_stores", "2026-03", "620"),
    ]
    with pytest.raises(BadInput, match="^data.csv line 4: period '2026-13' has no month 13"):
        with db.session(engine, write=True) as session:
            store.import_rows(session, catalog=catalog, rows=rows, now=NOW, label="data.csv")
    assert table_dump(database_url) == before


def test_import_jump_is_checked_against_rows_of_the_same_file(engine, catalog, database_url):
    rows = [RowInput(2, "ev_deliveries", "2026-02", "3000"), RowInput(3, "ev_deliveries", "2026-03", "40000")]
    with pytest.raises(BadInput, match="^f line 3: value 40000 for ev_deliveries 2026-03 is more than ten times"):
        with db.session(engine, write=True) as session:
            store.import_rows(session, catalog=catalog, rows=rows, now=NOW, label="f")
    assert table_dump(database_url) == []


def test_import_revises_stored_rows(engine, catalog):
    _record(engine, catalog, "ev_deliveries", "2026-01", "30000")
    rows = [
        RowInput(2, "ev_deliveries", "2026-01", "31000", source="restated"),
        RowInput(3, "ev_deliveries", "2026-02", "36000", note="corrected"),
    ]
    with db.session(engine, write=True) as session:
        assert store.import_rows(session, catalog=catalog, rows=rows, now=NOW) == 2
    assert _history(engine, "ev_deliveries") == [
        ("2026-01", "30000", 1, False),
        ("2026-01", "31000", 2, True),
        ("2026-02", "36000", 1, True),
    ]
    with db.session(engine) as session:
        history = store.history(session, metric="ev_deliveries")
    assert history[1].source == "restated" and history[2].note == "corrected"
    assert all(row.recorded_at == NOW for row in history[1:])


def test_import_refuses_two_rows_for_one_metric_and_period(engine, catalog, database_url):
    _record(engine, catalog, "ev_deliveries", "2026-01", "30000")
    before = table_dump(database_url)
    rows = [
        RowInput(2, "ev_deliveries", "2026-02", "35000"),
        RowInput(3, "home_stores", "2026-02", "600"),
        RowInput(7, "ev_deliveries", " 2026-02", "36000"),
    ]
    with pytest.raises(BadInput, match="^f line 7: ev_deliveries 2026-02 is also on line 2; give each metric and period once"), db.session(engine, write=True) as session:
        store.import_rows(session, catalog=catalog, rows=rows, now=NOW, label="f")
    assert table_dump(database_url) == before


@pytest.mark.parametrize(
    "stored, value, skipped",
    [("100", "100.0", True), ("100", "1E2", True), ("0.1000000001", "0.10000000010", True),
     ("0.10000000011", "0.100000000110", True),
     ("100", "100.5", False), ("0.10000000011", "0.10000000012", False)],
)
def test_skip_unchanged_compares_values_exactly(engine, catalog, stored, value, skipped):
    metric, period = "ai_generated_lines", "2026-Q1"
    _record(engine, catalog, metric, period, stored, force=True)
    rows = [RowInput(2, metric, period, value)]
    with db.session(engine, write=True) as session:
        done = record_rows(session, catalog=catalog, rows=rows, now=NOW, skip_unchanged=True, force=True)
    assert done == ((0, 1) if skipped else (1, 0))


def test_import_jump_is_checked_against_the_file_whatever_the_order(engine, catalog, database_url):
    _record(engine, catalog, "ev_deliveries", "2026-02", "30000")
    rows = [RowInput(2, "ev_deliveries", "2026-03", "3000"), RowInput(3, "ev_deliveries", "2026-02", "2900")]
    with db.session(engine, write=True) as session:
        assert store.import_rows(session, catalog=catalog, rows=rows, now=NOW) == 2
    before = table_dump(database_url)
    rows = [RowInput(2, "ev_deliveries", "2026-04", "30001")]
    with pytest.raises(BadInput, match="^input line 2: value 30001 for ev_deliveries 2026-04 is more than ten times above 3000"), db.session(engine, write=True) as session:
        store.import_rows(session, catalog=catalog, rows=rows, now=NOW)
    assert table_dump(database_url) == before


def test_an_import_in_many_chunks_keeps_every_row(engine, catalog, database_url, monkeypatch):
    """Small batches and chunks, so that staging, period flushes and chunked writes are all
    crossed on sixty-one rows."""
    from tracker.store import staging

    monkeypatch.setattr(staging, "BATCH", 7)
    monkeypatch.setattr(staging, "CHUNK", 11)
    monkeypatch.setattr(staging, "_PERIOD_CACHE", 5)
    months = [f"{year}-{month:02d}" for year in range(2021, 2027) for month in range(1, 13)][:61]
    rows = [RowInput(i + 2, "ev_deliveries", month, "4000") for i, month in enumerate(months)]
    with db.session(engine, write=True) as session:
        assert record_rows(session, catalog=catalog, rows=rows, now=NOW, skip_unchanged=True) == (61, 0)
    rows = [row._replace(value="4001") if row.line % 2 else row for row in rows]
    with db.session(engine, write=True) as session:
        assert record_rows(session, catalog=catalog, rows=rows, now=NOW, skip_unchanged=True) == (30, 31)
    history = _history(engine, "ev_deliveries")
    assert len(history) == 91 and sum(current for *_, current in history) == 61
    assert [(h[1], h[2], h[3]) for h in history if h[0] == "2021-02"] == [("4000", 1, False), ("4001", 2, True)]


def test_one_current_row_per_metric_and_period_is_enforced_by_the_database(engine, catalog):
    _record(engine, catalog, "home_stores", "2026-03", "610")
    with pytest.raises(Exception, match="(?i)unique"):
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO actuals (metric, period, period_start, period_end, value, recorded_at, revision, is_current) "
                    "SELECT metric, period, period_start, period_end, value, recorded_at, 2, is_current FROM actuals"
                )
            )


def test_migrations_run_once_and_report_the_head(engine):
    assert db.current_revision(engine) == db.head_revision()
    db.ensure_schema(engine)  # a second time is a no-op
    assert db.upgrade(engine) == db.head_revision()


def test_new_sqlite_file_is_private(tmp_path):
    path = tmp_path / "sub" / "new.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.ensure_schema(engine)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_sqlite_is_tuned_for_concurrent_writers(sqlite_url):
    engine = db.make_engine(sqlite_url)
    with engine.connect() as connection:
        pragmas = {p: connection.exec_driver_sql(f"PRAGMA {p}").scalar() for p in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")}
    assert pragmas == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 30000}


WRITER = """
import sys
from datetime import datetime, timezone
from tracker.store import db
from tracker.store import actuals as store
from tracker.catalog.model import load_catalog
catalog = load_catalog(__import__("pathlib").Path(sys.argv[2]))
engine = db.make_engine(sys.argv[1])
for month in range(1, 13):
    for attempt in range(3):
        # read-then-write: the pattern that deadlocks with a deferred BEGIN
        with db.session(engine, write=True) as session:
            store.record(session, catalog=catalog, metric=sys.argv[3], period=f"2026-{month:02d}",
                         value=str(1000 + attempt), now=datetime.now(timezone.utc))
"""


def test_three_writer_processes_never_see_database_is_locked(sqlite_url, catalog):
    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    metrics = ["ev_deliveries", "home_stores", "ev_deliveries"]
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, sqlite_url, str(catalog.path), m], env=env, stderr=subprocess.PIPE, text=True)
        for m in metrics
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    with engine.connect() as connection:
        counts = dict(connection.exec_driver_sql("SELECT metric, COUNT(*) FROM actuals GROUP BY metric").all())
        current = connection.exec_driver_sql("SELECT COUNT(*) FROM actuals WHERE is_current").scalar()
    assert counts == {"ev_deliveries": 72, "home_stores": 36}
    assert current == 24

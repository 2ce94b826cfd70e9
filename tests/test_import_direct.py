"""`tracker import` on PostgreSQL writing straight into `actuals` (tracker.store.direct): the
same rows as the staging path, the same refusals and messages, nothing left behind when a
refusal is found after rows were COPYed, and the staging path whenever it must decide."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.conftest import NOW, table_dump
from tracker.core.errors import BadInput
from tracker.store import db, direct, importer
from tracker.store.staging import record_rows

pytestmark = pytest.mark.postgres

_ROWS = "SELECT metric, period, period_start, period_end, value, source, note, recorded_at, revision, is_current, " \
        "value_whole, value_nanos, known_since FROM actuals ORDER BY metric, period, revision"


@pytest.fixture
def pg(postgres_url: str):
    engine = db.make_engine(postgres_url)
    db.ensure_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def paths(monkeypatch):
    """Which path decided each import: True for direct (its refusals included), False when it
    left the file to staging."""
    taken: list[bool] = []
    real = importer.record_direct

    def spy(*args, **kwargs):
        try:
            done = real(*args, **kwargs)
        except BadInput:
            taken.append(True)
            raise
        taken.append(done is not None)
        return done

    monkeypatch.setattr(importer, "record_direct", spy)
    return taken


def _csv(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "actuals.csv"
    path.write_text(body, encoding="utf-8")
    return path


def _import(engine, catalog, path: Path, force: bool = False):
    with db.session(engine, write=True) as session:
        return importer.import_file(session, catalog=catalog, path=path, now=NOW, force=force)


def _stored_by(engine, catalog, path: Path, staging: bool) -> list[tuple]:
    """The rows one path writes, rolled back afterwards."""
    from sqlalchemy import text
    from sqlmodel import Session

    with Session(engine) as session:
        if staging:
            record_rows(session, catalog=catalog, rows=importer.read_csv(path), now=NOW, label=str(path),
                        skip_unchanged=True)
        else:
            assert direct.record_direct(session, catalog=catalog, rows=importer.read_csv(path), now=NOW,
                                        label=str(path)) is not None
        rows = [tuple(row) for row in session.execute(text(_ROWS))]
        session.rollback()
    return rows


def _refused(engine, catalog, path: Path, message: str, force: bool = False) -> None:
    before = table_dump(engine.url.render_as_string(hide_password=False))
    with pytest.raises(BadInput) as refusal:
        _import(engine, catalog, path, force)
    assert str(refusal.value) == message
    assert table_dump(engine.url.render_as_string(hide_password=False)) == before


def test_direct_rows_are_the_staging_paths_rows(pg, catalog, tmp_path, paths):
    body = (
        "metric,period,value,known_since,source,note\n"
        "ev_deliveries,2026-01,4000,,press,\n"
        "ev_deliveries,2026-02,6.4E3,2026-03-02,\"tab\there\",\"two\nlines \\ and a backslash\"\n"
        "ev_deliveries,2026-03,4500.50,,,\n"
        "home_stores,2026-03,-0,,,note\n"
        "ai_generated_lines,2026-Q1,1E+10,,,\n"
        "total_code_lines,2026-Q2,0.000000000001,,,\n"
    )
    path = _csv(tmp_path, body)
    direct_rows = _stored_by(pg, catalog, path, staging=False)
    assert direct_rows == _stored_by(pg, catalog, path, staging=True)
    assert len(direct_rows) == 6
    assert _import(pg, catalog, path).recorded == 6 and paths == [True]


def test_a_jump_found_after_the_copy_leaves_the_database_unchanged(pg, catalog, tmp_path, paths):
    body = "metric,period,value\nhome_stores,2026-01,600\nev_deliveries,2026-04,45000\nev_deliveries,2026-03,4400\n"
    _refused(pg, catalog, _csv(tmp_path, body), f"{tmp_path / 'actuals.csv'} line 3: value 45000 for ev_deliveries "
             "2026-04 is more than ten times above 4400 for 2026-03; check the unit, or pass --force to record it anyway")
    assert paths == [True]  # refused by the direct path itself, after its COPY


def test_the_first_jump_by_line_is_reported_as_staging_reports_it(pg, catalog, tmp_path, monkeypatch, paths):
    monkeypatch.setattr(direct, "_WINDOW", 2)  # most pairs meet only through the rows kept aside
    body = ("metric,period,value\nev_deliveries,2026-05,100\nhome_stores,2026-01,10\nhome_stores,2026-03,10\n"
            "ev_deliveries,2026-07,10\nev_deliveries,2026-04,2000\nhome_stores,2026-02,200\n")
    path = _csv(tmp_path, body)
    expected = _staging_refusal(pg, catalog, path)
    assert " line 2: value 100 for ev_deliveries 2026-05 is more than ten times below 2000" in expected
    _refused(pg, catalog, path, expected)
    assert paths == [True]


def _staging_refusal(engine, catalog, path: Path) -> str:
    from sqlmodel import Session

    with Session(engine) as session, pytest.raises(BadInput) as refusal:
        record_rows(session, catalog=catalog, rows=importer.read_csv(path), now=NOW, label=str(path))
    return str(refusal.value)


@pytest.mark.parametrize("window", [20_000, 1], ids=["seen-in-window", "found-by-unique-index"])
def test_a_duplicate_gets_the_staging_paths_message(pg, catalog, tmp_path, monkeypatch, paths, window):
    monkeypatch.setattr(direct, "_WINDOW", window)
    monkeypatch.setattr(direct, "_LOOSE", 10)
    body = ("metric,period,value\nev_deliveries,2026-01,4000\nev_deliveries,2026-02,4100\nev_deliveries,2026-03,4200\n"
            "home_stores,2026-03,640\nev_deliveries,2026-02,4300\n")
    path = _csv(tmp_path, body)
    _refused(pg, catalog, path, f"{path} line 6: ev_deliveries 2026-02 is also on line 3; "
             "give each metric and period once per file (the newest figure)")
    assert paths == [False]


def test_a_late_bad_row_ends_the_copy_and_writes_nothing(pg, catalog, tmp_path, paths):
    rows = "".join(f"ai_generated_lines,{2000 + i // 4}-Q{i % 4 + 1},{1000 + i}\n" for i in range(3000))
    path = _csv(tmp_path, "metric,period,value\n" + rows + "home_stores,2026-03,x\n")
    threads = threading.active_count()
    _refused(pg, catalog, path, f"{path} line 3002: value 'x' is not a decimal number")
    assert threading.active_count() == threads
    assert _import(pg, catalog, _csv(tmp_path, "metric,period,value\nhome_stores,2026-03,640\n")).recorded == 1


def test_a_metric_on_record_goes_through_staging_with_its_revision(pg, catalog, tmp_path, paths):
    _import(pg, catalog, _csv(tmp_path, "metric,period,value\nev_deliveries,2026-02,4000\n"))
    body = "metric,period,value\nhome_stores,2026-03,640\nev_deliveries,2026-02,4100\nev_deliveries,2026-03,4200\n"
    done = _import(pg, catalog, _csv(tmp_path, body))
    assert done.recorded == 3 and paths == [True, False]
    stored = [(m, p, str(v), r, c) for m, p, _, _, v, *_, r, c, _, _, _ in
              (row[1:] for row in table_dump(pg.url.render_as_string(hide_password=False)))]
    assert ("ev_deliveries", "2026-02", "4100", 2, True) in stored and ("ev_deliveries", "2026-02", "4000", 1, False) in stored


def test_too_many_rows_kept_aside_go_through_staging(pg, catalog, tmp_path, monkeypatch, paths):
    monkeypatch.setattr(direct, "_WINDOW", 1)
    monkeypatch.setattr(direct, "_LOOSE", 2)
    body = "metric,period,value\n" + "".join(f"home_stores,{2000 + i}-0{1 + 2 * (i % 4)},{600 + i}\n" for i in range(8))
    assert _import(pg, catalog, _csv(tmp_path, body)).recorded == 8
    assert paths == [False]


def test_force_accepts_a_jump_on_the_direct_path(pg, catalog, tmp_path, paths):
    body = "metric,period,value\nev_deliveries,2026-03,4400\nev_deliveries,2026-04,45000\n"
    assert _import(pg, catalog, _csv(tmp_path, body), force=True).recorded == 2
    assert paths == [True]

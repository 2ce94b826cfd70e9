"""The change marker (migration 0011, tracker.store.actuals.change_marker): a remembering
process skips the aggregate over every actual only while no actual was inserted, updated
or deleted (by any client, raw SQL included) and time has brought no stored period into
view; after any of those its verdicts equal a fresh process's."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.alerting_helpers import record
from tests.evalkit import local
from tests.migrating import migrate
from tracker.store import actuals as store
from tracker.store import db, judging
from tracker.store.dbtypes import utc_to_db
from tracker.store.judging import Remembered, evaluate_from_db

START = local("2026-04-03 09:00")
FIGURES = [("ev_deliveries", "2026-01", "30000"), ("ev_deliveries", "2026-02", "32000"),
           ("home_stores", "2026-02", "700"), ("ai_generated_lines", "2026-Q1", "0.3"),
           ("total_code_lines", "2026-Q1", "1.0")]


def _record(engine, catalog, metric: str, period: str, value: str, at=START) -> None:  # type: ignore[no-untyped-def]
    record(engine, catalog, metric, period, value, at)


def _sql(engine, statement: str, **params) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as connection:
        connection.execute(text(statement), params)


def _judged(engine, catalog, now, remembered=None):  # type: ignore[no-untyped-def]
    with db.session(engine) as session:
        return [e.to_json() for e in evaluate_from_db(session, catalog=catalog, now=now, remembered=remembered)]


def _aggregates(monkeypatch, *, whole: bool = True) -> list[object]:  # type: ignore[no-untyped-def]
    """Collects the fingerprint aggregates judging runs: over every row, or (`whole` False)
    over the rows inserted since the last."""
    seen: list[object] = []
    real = judging.fingerprints

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        if (kwargs.get("after") is None) is whole:
            seen.append(kwargs["until"])
        return real(*args, **kwargs)

    monkeypatch.setattr(judging, "fingerprints", counted)
    return seen


def _future_row(engine, catalog) -> None:
    """A figure for May, stored before May has begun (raw SQL: the row as any client writes it)."""
    dialect = engine.dialect.name
    _sql(engine, "INSERT INTO actuals (metric, period, period_start, period_end, value, recorded_at, revision,"
         " is_current, value_whole, value_nanos) VALUES ('ev_deliveries', '2026-05', :start, :end, '50000', :at, 1,"
         " TRUE, 50000, 0)", start=utc_to_db(local("2026-05-01 00:00"), dialect),
         end=utc_to_db(local("2026-06-01 00:00"), dialect), at=utc_to_db(START, dialect))


# (what is done between two judgements, how long after START the second one is)
CHANGES = [
    ("a row deleted by raw SQL", "DELETE FROM actuals WHERE period = '2026-02' AND metric = 'home_stores'", timedelta(hours=1)),
    ("a value changed in place", "UPDATE actuals SET value = '1', value_whole = 1, value_nanos = 0"
                                 " WHERE metric = 'ev_deliveries' AND period = '2026-01'", timedelta(hours=1)),
    ("a row no longer current", "UPDATE actuals SET is_current = FALSE WHERE metric = 'ev_deliveries'"
                                " AND period = '2026-02'", timedelta(hours=1)),
    ("a recorded revision", ("ev_deliveries", "2026-02", "33000"), timedelta(hours=1)),
    ("a new figure", ("ev_deliveries", "2026-03", "41000"), timedelta(hours=1)),
    ("a stored future period comes into view", _future_row, timedelta(days=30)),
    ("a stored future period not yet in view", _future_row, timedelta(days=20)),
    ("time runs back past a figure's start", None, -timedelta(days=50)),
]


def _apply(engine, catalog, change) -> None:  # type: ignore[no-untyped-def]
    """One of CHANGES' changes: raw SQL, a figure recorded five minutes after START, or a function."""
    if isinstance(change, str):
        _sql(engine, change)
    elif isinstance(change, tuple):
        _record(engine, catalog, *change, at=START + timedelta(minutes=5))
    elif change is not None:
        change(engine, catalog)


@pytest.mark.parametrize(("name", "change", "later"), CHANGES, ids=[c[0] for c in CHANGES])
def test_after_any_write_the_remembered_verdicts_equal_fresh_ones(engine, catalog, name, change, later) -> None:
    for figure in FIGURES:
        _record(engine, catalog, *figure)
    remembered = Remembered()
    _judged(engine, catalog, START, remembered)
    _apply(engine, catalog, change)
    now = START + later
    assert _judged(engine, catalog, now, remembered) == _judged(engine, catalog, now)


def test_an_unchanged_store_is_not_aggregated_again_on_sqlite(engine, catalog, monkeypatch) -> None:
    for figure in FIGURES:
        _record(engine, catalog, *figure)
    _future_row(engine, catalog)
    remembered = Remembered()
    seen = _aggregates(monkeypatch)
    _judged(engine, catalog, START, remembered)
    _judged(engine, catalog, START + timedelta(hours=1), remembered)
    _judged(engine, catalog, START + timedelta(days=20), remembered)  # May is still ahead
    sqlite = engine.dialect.name == "sqlite"
    assert len(seen) == (1 if sqlite else 3)  # PostgreSQL aggregates every time
    _record(engine, catalog, "ev_deliveries", "2026-03", "41000", at=START + timedelta(days=20))
    _judged(engine, catalog, START + timedelta(days=20, hours=1), remembered)
    _judged(engine, catalog, START + timedelta(days=20, hours=2), remembered)
    _judged(engine, catalog, START + timedelta(days=30), remembered)  # May has begun
    assert len(seen) == (2 if sqlite else 6)  # the new figure alone is added to the last prints


def test_rows_only_inserted_are_added_to_the_last_prints(engine, catalog, monkeypatch) -> None:
    """Inserts alone (a figure of a metric with rows, of one without, of a future period)
    are aggregated by themselves on SQLite, and the prints they give are exactly what an
    aggregate over every row gives (a verdict stored by one process is found by the next)."""
    for figure in FIGURES[:3]:
        _record(engine, catalog, *figure)
    remembered = Remembered()
    whole, added = _aggregates(monkeypatch), _aggregates(monkeypatch, whole=False)
    _judged(engine, catalog, START, remembered)
    steps = [(("ev_deliveries", "2026-03", "41000"), timedelta(hours=1)),
             (("ai_generated_lines", "2026-Q1", "0.3"), timedelta(hours=2)),  # its first row
             (("ev_deliveries", "2026-05", "50000"), timedelta(hours=3)),  # May: not yet in view
             (None, timedelta(days=28, hours=4))]  # May begun: every row again
    for change, later in steps:
        if change is not None:
            _record(engine, catalog, *change, at=START + later - timedelta(minutes=1))
        now = START + later
        assert _judged(engine, catalog, now, remembered) == _judged(engine, catalog, now)
        with db.session(engine) as session:
            fresh = store.fingerprints(session, metrics=judging._metrics(catalog.goals), until=now,
                                       since=remembered.prints.since if remembered.prints else None)
        if remembered.prints is not None:
            assert remembered.prints.by_metric == fresh.by_metric
    sqlite = engine.dialect.name == "sqlite"
    assert (len(whole), len(added)) == ((2, 3) if sqlite else (5, 0))


def test_without_the_triggers_every_judgement_aggregates(sqlite_url: str, catalog, monkeypatch) -> None:
    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    for figure in FIGURES:
        _record(engine, catalog, *figure)
    _sql(engine, "DROP TRIGGER actuals_changed_on_delete")  # as a table rebuild would
    remembered = Remembered()
    seen = _aggregates(monkeypatch)
    _judged(engine, catalog, START, remembered)
    _sql(engine, "DELETE FROM actuals WHERE metric = 'home_stores'")
    later = START + timedelta(hours=1)
    assert _judged(engine, catalog, later, remembered) == _judged(engine, catalog, later)
    assert len(seen) == 2  # both remembering judgements (a fresh one reads no prints)
    engine.dispose()


def test_migration_0011_counts_edits_and_on_sqlite_every_update_and_delete(database_url: str) -> None:
    engine = create_engine(database_url)
    migrate(engine, "0011")
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        assert inspect(connection).has_table("actuals_edits")
        assert inspect(connection).has_table("actuals_changes") is sqlite
    at = utc_to_db(START, engine.dialect.name)
    _sql(engine, "INSERT INTO actuals (metric, period, period_start, period_end, value, recorded_at, revision,"
         " is_current) VALUES ('m', '2026-01', :at, :at, '1', :at, 1, TRUE)", at=at)
    _sql(engine, "UPDATE actuals SET value = '2'")
    _sql(engine, "UPDATE actuals SET value = '2', is_current = FALSE")  # the same value: no edit
    _sql(engine, "UPDATE actuals SET period = '2026-02'")
    _sql(engine, "DELETE FROM actuals")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT metric, edits FROM actuals_edits")).all() == [("m", 2)]
        if sqlite:
            assert connection.execute(text("SELECT changes FROM actuals_changes")).scalar_one() == 4
    migrate(engine, "0010", down=True)
    with engine.connect() as connection:
        assert not inspect(connection).has_table("actuals_edits")
        assert not inspect(connection).has_table("actuals_changes")
        if sqlite:
            assert connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).all() == []
        else:
            assert connection.execute(text("SELECT count(*) FROM pg_proc WHERE proname = 'actuals_edited'")).scalar() == 0
    engine.dispose()


def test_a_value_edited_in_place_is_not_taken_from_the_verdicts_table(engine, catalog) -> None:
    for figure in FIGURES:
        _record(engine, catalog, *figure)
    remembered = Remembered()
    _judged(engine, catalog, START, remembered)
    remembered.save(engine)
    _sql(engine, "UPDATE actuals SET value = '1', value_whole = 1, value_nanos = 0"
         " WHERE metric = 'ev_deliveries' AND period = '2026-01'")
    restarted = Remembered()
    later = START + timedelta(hours=1)
    assert _judged(engine, catalog, later, restarted) == _judged(engine, catalog, later)
    touched = sum("ev_deliveries" in goal.metrics for goal in catalog.goals)
    stored = sum(goal.kind != "milestone" for goal in catalog.goals)
    assert restarted.loaded == stored - touched


def _saved(engine, catalog, now) -> None:  # type: ignore[no-untyped-def]
    """What a daemon's cycle leaves behind: its verdicts and the prints they were keyed by."""
    remembered = Remembered()
    _judged(engine, catalog, now, remembered)
    remembered.save(engine)


@pytest.mark.parametrize(("name", "change", "later"), CHANGES, ids=[c[0] for c in CHANGES])
def test_a_new_process_starting_from_stored_prints_judges_as_a_fresh_one(engine, catalog, name, change, later) -> None:
    for figure in FIGURES:
        _record(engine, catalog, *figure)
    _saved(engine, catalog, START)
    _apply(engine, catalog, change)
    now = START + later
    assert _judged(engine, catalog, now, Remembered()) == _judged(engine, catalog, now)


def test_a_new_process_beside_an_unchanged_store_runs_no_aggregate_on_sqlite(engine, catalog, monkeypatch) -> None:
    for figure in FIGURES:
        _record(engine, catalog, *figure)
    _saved(engine, catalog, START)
    whole, added = _aggregates(monkeypatch), _aggregates(monkeypatch, whole=False)
    later = START + timedelta(hours=1)
    restarted = Remembered()
    assert _judged(engine, catalog, later, restarted) == _judged(engine, catalog, later)
    sqlite = engine.dialect.name == "sqlite"
    assert (len(whole), len(added)) == ((0, 0) if sqlite else (1, 0))  # PostgreSQL has no marker: nothing stored
    assert restarted.loaded == sum(goal.kind != "milestone" for goal in catalog.goals)
    _record(engine, catalog, "ev_deliveries", "2026-03", "41000", at=later)
    assert _judged(engine, catalog, later, Remembered()) == _judged(engine, catalog, later)
    assert (len(whole), len(added)) == ((0, 1) if sqlite else (2, 0))  # the new row alone, added to the stored prints


def _other_metrics(catalog):  # type: ignore[no-untyped-def]
    return catalog.model_copy(update={"goals": [g for g in catalog.goals if "home_stores" not in g.metrics]})


def _edited(edit):  # type: ignore[no-untyped-def]
    """A spoiler that edits the stored prints' JSON in place (the metrics' digest still fits)."""
    def spoil(engine, catalog):  # type: ignore[no-untyped-def]
        with engine.connect() as connection:
            stored = json.loads(connection.execute(text("SELECT prints FROM verdict_prints")).scalar_one())
        edit(stored)
        _sql(engine, "UPDATE verdict_prints SET prints = :p", p=json.dumps(stored))
        return catalog
    return spoil


def _a_print(stored: dict, value: list) -> None:
    stored["by_metric"]["ev_deliveries"] = value


# Each leaves prints that must not be used; the ones edited by hand would otherwise raise
# once a new row is added to them, or when `upcoming` is compared with the instant.
SPOILS = {
    "not json": lambda engine, catalog: (_sql(engine, "UPDATE verdict_prints SET prints = 'not json'"), catalog)[1],
    "not prints": lambda engine, catalog: (_sql(engine, "UPDATE verdict_prints SET prints = '{\"metrics\": 1}'"),
                                           catalog)[1],
    "a catalog of other metrics": lambda engine, catalog: _other_metrics(catalog),
    "a print a field short": _edited(lambda stored: _a_print(stored, [1, 2, 3])),
    "a print of text": _edited(lambda stored: _a_print(stored, [1, "2", 3, 0])),
    "a print not a list": _edited(lambda stored: _a_print(stored, 7)),
    "upcoming a number": _edited(lambda stored: stored.update(upcoming=20260501)),
    "a marker of three": _edited(lambda stored: stored.update(marker=[1, 2, 3])),
    "edits of text": _edited(lambda stored: stored.update(edits={"ev_deliveries": "1"})),
}


@pytest.mark.parametrize("spoil", SPOILS.values(), ids=SPOILS.keys())
def test_stored_prints_that_do_not_fit_are_not_used(sqlite_url: str, catalog, monkeypatch, spoil) -> None:
    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    for figure in FIGURES:
        _record(engine, catalog, *figure)
    _future_row(engine, catalog)  # an `upcoming` to compare with
    _saved(engine, catalog, START)
    other = spoil(engine, catalog)
    _record(engine, catalog, "ev_deliveries", "2026-03", "41000", at=START + timedelta(minutes=5))  # only an insert
    whole = _aggregates(monkeypatch)
    later = START + timedelta(hours=1)
    assert _judged(engine, other, later, Remembered()) == _judged(engine, other, later)
    assert len(whole) == 1
    engine.dispose()

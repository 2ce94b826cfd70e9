"""Verdicts kept across processes (tracker.store.verdicts): the stored form is lossless, a
new process takes a stored verdict only when every input is the same (figures, day, due
periods, the goal's definition, the code), the daemon's cycle stores them, and `tracker
status` uses them without writing."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.alerting_helpers import make_runtime, record
from tests.conftest import CATALOG, ROOT, table_dump
from tests.evalkit import local
from tests.migrating import migrate
from tracker.alerting.cycle import evaluate_cycle
from tracker.catalog.model import parse_catalog
from tracker.core.goals import Kind
from tracker.core.verdict import Evaluation
from tracker.store import db, verdicts
from tracker.store.judging import Remembered, evaluate_from_db, views_from_db

START = local("2026-04-03 09:00")
FIGURES = [("ev_deliveries", "2026-01", "30000"), ("ev_deliveries", "2026-02", "32000"),
           ("ai_generated_lines", "2026-Q1", "0.3"), ("total_code_lines", "2026-Q1", "1.0"),
           ("home_stores", "2026-02", "700"), ("phone_revenue", "2026-Q1", "100"), ("phone_gross_profit", "2026-Q1", "8.1")]


def _record(engine, catalog, metric: str, period: str, value: str, at=START) -> None:  # type: ignore[no-untyped-def]
    record(engine, catalog, metric, period, value, at)


def _filled(engine, catalog):  # type: ignore[no-untyped-def]
    for figure in FIGURES:
        _record(engine, catalog, *figure)
    return engine


def _judge(engine, catalog, now, remembered):  # type: ignore[no-untyped-def]
    with db.session(engine) as session:
        return [e.to_json() for e in evaluate_from_db(session, catalog=catalog, now=now, remembered=remembered)]


def _cold(engine, catalog, now):  # type: ignore[no-untyped-def]
    with db.session(engine) as session:
        return [e.to_json() for e in evaluate_from_db(session, catalog=catalog, now=now)]


def _judged_and_saved(engine, catalog, now) -> int:  # type: ignore[no-untyped-def]
    """What one process does: judge, then store; returns how many verdicts it stored."""
    remembered = Remembered()
    _judge(engine, catalog, now, remembered)
    return remembered.save(engine)


def _stored_goals(catalog) -> int:  # type: ignore[no-untyped-def]
    return sum(goal.kind is not Kind.MILESTONE for goal in catalog.goals)  # milestones: judged every time


@pytest.mark.parametrize("at", [START, local("2026-07-01 00:00"), local("2026-12-31 23:00"), local("2027-02-01 00:00")])
def test_the_stored_form_gives_back_the_same_verdict(engine, catalog, at) -> None:
    _filled(engine, catalog)
    with db.session(engine) as session:
        judged = evaluate_from_db(session, catalog=catalog, now=at)
    for evaluation in judged:
        back = verdicts.decode(verdicts.encode(evaluation))
        assert back == evaluation
        assert back.to_json() == evaluation.to_json()


# (what happens between the two processes, the second one's time after START, the goals it
# must judge afresh: None for all of them)
CHANGES = [
    ("nothing", timedelta(hours=1), set()),
    ("a new figure", timedelta(hours=1), {"ev-deliveries-2026"}),
    ("a new day", timedelta(days=1), None),
    ("a period comes due", timedelta(days=40), None),
]


@pytest.mark.parametrize("name,later,afresh", CHANGES, ids=[c[0] for c in CHANGES])
def test_a_new_process_takes_only_verdicts_whose_inputs_are_the_same(engine, catalog, name, later, afresh) -> None:
    _filled(engine, catalog)
    assert _judged_and_saved(engine, catalog, START) == _stored_goals(catalog)
    if name == "a new figure":
        _record(engine, catalog, "ev_deliveries", "2026-03", "41000", at=START + timedelta(minutes=30))
    now, second = START + later, Remembered()
    assert _judge(engine, catalog, now, second) == _cold(engine, catalog, now)
    expected = 0 if afresh is None else _stored_goals(catalog) - len(afresh & {g.id for g in catalog.goals})
    if name == "a new figure":  # every goal on that metric
        expected = _stored_goals(catalog) - sum("ev_deliveries" in g.metrics for g in catalog.goals)
    assert second.loaded == expected


def test_a_changed_definition_is_judged_afresh(engine, catalog) -> None:
    _filled(engine, catalog)
    _judged_and_saved(engine, catalog, START)
    data = json.loads(json.dumps(catalog.model_dump(mode="json", exclude={"path"})))
    changed = next(g for g in data["goals"] if g["id"] == "ev-deliveries-2026")
    changed["target"] = 600000
    other = parse_catalog(data)
    second = Remembered()
    assert _judge(engine, other, START, second) == _cold(engine, other, START)
    assert second.loaded == _stored_goals(catalog) - 1
    assert next(e for e in _judge(engine, other, START, Remembered()) if e["goal"] == "ev-deliveries-2026")["target"] == 600000


def test_other_code_finds_nothing(engine, catalog, monkeypatch) -> None:
    _filled(engine, catalog)
    _judged_and_saved(engine, catalog, START)
    monkeypatch.setattr(verdicts, "code_digest", lambda: "an upgrade")
    second = Remembered()
    assert _judge(engine, catalog, START, second) == _cold(engine, catalog, START)
    assert second.loaded == 0


@pytest.mark.parametrize("garbled", ["not json", "{}", '{"goal": "x", "surprise": 1}', '{"status": "sideways"}'])
def test_a_stored_row_that_cannot_be_read_is_judged_afresh(engine, catalog, garbled) -> None:
    _filled(engine, catalog)
    _judged_and_saved(engine, catalog, START)
    with db.session(engine, write=True) as session:
        session.connection().execute(text("UPDATE verdicts SET evaluation = :e WHERE goal = 'ev-deliveries-2026'"),
                                     {"e": garbled})
    second = Remembered()
    assert _judge(engine, catalog, START, second) == _cold(engine, catalog, START)
    assert second.loaded == _stored_goals(catalog) - 1


def _without_unit(row: dict) -> None:
    del row["unit"]


@pytest.mark.parametrize("edit", [_without_unit, lambda row: row.update(surprise=1),
                                  lambda row: row.update(status="sideways"), lambda row: row.update(target="x"),
                                  lambda row: row.update(period_end="2026-13-01")],
                         ids=["a field short", "a field more", "no such status", "not a number", "not a date"])
def test_a_stored_row_of_other_fields_or_values_is_judged_afresh(engine, catalog, edit) -> None:
    _filled(engine, catalog)
    _judged_and_saved(engine, catalog, START)
    where = " FROM verdicts WHERE goal = 'ev-deliveries-2026'"
    with db.session(engine, write=True) as session:
        row = json.loads(session.connection().execute(text("SELECT evaluation" + where)).scalar_one())
        edit(row)
        session.connection().execute(text("UPDATE verdicts SET evaluation = :e" + where.removeprefix(" FROM verdicts")),
                                     {"e": json.dumps(row)})
    second = Remembered()
    assert _judge(engine, catalog, START, second) == _cold(engine, catalog, START)
    assert second.loaded == _stored_goals(catalog) - 1


def test_saving_replaces_a_goals_row_and_drops_goals_gone_from_the_catalog(engine, catalog) -> None:
    _filled(engine, catalog)
    first = Remembered()
    _judge(engine, catalog, START, first)
    with db.session(engine, write=True) as session:
        session.connection().execute(text("INSERT INTO verdicts (goal, inputs, evaluation) VALUES ('gone', 'x', '{}')"))
    first.save(engine)
    _record(engine, catalog, "ev_deliveries", "2026-03", "41000")
    _judge(engine, catalog, START + timedelta(hours=1), first)
    assert first.save(engine) == sum("ev_deliveries" in g.metrics for g in catalog.goals)  # only those judged afresh
    with db.session(engine) as session:
        goals = {goal for (goal,) in session.connection().execute(text("SELECT goal FROM verdicts"))}
    assert goals == {g.id for g in catalog.goals if g.kind is not Kind.MILESTONE}


def test_the_digest_is_the_same_in_another_process(catalog) -> None:
    """Pydantic's JSON, not a set's repr: string hashing differs between processes."""
    key = (START.date(), (3, 6, 3), START)
    script = ("import sys, datetime, pathlib; from tracker.catalog.model import load_catalog;"
              "from tracker.store import verdicts; c = load_catalog(pathlib.Path(sys.argv[1]));"
              f"key = {key!r}; print(' '.join(verdicts.inputs_digest(c.definition(g), key) for g in c.goals))")
    seen = set()
    for seed in ("1", "2"):
        done = subprocess.run([sys.executable, "-c", script, str(CATALOG)], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)})
        seen.add(done.stdout.strip())
    here = " ".join(verdicts.inputs_digest(catalog.definition(g), key) for g in catalog.goals)
    assert seen == {here}


def test_a_restarted_daemon_judges_nothing_unchanged(engine, catalog) -> None:
    _filled(engine, catalog)
    first = make_runtime(engine)
    before = evaluate_cycle(first, now=START)
    restarted = make_runtime(engine)  # a new process: nothing in memory
    after = evaluate_cycle(restarted, now=START + timedelta(minutes=5))
    assert restarted.remembered.loaded == _stored_goals(restarted.catalog)
    kept = {g.id for g in restarted.catalog.goals if g.kind is not Kind.MILESTONE}  # milestones move with the instant
    assert [e.to_json() | {"evaluated_at": None} for e in after.evaluations if e.goal in kept] == [
        e.to_json() | {"evaluated_at": None} for e in before.evaluations if e.goal in kept
    ]


AT = ["--at", "2026-04-03T10:00:00+08:00"]


def _filled_file(sqlite_url, catalog):  # type: ignore[no-untyped-def]
    """A database file the CLI can open, with FIGURES recorded."""
    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    return _filled(engine, catalog)


def test_status_takes_stored_verdicts_and_writes_nothing(cli, sqlite_url, catalog) -> None:
    engine, cold = _filled_file(sqlite_url, catalog), cli("status", "--json", *AT)
    _judged_and_saved(engine, catalog, local("2026-04-03 09:30"))  # stored earlier the same day: only evaluated_at differs
    assert cli("status", "--json", *AT).out == cold.out  # the stored text, byte for byte
    with db.session(engine, write=True) as session:  # a stored view the status must print as it is
        session.connection().execute(text("UPDATE verdicts SET view = REPLACE(view, :a, :b)"),
                                     {"a": '"summary": "', "b": '"summary": "(stored) '})
    stored = table_dump(sqlite_url, "verdicts")
    engine.dispose()
    warm = cli("status", "--json", *AT)
    assert cold.code == warm.code == 0
    summaries = {e["goal"]: e["summary"] for e in json.loads(warm.out)}
    assert all(summaries[g.id].startswith("(stored) ") for g in catalog.goals if g.kind is not Kind.MILESTONE)
    assert [e | {"summary": ""} for e in json.loads(cold.out)] == [e | {"summary": ""} for e in json.loads(warm.out)]
    assert table_dump(sqlite_url, "verdicts") == stored


def test_status_judges_afresh_a_row_without_a_view(cli, sqlite_url, catalog) -> None:
    """A row an earlier version wrote has no view: a miss, never a verdict left out."""
    engine, cold = _filled_file(sqlite_url, catalog), cli("status", "--json", *AT)
    _judged_and_saved(engine, catalog, local("2026-04-03 10:00"))
    with db.session(engine, write=True) as session:
        session.connection().execute(text("UPDATE verdicts SET view = NULL WHERE goal = 'ev-deliveries-2026'"))
    engine.dispose()
    assert cli("status", "--json", *AT).out == cold.out


# Labels that hold what the undated text is cut at, and characters the encoder keeps as they are.
@pytest.mark.parametrize("labels", [{}, {"note": ', "evaluated_at": "2020-01-01"}'}, {"région": "华南 \"quoted\""}],
                         ids=["none", "the key in a label", "not ascii"])
@pytest.mark.parametrize("at", [START, local("2027-02-01 00:00")])
def test_a_stored_view_dated_anew_is_the_view_of_that_instant(engine, catalog, labels, at) -> None:
    _filled(engine, catalog)
    with db.session(engine) as session:
        judged = evaluate_from_db(session, catalog=catalog, now=START)
    later = START + timedelta(hours=5)
    for evaluation in judged:
        evaluation = dataclasses.replace(evaluation, labels=labels, evaluated_at=at)
        again = dataclasses.replace(evaluation, evaluated_at=later)
        view = verdicts.undated(evaluation)
        assert view is not None
        assert verdicts.dated(view, json.dumps(later.isoformat())) == verdicts.view_text(again)
        assert json.loads(verdicts.view_text(again)) == again.to_json()


def test_a_view_whose_last_key_is_not_evaluated_at_is_not_stored(engine, catalog, monkeypatch) -> None:
    """Should json_view ever gain a key after evaluated_at, appending the instant would drop
    it: such a verdict is stored without a view, and the JSON judges it afresh."""
    view = Evaluation.json_view
    monkeypatch.setattr(Evaluation, "json_view", lambda self: {**view(self), "later": 1})
    _filled(engine, catalog)
    now = local("2026-04-03 10:00")

    def views() -> list[str]:
        with db.session(engine) as session:
            return views_from_db(session, catalog=catalog, now=now)

    cold = views()
    assert all(json.loads(e)["later"] == 1 for e in cold)
    _judged_and_saved(engine, catalog, now)
    with db.session(engine) as session:
        assert session.connection().execute(text("SELECT count(*) FROM verdicts WHERE view IS NOT NULL")).scalar() == 0
    assert views() == cold


def test_migration_0013_empties_the_cache_and_adds_the_view(database_url: str) -> None:
    engine = create_engine(database_url)
    migrate(engine, "0012")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO verdicts (goal, inputs, evaluation) VALUES ('g', 'x', '{}')"))
    migrate(engine, "0013")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM verdicts")).scalar() == 0  # no row without a view
        assert "view" in {c["name"] for c in inspect(connection).get_columns("verdicts")}
    migrate(engine, "0012", down=True)
    with engine.connect() as connection:
        assert "view" not in {c["name"] for c in inspect(connection).get_columns("verdicts")}
    engine.dispose()

"""What lets the cycle and the commands scale (issue 17), held to the answers of the plain
path: remembered verdicts equal fresh ones, judging does not hold the write lock, the alert
rows are written in bulk with the same lifecycle, the validated catalog cache gives a full
load's answers and errors, and `status --json` is the same JSON."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from tests.alerting_helpers import StubJudge, evaluation, make_runtime
from tests.conftest import CATALOG, table_dump
from tests.evalkit import local
from tracker.alerting.cycle import (
    CycleResult,
    evaluate_cycle,
    plan_alerts,
    update_alerts,
)
from tracker.catalog import cache
from tracker.catalog.model import load_catalog
from tracker.core.errors import ConfigError
from tracker.core.goals import definition_digest
from tracker.core.lifecycle import FIRING, PENDING
from tracker.core.rules import goal_matches
from tracker.core.verdict import Status, at_instant
from tracker.store import actuals as store
from tracker.store import db
from tracker.store.alert_tables import AlertContent, AlertRow
from tracker.store.judging import Remembered, evaluate_from_db

START = local("2026-04-03 09:00")


def _record(engine, catalog, metric: str, period: str, value: str, at=START, known_since: str | None = None) -> None:  # type: ignore[no-untyped-def]
    with db.session(engine, write=True) as session:
        store.record(session, catalog=catalog, metric=metric, period=period, value=value, now=at, force=True,
                     known_since=known_since)


def _judged(engine, catalog, now, remembered=None):  # type: ignore[no-untyped-def]
    with db.session(engine) as session:
        return [e.to_json() for e in evaluate_from_db(session, catalog=catalog, now=now, remembered=remembered)]


# (what happens before the second cycle, its time after START, how many goals it may reuse)
CHANGES = [
    ("nothing", timedelta(hours=1), None),
    ("a new figure", timedelta(hours=1), ("ev_deliveries", "2026-03", "41000")),
    ("a revision", timedelta(hours=1), ("ev_deliveries", "2026-02", "33000")),
    ("a ratio's denominator", timedelta(hours=1), ("total_code_lines", "2026-Q1", "2.0")),
    ("a new day", timedelta(days=1), None),
    ("a period comes due", timedelta(days=40), None),
]


@pytest.mark.parametrize(("name", "later", "change"), CHANGES, ids=[c[0] for c in CHANGES])
def test_remembered_verdicts_equal_fresh_ones(engine, catalog, name, later, change):
    for metric, period, value in [("ev_deliveries", "2026-01", "30000"), ("ev_deliveries", "2026-02", "32000"),
                                  ("ai_generated_lines", "2026-Q1", "0.3"), ("total_code_lines", "2026-Q1", "1.0"),
                                  ("home_stores", "2026-02", "700")]:
        _record(engine, catalog, metric, period, value)
    remembered = Remembered()
    assert _judged(engine, catalog, START, remembered) == _judged(engine, catalog, START)
    if change is not None:
        _record(engine, catalog, *change, at=START + timedelta(minutes=30))
    now = START + later
    assert _judged(engine, catalog, now, remembered) == _judged(engine, catalog, now)
    goals = len(catalog.goals)
    milestones = sum(g.kind == "milestone" for g in catalog.goals)
    if name == "nothing":
        assert remembered.reused == goals - milestones  # milestones are judged every time
    elif change is not None:
        touched = {g.id for g in catalog.goals if change[0] in g.metrics}
        assert remembered.reused == goals - milestones - len(touched)


def test_a_new_catalog_is_judged_afresh(engine, catalog):
    _record(engine, catalog, "ev_deliveries", "2026-01", "30000")
    remembered = Remembered()
    _judged(engine, catalog, START, remembered)
    other = load_catalog(CATALOG)
    assert _judged(engine, other, START + timedelta(hours=1), remembered) == _judged(engine, other, START + timedelta(hours=1))
    assert remembered.reused == 0


def test_judging_holds_no_write_lock(tmp_path: Path, catalog):
    """A writer with a short busy timeout gets through while a cycle judges (SQLite)."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    db.ensure_schema(engine)
    runtime = make_runtime(engine)
    wrote = []

    def judge(session, *, catalog, now):  # type: ignore[no-untyped-def]
        session.connection()  # the judging transaction has begun and read
        other = sqlite3.connect(tmp_path / "lock.db", timeout=0.2, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO store_meta (key, value) VALUES ('probe', 'x')")
        other.execute("COMMIT")
        other.close()
        wrote.append(True)
        return StubJudge(evaluation(Status.OFF_TRACK))(session, catalog=catalog, now=now)

    result = evaluate_cycle(runtime, now=START, judge=judge)
    assert wrote == [True] and result.firing == 1
    engine.dispose()


def test_bulk_writes_keep_the_lifecycle(engine):
    """Held alerts are created, refreshed and moved; an alert nothing holds stays unwritten."""
    runtime = make_runtime(engine)
    first = evaluate_cycle(runtime, now=START, judge=StubJudge(evaluation(Status.OFF_TRACK),
                                                               evaluation(Status.AT_RISK, goal="home-stores-2026")))
    with db.session(engine) as session:
        rows = {(r.subject, r.rule): r for r in session.exec(select(AlertRow))}
        says = dict(session.exec(select(AlertContent.fingerprint, AlertContent.evaluation)).all())
    assert set(rows) == {("goal:ev-deliveries-2026", "off-track"), ("goal:home-stores-2026", "at-risk")}
    assert {r.state for r in rows.values()} <= {FIRING, PENDING}
    assert first.firing + first.pending == 2
    later = START + timedelta(days=3)  # past keep_firing_for: both resolve
    second = evaluate_cycle(runtime, now=later, judge=StubJudge())
    with db.session(engine) as session:
        after = {(r.subject, r.rule): r for r in session.exec(select(AlertRow))}
    assert second.firing == 0 and second.pending == 0
    assert after[("goal:ev-deliveries-2026", "off-track")].state == "resolved"
    assert after[("goal:ev-deliveries-2026", "off-track")].ends_at == later
    with db.session(engine) as session:  # resolving moved the state only: what the alerts say stands
        assert dict(session.exec(select(AlertContent.fingerprint, AlertContent.evaluation)).all()) == says
    assert says[rows[("goal:ev-deliveries-2026", "off-track")].fingerprint]["status"] == "off_track"
    third = evaluate_cycle(runtime, now=later + timedelta(hours=1), judge=StubJudge())
    with db.session(engine) as session:
        unchanged = {(r.subject, r.rule): r.updated_at for r in session.exec(select(AlertRow))}
    assert third.resolved == 0 and set(unchanged.values()) <= {later}


def test_catalog_cache_gives_the_full_loads_metrics(tmp_path: Path):
    folder = tmp_path / "cache"
    cold = cache.metrics_view(CATALOG, folder)
    assert len(list(folder.iterdir())) == 1
    warm = cache.metrics_view(CATALOG, folder)
    full = load_catalog(CATALOG)
    assert isinstance(warm.metrics, cache.Metrics)
    assert dict(warm.metrics) == dict(cold.metrics) == dict(full.metrics)
    assert warm.timezone == full.timezone


def test_a_changed_catalog_is_validated_again_with_the_same_errors(tmp_path: Path):
    folder, path = tmp_path / "cache", tmp_path / "goals.toml"
    path.write_text(CATALOG.read_text(encoding="utf-8"), encoding="utf-8")
    cache.metrics_view(path, folder)
    path.write_text(CATALOG.read_text(encoding="utf-8").replace('granularity = "month"', 'granularity = "fortnight"', 1),
                    encoding="utf-8")
    with pytest.raises(ConfigError) as cached:
        cache.metrics_view(path, folder)
    with pytest.raises(ConfigError) as full:
        load_catalog(path)
    assert str(cached.value) == str(full.value)


def test_the_cached_catalog_is_the_full_load_with_every_definition(tmp_path: Path, monkeypatch):
    folder = tmp_path / "cache"
    cold = cache.catalog(CATALOG, folder)
    assert [f.name.endswith(".catalog.pickle") for f in folder.iterdir()] == [True]
    monkeypatch.setattr("tracker.catalog.model.load_catalog", _no_full_load)
    warm = cache.catalog(CATALOG, folder)
    assert warm is not cold and warm == cold
    assert warm.model_dump() == load_catalog(CATALOG).model_dump()
    assert warm.path == CATALOG
    assert warm._definitions == {goal.id: definition_digest(goal, warm) for goal in warm.goals}


def test_a_changed_catalog_is_loaded_again_with_the_same_errors(tmp_path: Path):
    folder, path = tmp_path / "cache", tmp_path / "goals.toml"
    text = CATALOG.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    cache.catalog(path, folder)
    path.write_text(text.replace('granularity = "month"', 'granularity = "fortnight"', 1), encoding="utf-8")
    with pytest.raises(ConfigError) as cached:
        cache.catalog(path, folder)
    with pytest.raises(ConfigError) as full:
        load_catalog(path)
    assert str(cached.value) == str(full.value)
    path.write_text(text + '\n[[goals]]\nid = "extra"\n', encoding="utf-8")  # a goal too few fields: same
    with pytest.raises(ConfigError) as cached:
        cache.catalog(path, folder)
    assert str(cached.value) == str(pytest.raises(ConfigError, load_catalog, path).value)


def test_a_catalog_whose_receivers_read_files_is_never_kept(tmp_path: Path):
    folder, path, secret = tmp_path / "cache", tmp_path / "goals.toml", tmp_path / "secret"
    secret.write_text("whsec_" + "A" * 32, encoding="utf-8")
    path.write_text(CATALOG.read_text(encoding="utf-8") + f"""
[[receivers]]
name = "signed"
url = "https://example.com/hook"
secret_file = "{secret}"
""", encoding="utf-8")
    first = cache.catalog(path, folder)
    assert first.receivers[0].secret_file == secret
    assert not folder.exists() or list(folder.iterdir()) == []
    secret.write_text("whsec_" + "B" * 32, encoding="utf-8")
    assert cache.catalog(path, folder).receivers[0]._files != first.receivers[0]._files  # read afresh


def test_other_validating_code_finds_no_cached_catalog(tmp_path: Path, monkeypatch):
    """An edit of tracker/catalog or tracker/core in a working copy: the catalog is validated again."""
    folder = tmp_path / "cache"
    cache.catalog(CATALOG, folder)
    monkeypatch.setattr(cache, "_code_digest", lambda: b"edited")
    loads = []
    monkeypatch.setattr("tracker.catalog.model.load_catalog", lambda path: loads.append(path) or load_catalog(path))
    assert cache.catalog(CATALOG, folder).model_dump() == load_catalog(CATALOG).model_dump()
    assert loads == [CATALOG]


def test_a_catalog_that_cannot_be_pickled_is_loaded_and_not_kept(tmp_path: Path, monkeypatch):
    import pickle

    def refuse(*_args, **_kwargs) -> None:
        raise pickle.PicklingError("cannot pickle this")

    folder = tmp_path / "cache"
    monkeypatch.setattr(pickle, "dump", refuse)
    assert cache.catalog(CATALOG, folder).model_dump() == load_catalog(CATALOG).model_dump()
    assert list(folder.iterdir()) == []  # neither the file nor its half-written part


def _no_full_load(path: Path) -> None:
    raise AssertionError(f"{path} was loaded in full")


@pytest.mark.parametrize("garbage", [b"", b"not a pickle", b"\x80\x05K\x01."], ids=["empty", "text", "an int"])
def test_a_broken_cache_file_is_a_miss(tmp_path: Path, garbage: bytes):
    folder = tmp_path / "cache"
    cache.metrics_view(CATALOG, folder)
    (file,) = folder.iterdir()
    file.write_bytes(garbage)
    assert dict(cache.metrics_view(CATALOG, folder).metrics) == dict(load_catalog(CATALOG).metrics)


def test_record_refuses_an_unknown_metric_from_the_cache(cli, sqlite_url):
    assert cli("record", "ev_deliveries", "2026-01", "30000").code == 0  # validates and caches the catalog
    before = table_dump(sqlite_url)
    done = cli("record", "ev_deliverie", "2026-02", "1")
    assert done.code == 2
    assert done.err.startswith("tracker: error: unknown metric 'ev_deliverie'; the catalog has: ")
    assert table_dump(sqlite_url) == before


def test_record_with_a_broken_catalog_says_so_and_writes_nothing(cli, sqlite_url, tmp_path: Path):
    assert cli("record", "ev_deliveries", "2026-01", "30000").code == 0
    before = table_dump(sqlite_url)
    broken = tmp_path / "broken.toml"
    broken.write_text(CATALOG.read_text(encoding="utf-8") + "\n[metrics.ev_deliveries]\n", encoding="utf-8")
    done = cli("record", "ev_deliveries", "2026-02", "1", env={"TRACKER_CONFIG": str(broken)})
    assert done.code == 2
    assert done.err.startswith(f"tracker: error: catalog {broken}: not valid TOML") and len(done.err.splitlines()) == 1
    assert table_dump(sqlite_url) == before


def test_status_json_is_each_goals_object(cli, catalog):
    assert cli("record", "ev_deliveries", "2026-01", "30000").code == 0
    done = cli("status", "--at", "2026-04-03", "--json")
    assert done.code == 0, done.err
    found = json.loads(done.out)
    assert [row["goal"] for row in found] == [g.id for g in catalog.goals]
    assert done.out.startswith("[\n{") and done.out.endswith("}\n]\n")


def test_a_plan_made_before_another_cycle_wrote_is_worked_out_again(engine):
    """The alert changes are worked out before the write lock; when another cycle wrote
    alerts in between, the write transaction steps the rows it reads itself."""
    runtime = make_runtime(engine)
    rules = runtime.catalog.effective_rules()
    judge = StubJudge(evaluation(Status.OFF_TRACK))
    matches = goal_matches(judge(None, catalog=runtime.catalog, now=START), rules)
    with db.session(engine) as session:
        planned = plan_alerts(session, matches=matches, rules=rules, now=START)
    assert len(planned.created) == 1  # no alert yet: it would insert one
    evaluate_cycle(runtime, now=START, judge=judge)  # another cycle inserts it first
    result = CycleResult(evaluations=[])
    with db.session(engine, write=True) as session:
        done = update_alerts(session, matches=matches, rules=rules, now=START + timedelta(hours=1), result=result,
                             planned=planned)
    # the row the other cycle inserted says what this match says (its content digest): held again
    assert done is not planned and not done.created and not done.refreshed and done.written == 1
    with db.session(engine) as session:
        (row,) = session.exec(select(AlertRow)).all()
    assert (row.state, row.updated_at) == (FIRING, START + timedelta(hours=1))


@pytest.mark.parametrize(("dialect", "slept"), [("sqlite", [0.25]), ("postgresql", [])])
def test_back_to_back_writes_leave_a_gap_as_long_as_each_held_the_lock(monkeypatch, dialect, slept):
    """db.paced: another process's writer polls SQLite's lock every few to 100 ms, so a run
    of chunk transactions pauses after each as long as it held it; not on PostgreSQL."""
    from types import SimpleNamespace

    clock, sleeps = iter([10.0, 10.25]), []
    monkeypatch.setattr(db.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(db.time, "sleep", sleeps.append)
    with db.paced(SimpleNamespace(dialect=SimpleNamespace(name=dialect))):  # type: ignore[arg-type]
        pass
    assert sleeps == slept


def test_a_verdicts_json_view_is_one_object_and_to_json_a_copy_of_it():
    """Alerts hold json_view's object (no copy per goal); callers of to_json may change theirs."""
    verdict = evaluation(Status.OFF_TRACK)
    view = verdict.json_view()
    assert verdict.json_view() is view and verdict.to_json() == view and verdict.to_json() is not view
    changed = verdict.to_json()
    changed["status"] = "on_track"
    assert verdict.json_view()["status"] == "off_track"
    later = at_instant(verdict, verdict.evaluated_at + timedelta(hours=1))  # the copy a later cycle hands out
    assert later.json_view() == later.to_json() == {**view, "evaluated_at": later.evaluated_at.isoformat()}
    assert verdict.json_view() is view


def test_an_edited_catalog_leaves_one_cache_file_of_each_kind(tmp_path: Path):
    folder, path, other = tmp_path / "cache", tmp_path / "goals.toml", tmp_path / "other.toml"
    text = CATALOG.read_text(encoding="utf-8")
    other.write_text(text, encoding="utf-8")
    cache.catalog(other, folder)  # another catalog's file stays
    (folder / f"{'a' * 40}.pickle").write_bytes(b"")  # an earlier version's, named by one hash: goes
    for title in ("one", "two", "three"):
        path.write_text(text.replace('title = "EV deliveries 2026"', f'title = "{title} EV"', 1), encoding="utf-8")
        assert cache.catalog(path, folder).goals[0].title.startswith(title)
        cache.metrics_view(path, folder)
    names = sorted(f.name for f in folder.iterdir())
    assert len(names) == 3 and sum(n.endswith(".catalog.pickle") for n in names) == 2
    assert cache.catalog(path, folder).goals[0].title.startswith("three")
    assert len({n.split("-")[0] for n in names}) == 2

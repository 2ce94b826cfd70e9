"""What an alert says lives in `alert_contents`, apart from its lifecycle row: migration 0010
moves it there and back, and a steady cycle rewrites only the narrow `alerts` rows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.migrating import migrate
from tracker.store import db
from tracker.store.dbtypes import utc_to_db

_EVALUATION = {"goal": "ev-deliveries-2026", "status": "off-track", "evaluated_at": "2026-07-05T00:00:00+00:00"}


def test_migration_0010_moves_what_alerts_say_and_back(database_url: str) -> None:
    engine = create_engine(database_url)
    at = utc_to_db(datetime(2026, 7, 5, tzinfo=timezone.utc), engine.dialect.name)
    migrate(engine, "0009")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO alerts (fingerprint, subject, rule, condition, severity, state, reason, updated_at,"
            " title, summary, labels, evaluation) VALUES ('f1', 'goal:ev-deliveries-2026', 'off-track', 'off-track',"
            " 'warning', 'firing', 'held', :at, 'EV deliveries', 'EV deliveries: off track', '{\"goal\": \"ev\"}',"
            " :evaluation)"), {"at": at, "evaluation": json.dumps(_EVALUATION)})
    migrate(engine, "0010")
    with engine.connect() as connection:
        assert {c["name"] for c in inspect(connection).get_columns("alerts")}.isdisjoint({"title", "summary", "evaluation"})
        (title, summary, evaluation), = connection.execute(text("SELECT title, summary, evaluation FROM alert_contents"
                                                                " WHERE fingerprint = 'f1'")).all()
        (state, labels), = connection.execute(text("SELECT state, labels FROM alerts")).all()
    assert (title, summary, state) == ("EV deliveries", "EV deliveries: off track", "firing")
    assert _json(evaluation) == _EVALUATION and _json(labels) == {"goal": "ev"}
    migrate(engine, "0009", down=True)
    with engine.connect() as connection:
        assert not inspect(connection).has_table("alert_contents")
        (title, summary, evaluation), = connection.execute(text("SELECT title, summary, evaluation FROM alerts")).all()
    assert (title, summary, _json(evaluation)) == ("EV deliveries", "EV deliveries: off track", _EVALUATION)
    engine.dispose()


def test_migration_0014_adds_the_content_digest_and_keeps_the_rows(database_url: str) -> None:
    engine = create_engine(database_url)
    at = utc_to_db(datetime(2026, 7, 5, tzinfo=timezone.utc), engine.dialect.name)
    migrate(engine, "0013")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO alerts (fingerprint, subject, rule, condition, severity, state, reason, updated_at, labels)"
            " VALUES ('f1', 'goal:g', 'off-track', 'off_track', 'warning', 'firing', 'held', :at, '{}')"), {"at": at})
    migrate(engine, "0014")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT fingerprint, state, content_digest FROM alerts")).all() == [
            ("f1", "firing", None)]  # a miss: the next cycle writes what it says, and the digest
    migrate(engine, "0013", down=True)
    with engine.connect() as connection:
        assert "content_digest" not in {c["name"] for c in inspect(connection).get_columns("alerts")}
        assert connection.execute(text("SELECT fingerprint, state FROM alerts")).all() == [("f1", "firing")]
    engine.dispose()


def _json(value):  # type: ignore[no-untyped-def]
    return json.loads(value) if isinstance(value, str) else value


def _count_writes(engine) -> None:  # type: ignore[no-untyped-def]
    """SQLite triggers that log every row written to `alerts` and `alert_contents`."""
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE written (tbl TEXT, fingerprint TEXT)"))
        for table in ("alerts", "alert_contents"):
            for event in ("INSERT", "UPDATE"):
                connection.execute(text(f"CREATE TRIGGER log_{table}_{event.lower()} AFTER {event} ON {table}"
                                        f" BEGIN INSERT INTO written VALUES ('{table}', new.fingerprint); END"))


def _writes(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with engine.begin() as connection:
        found = dict(connection.execute(text("SELECT tbl, count(*) FROM written GROUP BY tbl")).all())
        connection.execute(text("DELETE FROM written"))
    return found


def test_a_held_alert_moves_its_row_once_and_leaves_what_it_says(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A cycle writes what an alert says when it is created or its verdict changes; the
    next where it only held again writes its narrow row alone (the reason, the `held`
    mark), and after that a cycle where it holds again writes no row of it: its instants
    are read as alerts_held's."""
    from sqlalchemy import select

    from tests.alerting_helpers import make_runtime
    from tests.evalkit import local
    from tracker.alerting.cycle import evaluate_cycle
    from tracker.store import actuals as store
    from tracker.store.alert_tables import as_held

    engine = db.make_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    db.ensure_schema(engine)
    _count_writes(engine)
    runtime = make_runtime(engine)
    start = local("2026-04-03 09:00")

    def record(value: str, period: str) -> None:
        with db.session(engine, write=True) as session:
            store.record(session, catalog=runtime.catalog, metric="ev_deliveries", period=period, value=value,
                         now=start, force=True)

    def read() -> set[tuple]:
        with engine.connect() as connection:
            return set(connection.execute(select(*as_held("reason", "last_held_at", "updated_at"))).all())

    record("30000", "2026-01")
    first = evaluate_cycle(runtime, now=start)
    created = _writes(engine)
    held = first.pending + first.firing
    assert held > 0 and created == {"alerts": created["alerts"], "alert_contents": held}
    evaluate_cycle(runtime, now=start + timedelta(minutes=1))
    assert _writes(engine) == {"alerts": held}  # every held alert's narrow row, nothing it says
    for minutes in (2, 3):
        evaluate_cycle(runtime, now=start + timedelta(minutes=minutes))
        assert _writes(engine) == {}  # no alert row at all
        at = start + timedelta(minutes=minutes)
        assert read() == {("still firing", at, at)}  # as if each had been written
    record("31000", "2026-02")  # a new verdict for the EV goal: its alerts say something new
    evaluate_cycle(runtime, now=start + timedelta(minutes=4))
    with engine.connect() as connection:
        written = connection.execute(text("SELECT DISTINCT w.tbl, w.fingerprint, a.state FROM written w"
                                          " JOIN alerts a USING (fingerprint)")).all()
    said = {fp for table, fp, _ in written if table == "alert_contents"}
    moved = {(fp, state) for table, fp, state in written if table == "alerts" and fp not in said}
    # those alerts say something new; the rest that held again have no row written, and
    # what moved besides resolved (a stale-metric alert: the figure is in)
    assert said and {state for _, state in moved} <= {"resolved"} and len(said) + len(moved) < held
    engine.dispose()


def _three_cycles(path, monkeypatch, *, chunk: int, between=None):  # type: ignore[no-untyped-def]
    """A first cycle (alerts created), one where they hold, one after a new figure (the EV
    goal's refreshed); per cycle, the rows written before its own transaction and in it."""
    from tests.alerting_helpers import make_runtime
    from tests.evalkit import local
    from tracker.alerting import cycle
    from tracker.store import actuals as store

    start = local("2026-04-03 09:00")
    engine = db.make_engine(f"sqlite:///{path}")
    db.ensure_schema(engine)
    _count_writes(engine)
    runtime = make_runtime(engine)
    seen: list[dict[str, int]] = []
    real_update, real_chunk = cycle.update_alerts, cycle._write_chunk
    chunks: list[int] = []

    def counted(session, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(_writes(engine))  # what was written before the cycle's own transaction
        return real_update(session, **kwargs)

    def one_chunk(engine, plan, rows):  # type: ignore[no-untyped-def]
        written = real_chunk(engine, plan, rows)
        chunks.append(len(rows) if written else 0)
        if between is not None and len(chunks) == 1:
            between(engine)
        return written

    monkeypatch.setattr(cycle, "update_alerts", counted)
    monkeypatch.setattr(cycle, "_write_chunk", one_chunk)
    monkeypatch.setattr(cycle, "_AHEAD_CHUNK", chunk)
    for period, value, minutes in [("2026-01", "30000", 0), (None, None, 1), ("2026-02", "31000", 2)]:
        if period is not None:
            with db.session(engine, write=True) as session:
                store.record(session, catalog=runtime.catalog, metric="ev_deliveries", period=period, value=value,
                             now=start, force=True)
        cycle.evaluate_cycle(runtime, now=start + timedelta(minutes=minutes))
        seen.append(_writes(engine))  # what the cycle's own transaction wrote
    with engine.connect() as connection:
        found = connection.execute(text(
            "SELECT a.fingerprint, a.state, a.reason, a.active_since, a.starts_at, a.last_held_at, a.updated_at,"
            " c.title, c.summary, c.evaluation FROM alerts a JOIN alert_contents c USING (fingerprint)"
            " ORDER BY a.fingerprint")).all()
        version = connection.execute(text("SELECT value FROM store_meta WHERE key = 'alerts_version'")).scalar()
    engine.dispose()
    return seen, found, chunks, version


def test_a_large_plan_is_written_a_chunk_per_transaction_before_the_cycles_own(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """On SQLite a plan larger than a chunk goes in short transactions before the cycle's
    write, which then writes none of its rows; the rows left are those of one transaction."""
    ahead, rows, chunks, _ = _three_cycles(tmp_path / "ahead.db", monkeypatch, chunk=2)
    inside, same, whole, _ = _three_cycles(tmp_path / "inside.db", monkeypatch, chunk=10**6)
    assert rows == same and rows
    created = inside[1]["alert_contents"]
    assert created > 2 and chunks[: -(-created // 2)] == [2] * (created // 2) + [created % 2] * (created % 2)
    # per cycle, before / in its transaction: the first (created), the second (held), the third (refreshed)
    assert ahead[0] == {"alerts": created, "alert_contents": created} and ahead[1].keys() <= {"alerts"}
    assert "alert_contents" not in inside[0]
    # the second cycle: every alert only held again, their rows moved ahead too; what its
    # transaction still writes of them is the dispatch's (last_notified_at)
    assert ahead[2] == {"alerts": created} and "alert_contents" not in ahead[3]
    assert ahead[2]["alerts"] + ahead[3].get("alerts", 0) == inside[3]["alerts"]
    refreshed = inside[5]["alert_contents"]
    assert refreshed > 0 and ahead[4]["alert_contents"] == refreshed and "alert_contents" not in ahead[5]


def test_another_cycles_write_between_chunks_leaves_the_rest_to_a_new_plan(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Another cycle writing alerts between two chunks (alerts_version moves) stops the
    chunks: the cycle's transaction plans the rest from the rows, the first chunk's included."""
    def other_cycle(engine) -> None:  # type: ignore[no-untyped-def]
        with engine.begin() as connection:
            connection.execute(text("UPDATE store_meta SET value = CAST(value AS INTEGER) + 1"
                                    " WHERE key = 'alerts_version'"))

    ahead, rows, chunks, version = _three_cycles(tmp_path / "ahead.db", monkeypatch, chunk=2, between=other_cycle)
    _, same, _, plain = _three_cycles(tmp_path / "inside.db", monkeypatch, chunk=10**6)
    assert rows == same
    assert chunks[:2] == [2, 0] and ahead[0]["alerts"] == 2  # one chunk, then the rest in the cycle's transaction
    # the new plan remembers no match, but the first chunk's rows say what their matches say
    # (alerts.content_digest): it writes what the others say, and only theirs
    assert ahead[1]["alert_contents"] == len(rows) - 2


def test_a_cycle_with_no_memory_keeps_the_rows_that_say_what_its_matches_say(engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A restarted daemon (a new runtime over the same database) knows no match its rows
    were written from: by each row's content digest it keeps those that say what its
    matches say, writes those that do not (a new verdict), and those with no digest (rows
    written before migration 0014) once."""
    from sqlalchemy import select

    from tests.alerting_helpers import make_runtime
    from tests.evalkit import local
    from tracker.alerting import cycle
    from tracker.store import actuals as store
    from tracker.store.alert_tables import AlertContent, AlertRow, as_held

    plans: list = []
    real_update = cycle.update_alerts
    monkeypatch.setattr(cycle, "update_alerts", lambda session, **kw: plans.append(real_update(session, **kw)) or plans[-1])
    start, minutes = local("2026-04-03 09:00"), iter(range(100))

    def restarted():  # type: ignore[no-untyped-def]
        runtime = make_runtime(engine)
        cycle.evaluate_cycle(runtime, now=start + timedelta(minutes=next(minutes)))
        return plans[-1]

    def record(value: str, period: str) -> None:
        with db.session(engine, write=True) as session:
            store.record(session, catalog=make_runtime(engine).catalog, metric="ev_deliveries", period=period,
                         value=value, now=start, force=True)

    def said() -> set[tuple]:
        with engine.connect() as connection:
            rows = connection.execute(select(AlertContent.__table__)).all()
        return {(fp, title, summary, json.dumps(_json(evaluation), sort_keys=True)) for fp, title, summary, evaluation in rows}

    record("30000", "2026-01")
    runtime = make_runtime(engine)
    for _ in range(3):  # created; held again (its reason moves); held again (no row)
        cycle.evaluate_cycle(runtime, now=start + timedelta(minutes=next(minutes)))
    held, before = plans[-1].firing, said()
    assert held > 0 and plans[-1].written == 0
    plan = restarted()
    assert (plan.written, plan.created, plan.refreshed, plan.firing) == (0, [], [], held)
    assert said() == before
    with engine.connect() as connection:
        reasons = set(connection.execute(select(*as_held("reason"))).scalars())
    assert reasons == {"still firing"}
    with engine.begin() as connection:  # as migration 0014 leaves the rows
        connection.execute(AlertRow.__table__.update().values(content_digest=None))
    assert len(restarted().refreshed) == held and said() == before  # the same content, written once
    assert restarted().written == 0
    record("31000", "2026-02")  # new verdicts for the goals on EV deliveries: their alerts say something new
    plan = restarted()
    assert plan.refreshed and {r["fp"] for r in plan.refreshed} == {r[0] for r in said() - before}
    assert {r["evaluation"]["goal"] for r in plan.refreshed} == {"ev-deliveries-2025", "ev-deliveries-2026"}  # its goals
    assert restarted().written == 0


# Pairs of contents that differ in one part, or only in where one text is split between two
_DIFFERENT = [
    (("warning", "off_track", "T", "S", "{}", "{}"), ("critical", "off_track", "T", "S", "{}", "{}")),
    (("warning", "off_track", "T", "S", "{}", "{}"), ("warning", "off_track", "T", "S.", "{}", "{}")),
    (("warning", "off_track", "TS", "", "{}", "{}"), ("warning", "off_track", "T", "S", "{}", "{}")),
    (("warning", "off_track", "T", "S", '{"a": 1}', "{}"), ("warning", "off_track", "T", "S", "{}", '{"a": 1}')),
    (("warning", "off_track", "T", "1:S", "{}", "{}"), ("warning", "off_track", "T1:", "S", "{}", "{}")),
]


def test_content_digests_differ_for_any_difference_in_what_an_alert_says() -> None:
    from tracker.store.alert_tables import content_digest

    for one, other in _DIFFERENT:
        assert content_digest(*one) != content_digest(*other), (one, other)
        assert content_digest(*one) == content_digest(*one) and len(content_digest(*one)) == 32


# What an alert says, part by part: a match that differs in any of them is written again
_SAID_BY_A_MATCH = [("severity", "critical"), ("condition", "missed"), ("title", "EV deliveries 2027"),
                    ("summary", "EV deliveries: missed"), ("labels", {"business": "phones"}),
                    ("evaluation", {"goal": "ev-deliveries-2026", "status": "missed"})]


@pytest.mark.parametrize(("part", "other"), _SAID_BY_A_MATCH)
def test_a_matchs_digest_moves_with_each_part_of_what_it_says(part, other) -> None:
    from dataclasses import replace

    from tracker.alerting.cycle import _Texts
    from tracker.core.rules import Match

    match = Match(subject="goal:ev-deliveries-2026", rule="off-track", condition="off_track", severity="warning",
                  labels={"business": "ev"}, summary="EV deliveries: off track", why="below plan",
                  title="EV deliveries 2026", evaluation=dict(_EVALUATION))
    texts = _Texts()
    assert texts.digest(replace(match, why="another reason")) == texts.digest(match)  # not what the row says
    assert texts.digest(replace(match, **{part: other})) != texts.digest(match)

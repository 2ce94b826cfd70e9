"""What an alert says lives in `alert_contents`, apart from its lifecycle row: migration 0010
moves it there and back, and a steady cycle rewrites only the narrow `alerts` rows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

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
    # the new plan remembers no content: it writes every alert's again, the first chunk's too
    assert ahead[1]["alert_contents"] == len(rows)

"""What an alert says lives in `alert_contents`, apart from its lifecycle row: migration 0010
moves it there and back, and a steady cycle rewrites only the narrow `alerts` rows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, inspect, text

from tracker.store import db
from tracker.store.dbtypes import utc_to_db

_EVALUATION = {"goal": "ev-deliveries-2026", "status": "off-track", "evaluated_at": "2026-07-05T00:00:00+00:00"}


def _alembic(connection):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(db.migrations_path()))
    config.attributes["connection"] = connection
    return config


def _migrate(engine, revision: str, *, down: bool = False) -> None:  # type: ignore[no-untyped-def]
    from alembic import command

    with engine.begin() as connection:
        (command.downgrade if down else command.upgrade)(_alembic(connection), revision)


def test_migration_0010_moves_what_alerts_say_and_back(database_url: str) -> None:
    engine = create_engine(database_url)
    at = utc_to_db(datetime(2026, 7, 5, tzinfo=timezone.utc), engine.dialect.name)
    _migrate(engine, "0009")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO alerts (fingerprint, subject, rule, condition, severity, state, reason, updated_at,"
            " title, summary, labels, evaluation) VALUES ('f1', 'goal:ev-deliveries-2026', 'off-track', 'off-track',"
            " 'warning', 'firing', 'held', :at, 'EV deliveries', 'EV deliveries: off track', '{\"goal\": \"ev\"}',"
            " :evaluation)"), {"at": at, "evaluation": json.dumps(_EVALUATION)})
    _migrate(engine, "0010")
    with engine.connect() as connection:
        assert {c["name"] for c in inspect(connection).get_columns("alerts")}.isdisjoint({"title", "summary", "evaluation"})
        (title, summary, evaluation), = connection.execute(text("SELECT title, summary, evaluation FROM alert_contents"
                                                                " WHERE fingerprint = 'f1'")).all()
        (state, labels), = connection.execute(text("SELECT state, labels FROM alerts")).all()
    assert (title, summary, state) == ("EV deliveries", "EV deliveries: off track", "firing")
    assert _json(evaluation) == _EVALUATION and _json(labels) == {"goal": "ev"}
    _migrate(engine, "0009", down=True)
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


def test_a_held_alert_moves_its_row_and_leaves_what_it_says(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A cycle writes what an alert says when it is created or its verdict changes; a cycle
    where it only held again writes its narrow row alone."""
    from tests.alerting_helpers import make_runtime
    from tests.evalkit import local
    from tracker.alerting.cycle import evaluate_cycle
    from tracker.store import actuals as store

    engine = db.make_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    db.ensure_schema(engine)
    _count_writes(engine)
    runtime = make_runtime(engine)
    start = local("2026-04-03 09:00")

    def record(value: str, period: str) -> None:
        with db.session(engine, write=True) as session:
            store.record(session, catalog=runtime.catalog, metric="ev_deliveries", period=period, value=value,
                         now=start, force=True)

    record("30000", "2026-01")
    first = evaluate_cycle(runtime, now=start)
    created = _writes(engine)
    held = first.pending + first.firing
    assert held > 0 and created == {"alerts": created["alerts"], "alert_contents": held}
    evaluate_cycle(runtime, now=start + timedelta(minutes=1))
    assert _writes(engine) == {"alerts": held}  # every held alert's state moved, nothing it says
    record("31000", "2026-02")  # a new verdict for the EV goal: its alerts say something new
    evaluate_cycle(runtime, now=start + timedelta(minutes=2))
    again = _writes(engine)
    assert again["alerts"] >= held and 0 < again["alert_contents"] < again["alerts"]
    engine.dispose()


def test_what_alerts_say_is_written_before_the_cycles_own_transaction(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """On SQLite the contents of created and refreshed alerts go in short transactions of
    their own before the cycle's write, which then writes none of them; the rows read back
    are the ones a cycle writing everything in its transaction leaves."""
    from tests.alerting_helpers import make_runtime
    from tests.evalkit import local
    from tracker.alerting import cycle
    from tracker.store import actuals as store

    start = local("2026-04-03 09:00")

    def run(folder: str, ahead: bool):  # type: ignore[no-untyped-def]
        engine = db.make_engine(f"sqlite:///{tmp_path / folder}.db")
        db.ensure_schema(engine)
        _count_writes(engine)
        runtime = make_runtime(engine)
        seen: list[dict[str, int]] = []
        real = cycle.update_alerts

        def counted(session, **kwargs):  # type: ignore[no-untyped-def]
            seen.append(_writes(engine))  # what was written before the cycle's own transaction
            return real(session, **kwargs)

        monkeypatch.setattr(cycle, "update_alerts", counted)
        monkeypatch.setattr(cycle, "_AHEAD_CHUNK", 2)
        if not ahead:
            monkeypatch.setattr(cycle, "_write_contents_ahead", lambda engine, plan: None)
        for period, value, minutes in [("2026-01", "30000", 0), (None, None, 1), ("2026-02", "31000", 2)]:
            if period is not None:
                with db.session(engine, write=True) as session:
                    store.record(session, catalog=runtime.catalog, metric="ev_deliveries", period=period, value=value,
                                 now=start, force=True)
            cycle.evaluate_cycle(runtime, now=start + timedelta(minutes=minutes))
            seen.append(_writes(engine))  # what the cycle's own transaction wrote
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT a.fingerprint, a.state, a.reason, c.title, c.summary, c.evaluation"
                                           " FROM alerts a JOIN alert_contents c USING (fingerprint)"
                                           " ORDER BY a.fingerprint")).all()
        engine.dispose()
        return seen, rows

    ahead, rows = run("ahead", True)
    inside, same = run("inside", False)
    assert rows == same and rows
    # before / during: the first cycle (created), the second (held), the third (refreshed)
    assert ahead[0].get("alert_contents", 0) == inside[1]["alert_contents"] > 2  # more than one short transaction
    assert "alert_contents" not in ahead[1] and "alert_contents" not in inside[0]
    assert not ahead[2] and not ahead[3].get("alert_contents")
    assert ahead[4].get("alert_contents", 0) == inside[5]["alert_contents"] > 0
    assert "alert_contents" not in ahead[5]

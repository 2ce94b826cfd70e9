"""An alert the last cycle held is read as held then (alerts.held, alerts_held.at), so a
steady cycle writes no row per held alert: the instants every reader sees are the ones each
row would hold had it been rewritten, when an alert stops holding, when a cycle runs as of
an earlier time, and across migration 0012 both ways."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, inspect, select, text

from tests.alerting_helpers import StubJudge, evaluation, make_runtime
from tests.migrating import migrate
from tracker.alerting.cycle import evaluate_cycle
from tracker.core.verdict import Status
from tracker.store.alert_tables import AlertRow, as_held
from tracker.store.dbtypes import utc_to_db

T0 = datetime(2026, 7, 5, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def _at(hours: float | None) -> datetime | None:
    return None if hours is None else T0 + hours * HOUR


# (held, stored instant, alerts_held.at: hours after T0) -> what a reader sees
READS = [
    (False, 1, 2, 1),  # not held by the last cycle: its own
    (True, 1, 2, 2),  # held: the last cycle's
    (True, 2, 1, 2),  # written ahead of its cycle's transaction (SQLite chunks): its own, later
    (True, 1, None, 1),  # no cycle has moved alerts_held yet
    (True, 1, 1, 1),  # held, and stored at that very instant
]


@pytest.mark.parametrize(("held", "stored", "at", "seen"), READS)
def test_a_reader_sees_the_last_cycles_instant_for_a_held_alert(engine, held, stored, at, seen) -> None:
    dialect = engine.dialect.name
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO alerts (fingerprint, subject, rule, condition, severity, state, reason, last_held_at,"
            " updated_at, held, labels) VALUES ('f1', 'goal:g', 'off-track', 'off_track', 'warning', 'firing',"
            " 'still firing', :stored, :stored, :held, '{}')"), {"stored": utc_to_db(_at(stored), dialect), "held": held})
        if at is not None:
            connection.execute(text("UPDATE alerts_held SET at = :at WHERE id = 1"), {"at": utc_to_db(_at(at), dialect)})
        read = connection.execute(select(*as_held("last_held_at", "updated_at", "state"))).one()
    assert tuple(read) == (_at(seen), _at(seen), "firing")


def _cycle(runtime, status: Status, hours: float):  # type: ignore[no-untyped-def]
    return evaluate_cycle(runtime, now=T0 + hours * HOUR, judge=StubJudge(evaluation(status)))


def _alert(engine) -> tuple:  # type: ignore[no-untyped-def]
    """The off-track alert: (state, last_held_at as read, as stored, its `held` mark)."""
    table = AlertRow.__table__
    with engine.connect() as connection:
        read = connection.execute(select(*as_held("state", "last_held_at")).where(table.c.rule == "off-track")).one()
        raw = connection.execute(select(table.c.last_held_at, table.c.held).where(table.c.rule == "off-track")).one()
    return (*read, *raw)


def test_an_alert_kept_firing_keeps_the_instant_it_last_held(engine) -> None:
    """The condition clears but keep_firing_for keeps the alert firing: nothing else of its
    row moves, yet it must stop following alerts_held.at, or it would seem to hold still,
    and would never resolve."""
    runtime = make_runtime(engine)
    _cycle(runtime, Status.OFF_TRACK, 0)
    _cycle(runtime, Status.OFF_TRACK, 1)
    assert _alert(engine)[:2] == ("firing", _at(1))
    _cycle(runtime, Status.ON_TRACK, 2)
    _cycle(runtime, Status.ON_TRACK, 3)
    assert _alert(engine) == ("firing", _at(1), _at(1), False)  # released: its own instant, stored
    assert _cycle(runtime, Status.ON_TRACK, 49).resolved == 1  # keep_firing_for (24h) from hour 1
    assert _alert(engine)[:2] == ("resolved", _at(1))


def test_a_cycle_as_of_an_earlier_time_writes_the_instants_out(engine) -> None:
    """`tracker evaluate --at` before the daemon's last cycle: alerts_held.at goes back,
    so every alert it holds gets its instant stored and loses the mark, and the next cycle
    marks them again."""
    runtime = make_runtime(engine)
    for hours in (0, 2, 3):
        _cycle(runtime, Status.OFF_TRACK, hours)
    assert _alert(engine)[1:] == (_at(3), _at(3), True)
    _cycle(runtime, Status.OFF_TRACK, 1)
    assert _alert(engine) == ("firing", _at(1), _at(1), False)
    _cycle(runtime, Status.OFF_TRACK, 4)
    assert _alert(engine) == ("firing", _at(4), _at(4), True)


def test_migration_0012_marks_nothing_and_writes_the_instants_back(database_url: str) -> None:
    engine = create_engine(database_url)
    dialect = engine.dialect.name
    migrate(engine, "0011")
    with engine.begin() as connection:
        for fp in ("f1", "f2"):
            connection.execute(text(
                "INSERT INTO alerts (fingerprint, subject, rule, condition, severity, state, reason, last_held_at,"
                " updated_at, labels) VALUES (:fp, 'goal:g', 'off-track', 'off_track', 'warning', 'firing', 'held',"
                " :at, :at, '{}')"), {"fp": fp, "at": utc_to_db(_at(1), dialect)})
    migrate(engine, "0012")
    with engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM alerts WHERE held")).scalar() == 0
        assert connection.execute(select(*as_held("last_held_at")).distinct()).scalars().all() == [_at(1)]
        # a cycle at hour 2 held f1 and marked it
        connection.execute(text("UPDATE alerts SET held = :held WHERE fingerprint = 'f1'"), {"held": True})
        assert connection.execute(text("SELECT id, at FROM alerts_held")).all() == [(1, None)]
        connection.execute(text("UPDATE alerts_held SET at = :at WHERE id = 1"), {"at": utc_to_db(_at(2), dialect)})
    migrate(engine, "0011", down=True)
    with engine.connect() as connection:
        found = dict(connection.execute(text("SELECT fingerprint, last_held_at FROM alerts")).all())
        assert "held" not in {c["name"] for c in inspect(connection).get_columns("alerts")}
    assert {fp: _instant(at) for fp, at in found.items()} == {"f1": _at(2), "f2": _at(1)}
    engine.dispose()


def _instant(value) -> datetime:  # type: ignore[no-untyped-def]
    """A stored instant as SQLite (UTC text) or PostgreSQL (timestamptz) gives it back."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)

"""Replicas on PostgreSQL: three real `tracker run` processes on one database. One leads,
evaluates and dispatches groups; all deliver. The leader is SIGKILLed in the middle of a
cycle (held there by a table lock the test takes); another takes over within the lease TTL,
and the receiver gets every group notification once: one per change of the group, none
twice. Plus the fence, in-process: a cycle run under a lost lease writes nothing."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import create_engine, text

from tests import polling
from tests.conftest import NOW, table_dump
from tests.replica_helpers import OFF, ON, Receiver, catalog_text, daemon_env, free_port, record
from tests.test_daemon_e2e import DaemonProcess

GOALS = 3
TTL = 3.0
wait_for = partial(polling.wait_for, deadline=20.0)


def leaders(replicas: list[DaemonProcess]) -> list[DaemonProcess]:
    return [r for r in replicas if r.process.poll() is None and r.value("tracker_leader") == 1]


def the_leader(replicas: list[DaemonProcess]) -> DaemonProcess | None:
    found = leaders(replicas)
    return found[0] if len(found) == 1 else None


def waiting_on_alerts(url: str) -> bool:
    """Whether some backend (the leader's cycle) waits for a lock on the alerts table."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            query = "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation " \
                    "WHERE NOT l.granted AND c.relname = 'alerts'"
            return connection.execute(text(query)).scalar() > 0
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_three_replicas_one_leader_killed_mid_cycle_every_notification_once(postgres_url, tmp_path):
    from tracker.store.db import ensure_schema, make_engine

    catalog = tmp_path / "goals.toml"
    catalog.write_text(catalog_text(GOALS))
    engine = make_engine(postgres_url)
    ensure_schema(engine)  # migrated once, before the replicas start
    engine.dispose()
    metrics = [f"m{i}" for i in range(GOALS)]
    record(postgres_url, catalog, {"one": "100", **dict.fromkeys(metrics, ON)})
    sent: dict[str, int] = {"alert.firing": 0, "alert.resolved": 0}

    def flip(value: str) -> None:  # the goals change together: one group notification
        record(postgres_url, catalog, dict.fromkeys(metrics, value))
        sent["alert.firing" if value == OFF else "alert.resolved"] += 1

    def all_received(receiver: Receiver) -> bool:
        got = receiver.snapshot()
        return all(sum(1 for _, kind, _ in got if kind == event) == n for event, n in sent.items())

    with Receiver() as receiver:
        settings = dict(webhook_url=receiver.url, evaluate__interval_seconds="0.5", deliver__interval_seconds="0.2",
                        leadership__ttl_seconds=str(TTL))
        replicas = []
        for index in range(3):
            port = free_port()
            env = daemon_env(postgres_url, catalog, port, **settings)
            replicas.append(DaemonProcess(env, tmp_path / f"replica{index}.log", port))
        try:
            leader = wait_for(lambda: the_leader(replicas), "one leader among three replicas")
            for value in (OFF, ON):  # two cycles' worth of changes, all delivered
                flip(value)
                wait_for(lambda: all_received(receiver), f"notifications after flipping to {value}")

            # Hold the leader inside its next cycle's transaction, then kill it there.
            blocker = create_engine(postgres_url).connect()
            try:
                blocker.execute(text("LOCK TABLE alerts IN EXCLUSIVE MODE"))
                flip(OFF)
                wait_for(lambda: waiting_on_alerts(postgres_url), "the leader's cycle blocked mid-transaction")
                leader.process.kill()
                leader.process.wait(timeout=5)
                killed = time.monotonic()
            finally:
                blocker.rollback()
                blocker.close()
            survivors = [r for r in replicas if r is not leader]
            successor = wait_for(lambda: the_leader(survivors), "a new leader", deadline=TTL + 5)
            took = time.monotonic() - killed
            assert took < TTL + 1.5, f"the new leader took {took:.1f} s (lease TTL {TTL} s)"
            wait_for(lambda: all_received(receiver), "the firing notifications from the new leader")
            flip(ON)
            wait_for(lambda: all_received(receiver), "the resolved notifications")
        finally:
            codes = [r.stop() for r in replicas if r.process.poll() is None]
    assert codes == [0, 0]

    got = receiver.snapshot()
    ids = [webhook_id for webhook_id, _, _ in got]
    assert len(ids) == len(set(ids)), "a webhook-id arrived twice"
    outbox = {row[0]: row[1] for row in _outbox(postgres_url)}
    assert set(outbox) == set(ids) and set(outbox.values()) == {"sent"}
    assert [kind for _, kind, _ in got] == ["alert.firing", "alert.resolved"] * 2
    for _, kind, alerts in got:  # every goal in each notification of the one group
        state = "firing" if kind == "alert.firing" else "resolved"
        assert sorted(alerts) == [(f"g{i}", state) for i in range(GOALS)]
    assert successor is not leader
    assert "leadership released" in successor.log.read_text()


def _outbox(url: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text("SELECT webhook_id, state FROM outbox ORDER BY id")))
    finally:
        engine.dispose()


@pytest.fixture
def runtime_on(database_url, tmp_path):
    """A Runtime on the test database with the flipping catalog; its clock is settable."""
    from tracker.catalog.settings import Settings
    from tracker.store.runtime import Runtime

    catalog = tmp_path / "goals.toml"
    catalog.write_text(catalog_text(2))
    clock = {"now": NOW}
    runtime = Runtime(Settings(database_url=database_url, config=catalog), clock=lambda: clock["now"])
    runtime.engine  # migrates the new database
    record(database_url, catalog, {"one": "100", "m0": OFF, "m1": OFF}, now=NOW)
    yield runtime, clock
    runtime.engine.dispose()


@pytest.mark.parametrize(
    ("fenced_as", "lost"),
    [("old", True), ("new", False)],
    ids=["superseded-leader-writes-nothing", "current-leader-writes"],
)
def test_a_cycle_under_a_lost_lease_is_rolled_back(runtime_on, database_url, fenced_as, lost):
    from tracker.alerting.cycle import evaluate_cycle
    from tracker.store import db, leadership
    from tracker.store.leadership import EVALUATOR, Fence, LeaseLost

    runtime, clock = runtime_on
    ttl = timedelta(seconds=3)
    with db.session(runtime.engine, write=True) as session:
        old = leadership.acquire(session, name=EVALUATOR, holder="old", ttl=ttl, now=NOW)
    # The old leader pauses past its TTL; the new one takes the lease meanwhile.
    with db.session(runtime.engine, write=True) as session:
        new = leadership.acquire(session, name=EVALUATOR, holder="new", ttl=ttl, now=NOW + timedelta(seconds=4))
    assert (old, new) == (1, 2)
    clock["now"] = NOW + timedelta(seconds=5)
    fence = Fence(EVALUATOR, fenced_as, old if fenced_as == "old" else new)
    before = {table: table_dump(database_url, table) for table in ("alerts", "outbox", "notify_log")}
    if lost:
        with pytest.raises(LeaseLost, match="term 1 is no longer held by old"):
            evaluate_cycle(runtime, now=NOW, fence=fence)
        assert {table: table_dump(database_url, table) for table in before} == before
    else:
        result = evaluate_cycle(runtime, now=NOW, fence=fence)
        assert result.firing == 2 and len(table_dump(database_url, "alerts")) == 2

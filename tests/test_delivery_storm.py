"""Delivery under crashes, replicas and shutdown, with real `tracker` processes on loopback.

- A kill storm: SIGKILL at seeded random moments, 20 times, over 200 notifications, for
  `tracker deliver` and for `tracker run`. Every notification arrives; an id arrives more
  than once only if it was in flight (claimed, outcome not recorded) at a kill, and no more
  often than the kills that caught it in flight.
- Two replicas on PostgreSQL with a receiver that takes 1 s: no webhook-id twice.
- SIGTERM during a slow delivery: exit 0 within the drain bound, nothing lost.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter
from datetime import datetime, timezone

import pytest

from tests.counting_receiver import (CountingReceiver, claimed, queue, states, tracker_command, tracker_env,
                                     webhook_ids)
from tests.polling import wait_for

pytestmark = pytest.mark.slow
KILLS, NOTIFICATIONS = 20, 200


@pytest.fixture
def store(sqlite_url):  # type: ignore[no-untyped-def]
    from tracker.store.db import ensure_schema, make_engine

    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


def _storm(command: tuple[str, ...], env: dict[str, str], engine, receiver: CountingReceiver,  # type: ignore[no-untyped-def]
           ours: set[str]) -> dict[int, int]:
    """Starts `command` and SIGKILLs it, KILLS times; returns, per row, the kills that caught
    it in flight."""
    rng = random.Random(12)
    caught: Counter[int] = Counter()
    seen: set[tuple[int, str]] = set()
    for _ in range(KILLS):
        before = receiver.received
        worker = subprocess.Popen(tracker_command(*command), env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        def sending() -> bool:  # or done: exited (deliver), or nothing of ours left to send (run)
            return receiver.received > before or worker.poll() is not None or ours <= set(receiver.accepted)

        try:
            wait_for(sending, "the worker to send", 60)
            time.sleep(rng.uniform(0.0, 0.3))  # the kill's moment: seeded, random on purpose
        finally:
            worker.kill()  # also when the wait failed: no daemon outlives the test
            worker.wait(10)
        held = claimed(engine) - seen  # claims this process made and never recorded
        seen |= held
        caught.update(row for row, _ in held)
    return caught


@pytest.mark.parametrize("command", [("deliver",), ("run",)], ids=["deliver", "run"])
def test_kill_storm_delivers_everything_with_duplicates_only_for_requests_in_flight(
        command, store, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    receiver = CountingReceiver(delay=0.05)  # each process lives through a few dozen sends
    try:
        ours = set(queue(store, NOTIFICATIONS))
        env = tracker_env(sqlite_url, TRACKER_WEBHOOK_URL=receiver.url, TRACKER_DELIVER__TIMEOUT_SECONDS="1",
                          TRACKER_DELIVER__INTERVAL_SECONDS="0.2", TRACKER_EVALUATE__INTERVAL_SECONDS="3600")
        caught = _storm(command, env, store, receiver, ours)

        def everything_arrived() -> bool:
            if not ours <= set(receiver.accepted):
                subprocess.run(tracker_command("deliver"), env=env, capture_output=True, timeout=120)
            return ours <= set(receiver.accepted)

        wait_for(everything_arrived, "every notification delivered", deadline=180, interval=0.5)
        ids = webhook_ids(store)
        extra = {ids[row]: receiver.accepted[ids[row]] - 1 for row in ids if ids[row] in ours}
        duplicates = sum(extra.values())
        print(f"\n{command[0]}: {sum(receiver.accepted[i] for i in ours)} deliveries of {NOTIFICATIONS}, "
              f"{duplicates} duplicates, {sum(caught.values())} requests in flight over {KILLS} kills "
              f"(at most {max(caught.values(), default=0)} per row)")
        for row, webhook_id in ids.items():
            if webhook_id in ours:
                assert extra[webhook_id] <= caught[row], f"{webhook_id} sent {extra[webhook_id] + 1} times"
        assert duplicates <= sum(caught.values())
    finally:
        receiver.close()


@pytest.mark.postgres
def test_two_replicas_on_postgresql_never_send_one_id_twice(postgres_url: str) -> None:
    from tracker.store.db import ensure_schema, make_engine

    engine = make_engine(postgres_url)
    ensure_schema(engine)
    receiver = CountingReceiver(delay=1.0)
    replicas: list[subprocess.Popen] = []
    try:
        ours = set(queue(engine, 300))
        env = tracker_env(postgres_url, TRACKER_WEBHOOK_URL=receiver.url, TRACKER_DELIVER__INTERVAL_SECONDS="0.5",
                          TRACKER_DELIVER__CONCURRENCY="16", TRACKER_DELIVER__TIMEOUT_SECONDS="3",
                          TRACKER_EVALUATE__INTERVAL_SECONDS="3600")
        replicas = [subprocess.Popen(tracker_command("run"), env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE) for _ in range(2)]
        wait_for(lambda: ours <= set(receiver.accepted), "300 notifications delivered", deadline=180, interval=0.2)
        for replica in replicas:
            replica.send_signal(signal.SIGTERM)
        codes = [replica.wait(60) for replica in replicas]
        assert codes == [0, 0], [replica.stderr.read().decode(errors="replace")[-3000:] for replica in replicas]
        twice = {i: n for i, n in receiver.accepted.items() if i in ours and n > 1}
        assert twice == {}
    finally:
        for replica in replicas:
            if replica.poll() is None:
                replica.kill()
                replica.wait(10)
        receiver.close()
        engine.dispose()


def _run_until_in_hand(env: dict[str, str], receiver: CountingReceiver, count: int) -> subprocess.Popen:
    daemon = subprocess.Popen(tracker_command("run"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for(lambda: receiver.in_hand >= count or daemon.poll() is not None, f"{count} requests in flight", 60)
    assert daemon.poll() is None
    return daemon


def test_sigterm_during_a_slow_delivery_finishes_what_is_in_flight_and_exits_0(store, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    receiver = CountingReceiver(delay=3.0)
    try:
        ours = set(queue(store, 12))
        env = tracker_env(sqlite_url, TRACKER_WEBHOOK_URL=receiver.url, TRACKER_DELIVER__DRAIN_SECONDS="10",
                          TRACKER_DELIVER__TIMEOUT_SECONDS="10", TRACKER_EVALUATE__INTERVAL_SECONDS="3600")
        daemon = _run_until_in_hand(env, receiver, 4)
        signalled = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0, daemon.stderr.read().decode()[-2000:]
        assert time.monotonic() - signalled < 10
        # the four in flight finished and nothing new was claimed (the daemon's own start-up
        # evaluation may have queued notifications of its own beside ours: count them all)
        assert sum(receiver.accepted.values()) == 4 and receiver.in_hand == 0
        assert claimed(store) == set()
        done = states(store, ours)
        assert done.get("sent", 0) + done.get("queued", 0) == 12 and done.get("sent", 0) <= 4
        receiver.delay = 0.0
        subprocess.run(tracker_command("deliver"), env=env, capture_output=True, timeout=60, check=True)
        assert ours <= set(receiver.accepted) and max(receiver.accepted[i] for i in ours) == 1
    finally:
        receiver.close()


def test_sigterm_with_a_hanging_receiver_gives_rows_back_when_the_drain_runs_out(store, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from tracker.store import db
    from tracker.store.alert_tables import OutboxRow

    receiver = CountingReceiver(delay=120.0)
    try:
        ours = set(queue(store, 6))
        env = tracker_env(sqlite_url, TRACKER_WEBHOOK_URL=receiver.url, TRACKER_DELIVER__DRAIN_SECONDS="2",
                          TRACKER_DELIVER__TIMEOUT_SECONDS="60", TRACKER_EVALUATE__INTERVAL_SECONDS="3600")
        daemon = _run_until_in_hand(env, receiver, 4)
        signalled = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0, daemon.stderr.read().decode()[-2000:]
        assert time.monotonic() - signalled < 2 + 4  # the drain, and the process's own exit
        assert claimed(store) == set()
        with db.session(store) as session:
            rows = session.execute(select(OutboxRow).where(OutboxRow.webhook_id.in_(ours))).scalars().all()
        now = datetime.now(timezone.utc)
        assert {(r.state, r.attempts) for r in rows} == {("queued", 0)} and all(r.next_attempt_at <= now for r in rows)
    finally:
        receiver.close()

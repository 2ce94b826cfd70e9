"""Receivers that hang, drip, answer 1 GiB, redirect or ask for a pause of three billion
years: each attempt ends by its deadline, none of them raises out of the channel, and a
healthy receiver beside them is delivered at once; `tracker deliver` stays small."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from tests.alerting_helpers import make_runtime
from tests.conftest import ROOT
from tests.hostile_receivers import HostileReceivers, catalog_with_receivers
from tracker.catalog.model import load_catalog
from tracker.delivery import deliver_pass, outbox
from tracker.delivery.schedule import MAX_RETRY_AFTER, parse_retry_after
from tracker.store import db
from tracker.store.alert_tables import OutboxRow

pytestmark = pytest.mark.slow
NOW = datetime(2026, 7, 5, tzinfo=timezone.utc)
DEADLINE = 2.0


@pytest.fixture
def hostile():  # type: ignore[no-untyped-def]
    receivers = HostileReceivers()
    yield receivers
    receivers.close()


def _queue(engine, names: dict[str, int], at: datetime) -> None:  # type: ignore[no-untyped-def]
    with db.session(engine, write=True) as session:
        for name, count in names.items():
            for n in range(count):
                outbox.enqueue(session, receiver=name.replace("_", "-"), fingerprint=f"{name}{n}", subject=f"goal:{name}",
                               event="alert.firing", reason="first notification", body=b'{"n":1}', now=at)


def _rows(engine) -> dict[str, list[OutboxRow]]:  # type: ignore[no-untyped-def]
    found: dict[str, list[OutboxRow]] = {}
    with db.session(engine) as session:
        for row in session.execute(select(OutboxRow)).scalars():
            found.setdefault(row.receiver, []).append(row)
    return found


def test_each_hostile_receiver_ends_by_its_deadline_and_the_healthy_one_is_not_held_up(
        engine, hostile, tmp_path) -> None:  # type: ignore[no-untyped-def]
    catalog = load_catalog(catalog_with_receivers(tmp_path, hostile.urls, timeout=DEADLINE))
    runtime = make_runtime(engine, catalog=catalog)
    counts = {"hang": 3, "drip": 3, "huge": 2, "redirect": 2, "retry_after": 2, "healthy": 20}
    _queue(engine, counts, NOW)
    started = time.monotonic()
    result = deliver_pass(runtime, now=NOW, rng=lambda: 0.5)
    elapsed = time.monotonic() - started
    # hang and drip: 3 rows, 4 in flight per receiver, so one deadline each, side by side
    assert elapsed < DEADLINE + 3.0, f"the pass took {elapsed:.1f} s"
    healthy = hostile.arrivals["healthy"]
    assert len(healthy) == 20 and max(at for _, at in healthy) - started < 2.0
    assert result.receivers["healthy"].sent == 20 and result.receivers["huge"].sent == 2
    rows = _rows(engine)
    for name in ("hang", "drip"):
        assert {(r.state, r.attempts, r.last_error) for r in rows[name]} == {
            ("queued", 1, f"ReadTimeout: no complete answer within {DEADLINE:g} s")}
    assert {(r.state, r.last_status) for r in rows["redirect"]} == {("queued", 302)}
    assert hostile.requests.get("redirect") == 2  # the redirect was not followed
    paused = rows["retry-after"]
    assert {(r.state, r.last_status, r.last_error) for r in paused} == {("queued", 429, "HTTP 429")}
    assert all(NOW + MAX_RETRY_AFTER <= r.next_attempt_at < NOW + MAX_RETRY_AFTER + timedelta(minutes=1)
               for r in paused)


@pytest.mark.parametrize("value", [
    "99999999999999999", "9" * 5000, "1e309", "-5", "NaN", "\u00b2", "Fri, 31 Dec 99999 23:59:59 GMT",
    "Mon, 01 Jan 0001 00:00:00 GMT", "Wed, 21 Oct 2015 07:28:00", "\x00\xff", " 30 ", "",
])
def test_retry_after_never_raises_and_never_exceeds_a_day(value: str) -> None:
    parsed = parse_retry_after(value, NOW)
    assert parsed is None or timedelta(0) <= parsed <= MAX_RETRY_AFTER


def test_retry_after_as_seconds_or_date_is_capped() -> None:
    assert parse_retry_after("99999999999999999", NOW) == MAX_RETRY_AFTER
    assert parse_retry_after("120", NOW) == timedelta(seconds=120)
    assert parse_retry_after("Sun, 05 Jul 2026 00:01:00 GMT", NOW) == timedelta(minutes=1)
    assert parse_retry_after("Sat, 01 Aug 2026 00:00:00 GMT", NOW) == MAX_RETRY_AFTER


def test_tracker_deliver_stays_under_150_mb_against_a_1_gib_answer(hostile, tmp_path, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    from tracker.store.db import ensure_schema, make_engine

    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    _queue(engine, {"huge": 4, "drip": 1, "healthy": 5}, datetime.now(timezone.utc) - timedelta(minutes=1))
    catalog = catalog_with_receivers(tmp_path, {k: hostile.urls[k] for k in ("huge", "drip", "healthy")},
                                     timeout=DEADLINE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(TRACKER_DATABASE_URL=sqlite_url, TRACKER_CONFIG=str(catalog), PYTHONPATH=str(ROOT),
               TRACKER_LOG_FORMAT="json")
    # A wrapper whose only child is `tracker deliver`, so RUSAGE_CHILDREN is that child's peak.
    wrapper = ("import resource, subprocess, sys; "
               "code = subprocess.run([sys.executable, '-m', 'tracker', 'deliver'], capture_output=True).returncode; "
               "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", wrapper], env=env, capture_output=True, text=True, timeout=120)
    code, peak_kib = (int(part) for part in done.stdout.split())
    assert code == 0, done.stderr
    assert peak_kib < 150 * 1024, f"peak RSS {peak_kib / 1024:.0f} MB"
    rows = _rows(engine)
    assert {r.state for r in rows["huge"] + rows["healthy"]} == {"sent"}
    engine.dispose()

"""Evaluation benchmark: the full cycle the daemon runs (judge every goal, step and write the
alerts, dispatch) over N goals and 100*N actuals, first and steady, against one SQL query
that aggregates the same actuals (the floor), with the process's peak RSS and the longest
time a concurrent writer (another process inserting an actual, as `tracker record` does)
waited for its write transaction.

    python3 bench/evaluate_bench.py                     # 1,000 and 10,000 goals on SQLite
    python3 bench/evaluate_bench.py 100000              # one size (100k: ~10 min to build)
    python3 bench/evaluate_bench.py 10000 --postgres    # on TRACKER_TEST_POSTGRES_URL's server
    python3 bench/evaluate_bench.py 1000 --rounds 5

Synthetic catalog: one monthly metric per goal, 100 months each (2018-05 .. 2026-08), every
goal's window (2018..2026) covers all of its metric's actuals; kinds are mixed (cumulative,
ratio of two metrics, level, threshold). Each size runs in its own process (peak RSS is per
process; it is also given as it stood before the restart, whose runtime runs beside the
first one's, so that its verdicts and alerts are held twice). First cycle: nothing
remembered (no forecast, no verdict, an empty verdicts table). After a restart: a new
runtime's first cycle after the steady ones (nothing in memory; the verdicts the earlier
cycles stored in the database). Steady: the next cycles, a few minutes later, with the same
actuals; floor and steady cycle are measured in interleaved rounds (medians, and the spread
min..max). The writer inserts a row for a metric outside the catalog every 20 ms throughout
the cycles, in its own process, and reports its longest BEGIN IMMEDIATE .. COMMIT; each
steady cycle reports how many alert rows it wrote (none when every alert only held again:
tracker.store.alert_tables.as_held), and so does the restart's (none when each row's content
digest says what its match says: alerts.content_digest); each cycle reports how long its own
write transaction held the database (CycleResult.write_seconds), the first, the longest
steady one and the restart's. After the steady cycles, one full garbage collection is timed: what the daemon
would pay after each cycle if it collected after every one, not only after those that built
verdicts or queued a notification. On SQLite a plan of more than 5,000 alert rows is written
in chunks of their own before that transaction (tracker.alerting.cycle._write_ahead): only
the writer's wait sees those.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 9, 15, tzinfo=UTC)
MONTHS = [(2018 + (4 + k) // 12, (4 + k) % 12 + 1) for k in range(100)]
SOURCE = {"document": "synthetic", "publisher": "bench", "published": "2026-01-01", "quote": "illustrative"}
_COLUMNS = ("metric, period, period_start, period_end, value, recorded_at, revision, is_current, value_whole,"
            " value_nanos")


def build_catalog(goals: int):  # type: ignore[no-untyped-def]
    from tracker.catalog.model import parse_catalog

    return parse_catalog(catalog_data(goals))


def catalog_data(goals: int) -> dict:
    metrics, entries = {}, []
    for i in range(goals):
        name = f"m{i:05d}"
        aggregation = "last" if i % 10 == 7 else "sum"
        metrics[name] = {"title": name, "unit": "u", "granularity": "month", "aggregation": aggregation, "grace": "10d"}
        goal = {"id": f"g{i:05d}", "title": f"Goal {i}", "period": "2018..2026", "source": SOURCE}
        if i % 10 in (1, 2):  # ratio of this metric over the next one
            goal |= {"kind": "ratio", "numerator": name, "denominator": f"m{(i + 1) % goals:05d}", "target": "0.9"}
        elif i % 10 == 7:
            goal |= {"kind": "level", "metric": name, "baseline": "100", "target": "900"}
        elif i % 10 == 9:
            goal |= {"kind": "threshold", "metric": name, "target": "40000000", "comparison": "at_most"}
        else:
            goal |= {"kind": "cumulative", "metric": name, "target": "50000000"}
        entries.append(goal)
    return {"metrics": metrics, "goals": entries}


def rows_of(first: int, last: int, rnd: random.Random, postgres: bool):  # type: ignore[no-untyped-def]
    from tracker.store.dbtypes import value_parts

    recorded = datetime(2026, 9, 1, tzinfo=UTC)
    for i in range(first, last):
        for year, month in MONTHS:
            value = f"{rnd.randint(0, 999999)}.{rnd.randint(0, 99):02d}" if i % 2 else str(rnd.randint(0, 999999))
            start = datetime(year, month, 1, tzinfo=UTC)
            end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
            if postgres:
                yield (f"m{i:05d}", f"{year}-{month:02d}", start, end, Decimal(value), recorded, 1, True,
                       *value_parts(Decimal(value)))
            else:
                yield (f"m{i:05d}", f"{year}-{month:02d}", start.strftime("%Y-%m-%d %H:%M:%S.000000"),
                       end.strftime("%Y-%m-%d %H:%M:%S.000000"), value, "2026-09-01 00:00:00.000000", 1, 1,
                       *value_parts(Decimal(value)))


def fill(engine, goals: int) -> int:  # type: ignore[no-untyped-def]
    """The actuals, a thousand goals at a time (100k rows in memory at most)."""
    rnd, count = random.Random(7), 0
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        cursor = connection.connection.driver_connection.cursor()
        for first in range(0, goals, 1000):
            batch = list(rows_of(first, min(goals, first + 1000), rnd, postgres))
            if postgres:
                with cursor.copy(f"COPY actuals ({_COLUMNS}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
            else:
                cursor.executemany(f"INSERT INTO actuals ({_COLUMNS}) VALUES ({', '.join('?' * 10)})", batch)
            count += len(batch)
    return count


def floor(engine) -> float:  # type: ignore[no-untyped-def]
    """One aggregating query over the same actuals."""
    cast = "CAST(value AS DOUBLE PRECISION)" if engine.dialect.name == "postgresql" else "CAST(value AS REAL)"
    start = time.perf_counter()
    with engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()
        cursor.execute(f"SELECT metric, SUM({cast}) FROM actuals WHERE is_current GROUP BY metric")
        cursor.fetchall()
    return time.perf_counter() - start


def writer(path: str, stop: str) -> None:
    """Another process's writes during the cycles: prints the longest one, in seconds."""
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    connection.execute("PRAGMA synchronous=NORMAL")  # as tracker's own connections
    longest, locked, count, n = 0.0, 0.0, 0, 0
    while not os.path.exists(stop):
        start = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        locked = max(locked, time.perf_counter() - start)
        connection.execute(
            f"INSERT INTO actuals ({_COLUMNS}) VALUES ('bench_writer', ?, '2026-01-01 00:00:00.000000',"
            " '2026-01-02 00:00:00.000000', '1', '2026-09-01 00:00:00.000000', 1, 0, 1, 0)", (f"w{n}",))
        connection.execute("COMMIT")
        longest, count, n = max(longest, time.perf_counter() - start), count + 1, n + 1
        time.sleep(0.02)
    print(json.dumps({"longest": longest, "lock": locked, "writes": count}))


def child(goals: int, rounds: int, postgres_url: str | None) -> dict:
    from tracker.alerting.cycle import evaluate_cycle
    from tracker.catalog.settings import Settings
    from tracker.core import projection
    from tracker.store import db
    from tracker.store.runtime import Runtime

    with tempfile.TemporaryDirectory() as folder:
        url, created = postgres_url, None
        if url is None:
            url = f"sqlite:///{folder}/bench.db"
        else:
            created = _create_pg(url)
            url = created[1]
        engine = db.make_engine(url)
        db.ensure_schema(engine)
        built = time.perf_counter()
        actuals = fill(engine, goals)
        catalog = build_catalog(goals)
        build = time.perf_counter() - built
        runtime = Runtime(Settings(database_url=url, http_port=0), clock=lambda: NOW)
        runtime.__dict__["catalog"], runtime.__dict__["engine"] = catalog, engine
        stop = Path(folder) / "stop"
        wait = None
        if postgres_url is None:
            wait = subprocess.Popen([sys.executable, __file__, "--writer", f"{folder}/bench.db", str(stop)],
                                    stdout=subprocess.PIPE, text=True)
            time.sleep(0.5)
        try:
            projection.forget()
            started = time.perf_counter()
            result = evaluate_cycle(runtime, now=NOW)
            first = time.perf_counter() - started
            floors, steadies, writes_held = [], [], {"first": result.write_seconds, "steady": 0.0}
            rows_written = []
            for k in range(rounds):
                floors.append(floor(engine))
                started = time.perf_counter()
                steady = evaluate_cycle(runtime, now=NOW + timedelta(minutes=5 * (k + 1)))
                steadies.append(time.perf_counter() - started)
                writes_held["steady"] = max(writes_held["steady"], steady.write_seconds)
                rows_written.append(_written(runtime))
            started = time.perf_counter()
            gc.collect()  # what the daemon no longer does after a steady cycle (tracker.service.jobs.left_garbage)
            collect = time.perf_counter() - started
            rss_steady = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the restart's runtime adds its own
            # A restart: a new process's first cycle, nothing in memory, the verdicts stored.
            restarted = Runtime(Settings(database_url=url, http_port=0), clock=lambda: NOW)
            restarted.__dict__["catalog"], restarted.__dict__["engine"] = catalog, engine
            projection.forget()
            started = time.perf_counter()
            again = evaluate_cycle(restarted, now=NOW + timedelta(minutes=5 * (rounds + 1)))
            restart = time.perf_counter() - started
            writes_held["restart"] = again.write_seconds
            restart_written = _written(restarted)
        finally:
            stop.touch()
            writes = json.loads(wait.communicate()[0]) if wait is not None else None
            engine.dispose()
            if created is not None:
                _drop_pg(*created)
    return {"goals": goals, "actuals": actuals, "build": build, "first": first, "steady": steadies, "restart": restart,
            "loaded": restarted.remembered.loaded,
            "floor": floors, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_steady_mb": rss_steady, "rows_written": rows_written, "restart_written": restart_written,
            "collect": collect, "firing": result.firing, "pending": result.pending, "reused": runtime.remembered.reused,
            "writer": writes, "held": writes_held, "dialect": engine.dialect.name}


def _written(runtime) -> int | str:  # type: ignore[no-untyped-def]
    """Alert rows the runtime's last cycle wrote, when its plan only held alerts again (the
    one plan its memory keeps); else it moved some: created, refreshed, released."""
    plan = runtime.remembered.alerting.plan
    return plan.written if plan is not None else "some moved"


def _create_pg(url: str) -> tuple[str, str]:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_url(url).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return url, make_url(url).set(database=name).render_as_string(hide_password=False)


def _drop_pg(url: str, made: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(url).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE "{make_url(made).database}" WITH (FORCE)')


def report(found: dict) -> None:
    base = statistics.median(found["floor"])
    steady = statistics.median(found["steady"])
    wait, held = found["writer"], found["held"]
    waited = (f"writer's longest wait for the lock {wait['lock']:.3f} s, longest write {wait['longest']:.3f} s "
              f"({wait['writes']} writes)" if wait else "no writer")
    print(f"{found['dialect']:>10} {found['goals']:>7,} goals, {found['actuals']:>10,} actuals: "
          f"floor {base:.3f} s ({min(found['floor']):.3f}..{max(found['floor']):.3f}); "
          f"first cycle {found['first']:.2f} s = {found['first'] / base:.1f}x; "
          f"steady {steady:.3f} s ({min(found['steady']):.3f}..{max(found['steady']):.3f}) = {steady / base:.1f}x; "
          f"first after a restart {found['restart']:.3f} s = {found['restart'] / base:.1f}x "
          f"({found['loaded']} stored verdicts taken); "
          f"peak RSS {found['rss_mb']:.0f} MB ({found['rss_steady_mb']:.0f} MB before the restart's runtime, "
          f"which runs beside the first); alert rows written by the steady cycles {found['rows_written']}, "
          f"after the restart {found['restart_written']}; "
          f"{waited}; the cycle's write transaction held "
          f"{held['first']:.3f} s first, {held['steady']:.3f} s at most steady, {held['restart']:.3f} s after the "
          f"restart; a full collection after the steady cycles {found['collect']:.3f} s; "
          f"{found['firing']} firing, {found['pending']} pending, "
          f"{found['reused']} verdicts reused (built in {found['build']:.0f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("goals", nargs="*", type=int, default=[1_000, 10_000])
    parser.add_argument("--rounds", type=int, default=3, help="steady cycles, each beside one floor query")
    parser.add_argument("--postgres", action="store_true", help="on TRACKER_TEST_POSTGRES_URL's server")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--writer", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer:
        writer(*args.writer)
        return
    url = os.environ.get("TRACKER_TEST_POSTGRES_URL") if args.postgres else None
    if args.postgres and not url:
        parser.error("--postgres needs TRACKER_TEST_POSTGRES_URL")
    if args.child is not None:
        print(json.dumps(child(args.child, args.rounds, url)))
        return
    results = []
    for goals in args.goals:
        command = [sys.executable, __file__, "--child", str(goals), "--rounds", str(args.rounds)]
        done = subprocess.run(command + (["--postgres"] if args.postgres else []), check=False, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"{goals} goals failed:\n{done.stderr[-3000:]}")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        report(results[-1])
    for small, large in itertools.pairwise(results):
        grow = statistics.median(large["steady"]) / statistics.median(small["steady"])
        print(f"{small['goals']:,} -> {large['goals']:,} goals: steady cycle x{grow:.1f}, "
              f"first cycle x{large['first'] / small['first']:.1f}")


if __name__ == "__main__":
    main()

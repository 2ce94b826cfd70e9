"""Evaluation benchmark: N goals over 100*N actuals on SQLite, end to end through
evaluate_from_db (read the windows' readings, forecast and judge every goal), against one SQL
query that aggregates the same actuals.

    python3 bench/evaluate_bench.py            # 1,000 and 10,000 goals (100k and 1M actuals)

Synthetic catalog: one monthly metric per goal, 100 months each (2018-05 .. 2026-08), every
goal's window (2018..2026) covers all of its metric's actuals; kinds are mixed (cumulative,
ratio of two metrics, level, threshold). Prints seconds and the ratios the README quotes.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from decimal import Decimal
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracker.store import db  # noqa: E402
from tracker.catalog.model import parse_catalog  # noqa: E402
from tracker.store.dbtypes import value_parts  # noqa: E402
from tracker.core import projection  # noqa: E402
from tracker.core.evaluation import evaluate_all  # noqa: E402
from tracker.store.judging import evaluate_from_db, readings_for  # noqa: E402

NOW = datetime(2026, 9, 15, tzinfo=timezone.utc)
MONTHS = [(2018 + (4 + k) // 12, (4 + k) % 12 + 1) for k in range(100)]
SOURCE = {"document": "synthetic", "publisher": "bench", "published": "2026-01-01", "quote": "illustrative"}


def build_catalog(goals: int):
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
    return parse_catalog({"metrics": metrics, "goals": entries})


def fill(engine, goals: int) -> int:
    rnd = random.Random(7)
    rows = []
    for i in range(goals):
        for year, month in MONTHS:
            value = f"{rnd.randint(0, 999999)}.{rnd.randint(0, 99):02d}" if i % 2 else str(rnd.randint(0, 999999))
            start = datetime(year, month, 1).strftime("%Y-%m-%d 00:00:00.000000")
            end = datetime(year + month // 12, month % 12 + 1, 1).strftime("%Y-%m-%d 00:00:00.000000")
            rows.append((f"m{i:05d}", f"{year}-{month:02d}", start, end, value, "2026-09-01 00:00:00.000000", 1, 1,
                         *value_parts(Decimal(value))))
    with engine.begin() as connection:
        cursor = connection.connection.driver_connection.cursor()
        cursor.executemany(
            "INSERT INTO actuals (metric, period, period_start, period_end, value, recorded_at, revision, is_current,"
            " value_whole, value_nanos) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return len(rows)


def best(function, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def run(goals: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as folder:
        engine = db.make_engine(f"sqlite:///{folder}/bench.db")
        db.ensure_schema(engine)
        actuals = fill(engine, goals)
        catalog = build_catalog(goals)

        def cycle() -> None:
            with db.session(engine) as session:
                assert len(evaluate_from_db(session, catalog=catalog, now=NOW)) == goals

        def baseline() -> None:
            with engine.connect() as connection:
                cursor = connection.connection.driver_connection.cursor()
                cursor.execute("SELECT metric, SUM(CAST(value AS REAL)) FROM actuals WHERE is_current GROUP BY metric")
                cursor.fetchall()

        found = {}

        def read() -> None:  # the database half of a cycle
            with db.session(engine) as session:
                found["it"] = readings_for(session, catalog=catalog, now=NOW)

        projection.forget()
        first = best(cycle, repeat=1)  # every forecast computed
        ours, base, sql = best(cycle), best(baseline), best(read)  # steady: the forecasts remembered
        judge = best(lambda: evaluate_all(catalog, found["it"], NOW))  # the Python half: forecast and judge
        engine.dispose()
    print(f"{goals:>6} goals, {actuals:>9,} actuals: first evaluate_from_db {first:.3f} s ({first / base:.1f}x), steady {ours:.3f} s, "
          f"one aggregating query {base:.3f} s, ratio {ours / base:.1f}x "
          f"(of which reading the windows {sql:.3f} s = {sql / base:.1f}x, judging in Python {judge:.3f} s = {judge / base:.1f}x)")
    return ours, base


def main() -> None:
    small, _ = run(1_000)
    large, _ = run(10_000)
    print(f"10x the goals (and actuals) costs {large / small:.1f}x the time")


if __name__ == "__main__":
    main()

"""Importing N CSV rows with `tracker import`'s code path, against raw sqlite3.executemany
of the same parsed rows into the same table (the baseline, measured in the same run).

    python bench/import_bench.py [ROWS]        # default 1,000,000

The file has the shape of a large real import: 1,000 daily metrics over 1,000 days (a
synthetic catalog built here), so every row is a new (metric, period) and periods repeat
across metrics. Target (issue 2): the import takes no more than 3x the baseline.
"""

from __future__ import annotations

import csv
import random
import sqlite3
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.store import db  # noqa: E402
from tracker.catalog.model import parse_catalog  # noqa: E402
from tracker.store.importer import import_file  # noqa: E402

DAYS = 1000


def synthetic_catalog(metrics: int):
    data = {
        "metrics": {
            f"m{i:04d}": {"title": f"M{i}", "unit": "u", "granularity": "day", "aggregation": "sum", "min": 0, "max": 10**9}
            for i in range(metrics)
        },
        "goals": [],
    }
    return parse_catalog(data)


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(7)
    first = date(2024, 1, 1)
    days = [(first + timedelta(days=d)).isoformat() for d in range(DAYS)]
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["metric", "period", "value", "source", "note"])
        for i in range(rows):
            out.writerow([f"m{i // DAYS:04d}", days[i % DAYS], f"{rng.randint(40000, 41000)}.5", "bench", ""])


def baseline(path: Path, rows: list[tuple]) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    start = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(
        "INSERT INTO actuals (metric, period, period_start, period_end, value, source, note, recorded_at, revision, is_current)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    catalog = synthetic_catalog(-(-count // DAYS))
    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "rows.csv"
        write_csv(source, count)

        ours_db = db.make_engine(f"sqlite:///{folder / 'ours.db'}")
        db.ensure_schema(ours_db)
        start = time.perf_counter()
        with db.session(ours_db, write=True) as session:
            imported = import_file(session, catalog=catalog, path=source, now=now)
        ours = time.perf_counter() - start
        assert imported == count

        # The baseline inserts exactly what we stored, already parsed: the floor for this table.
        with ours_db.connect() as connection:
            parsed = connection.exec_driver_sql(
                "SELECT metric, period, period_start, period_end, value, source, note, recorded_at, revision, is_current FROM actuals"
            ).all()
        base_db = db.make_engine(f"sqlite:///{folder / 'base.db'}")
        db.ensure_schema(base_db)
        base_db.dispose()
        raw = baseline(folder / "base.db", [tuple(r) for r in parsed])

    print(f"rows                         {count:>12,}")
    print(f"raw sqlite3.executemany      {raw:>12.2f} s   (baseline: parsed rows, one transaction)")
    print(f"tracker import (CSV->DB)     {ours:>12.2f} s   (read, validate, revisions, insert)")
    print(f"ratio                        {ours / raw:>12.2f} x   (target <= 3.0)")


if __name__ == "__main__":
    main()

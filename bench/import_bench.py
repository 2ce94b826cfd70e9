"""`tracker import` of N CSV rows as a user runs it (a subprocess: its time and peak RSS),
against the floor of the same run: the same rows, already parsed into stored form, inserted
raw into a fresh database of the same schema (SQLite: sqlite3 `executemany`; PostgreSQL:
psycopg's `COPY ... FROM STDIN`).

    python bench/import_bench.py [--rows 1000000 7500000] [--db sqlite postgres]

PostgreSQL needs TRACKER_TEST_POSTGRES_URL (a database is created and dropped per run).
The file has the shape of a large real import: daily metrics over 1,000 days (a synthetic
catalog written here), so every row is a new (metric, period) and periods repeat across
metrics. Targets (issues 13 and 17): peak RSS under 100 MB for 1M rows and under 300 MB for
7.5M; on PostgreSQL within 1.5x of COPY.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone, UTC
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.core.periods import Period
from tracker.store import db
from tracker.store.dbtypes import utc_to_db, value_parts

DAYS = 1000
ZONE = "Asia/Shanghai"
COLUMNS = ("metric", "period", "period_start", "period_end", "value", "source", "note", "recorded_at", "revision",
           "is_current", "value_whole", "value_nanos", "known_since")


def write_catalog(path: Path, metrics: int) -> None:
    lines = [f'timezone = "{ZONE}"\ngoals = []\n']
    for i in range(metrics):
        lines.append(f'[metrics.m{i:05d}]\ntitle = "M{i}"\nunit = "u"\ngranularity = "day"\naggregation = "sum"\nmin = 0\nmax = 1000000000\n')
    path.write_text("\n".join(lines), encoding="utf-8")


def _values(rows: int) -> Iterator[tuple[str, str, str]]:
    rng = random.Random(7)
    first = date(2024, 1, 1)
    days = [(first + timedelta(days=d)).isoformat() for d in range(DAYS)]
    for i in range(rows):
        yield f"m{i // DAYS:05d}", days[i % DAYS], f"{rng.randint(40000, 41000)}.5"


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["metric", "period", "value", "source", "note"])
        for metric, day, value in _values(rows):
            out.writerow([metric, day, value, "bench", ""])


def stored_rows(rows: int, dialect: str) -> list[tuple]:
    """What the import stores, built before the clock starts: the baseline times the insert only."""
    from zoneinfo import ZoneInfo

    zone, now = ZoneInfo(ZONE), datetime.now(UTC)
    recorded = utc_to_db(now, dialect)
    bounds: dict[str, tuple] = {}
    out = []
    for metric, day, text in _values(rows):
        if day not in bounds:
            start, end = Period.parse(day).bounds(zone)
            bounds[day] = (utc_to_db(start, dialect), utc_to_db(end, dialect))
        value = Decimal(text)
        whole, nanos = value_parts(value)
        stored = value if dialect == "postgresql" else text
        is_current = True if dialect == "postgresql" else 1
        out.append((metric, day, *bounds[day], stored, "bench", None, recorded, 1, is_current, whole, nanos, recorded))
    return out


def run_import(url: str, catalog: Path, source: Path) -> tuple[float, float, str]:
    """Seconds, peak RSS (MB) and answer of `tracker import` in its own process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update({"TRACKER_DATABASE_URL": url, "TRACKER_CONFIG": str(catalog), "PYTHONPATH": str(ROOT),
                "TRACKER_LOG_FORMAT": "json"})
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.run([sys.executable, "-c", _LAUNCHER, sys.executable, "-m", "tracker", "import", str(source)],
                               env=env, stdout=out, stderr=err, check=False)
        elapsed = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        errors = err.read().decode()
        if child.returncode != 0:
            raise SystemExit(f"tracker import failed: {errors}")
        peak = int(errors.strip().splitlines()[-1].removeprefix("maxrss_kb="))
        return elapsed, peak / 1024, out.read().decode().strip()


# A child's ru_maxrss starts from the RSS of the process it was forked from, and this one
# holds millions of baseline rows: so a small launcher starts the import and reports its
# child's own peak (kilobytes on Linux).
_LAUNCHER = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "print(f'maxrss_kb={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr); sys.exit(code)"
)


def sqlite_baseline(path: Path, rows: list[tuple]) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    start = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(f"INSERT INTO actuals ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})", rows)
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


def postgres_baseline(url: str, rows: list[tuple]) -> float:
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as connection:
        start = time.perf_counter()
        with connection.cursor() as cursor, cursor.copy(f"COPY actuals ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        connection.commit()
        return time.perf_counter() - start


class PostgresDatabases:
    """Fresh databases on the test server, dropped at the end."""

    def __init__(self, base: str) -> None:
        from sqlalchemy import create_engine

        self.base = base
        self.admin = create_engine(base, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def new(self) -> str:
        from sqlalchemy import text
        from sqlalchemy.engine import make_url

        name = f"tracker_bench_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        self.names.append(name)
        return make_url(self.base).set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        from sqlalchemy import text

        with self.admin.connect() as connection:
            for name in self.names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def migrated(url: str) -> str:
    engine = db.make_engine(url)
    db.ensure_schema(engine)
    engine.dispose()
    return url


def measure(kind: str, rows: int, folder: Path, source: Path, catalog: Path, pg: PostgresDatabases | None) -> dict:
    dialect = "postgresql" if kind == "postgres" else "sqlite"
    if pg is not None:
        ours_url, base_url = migrated(pg.new()), migrated(pg.new())
    else:
        ours_url = migrated(f"sqlite:///{folder / f'ours-{rows}.db'}")
        base_url = migrated(f"sqlite:///{folder / f'base-{rows}.db'}")
    seconds, rss, answer = run_import(ours_url, catalog, source)
    assert answer.startswith(f"imported {rows} actuals"), answer
    print(f"{kind:8} {rows:>10,} rows: tracker import {seconds:7.1f} s, peak RSS {rss:.0f} MB (the floor next)", flush=True)
    parsed = stored_rows(rows, dialect)
    if pg is not None:
        floor = postgres_baseline(base_url, parsed)
    else:
        floor = sqlite_baseline(folder / f"base-{rows}.db", parsed)
    del parsed
    return {"db": kind, "rows": rows, "ours": seconds, "floor": floor, "rss": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--db", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    args = parser.parse_args()
    base = os.environ.get("TRACKER_TEST_POSTGRES_URL")
    if "postgres" in args.db and not base:
        raise SystemExit("PostgreSQL: set TRACKER_TEST_POSTGRES_URL, or pass --db sqlite")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for rows in args.rows:
            source, catalog = folder / f"rows-{rows}.csv", folder / f"goals-{rows}.toml"
            write_csv(source, rows)
            write_catalog(catalog, -(-rows // DAYS))
            size = source.stat().st_size / 1e6
            for kind in args.db:
                pg = PostgresDatabases(base) if kind == "postgres" and base else None
                try:
                    results.append(measure(kind, rows, folder, source, catalog, pg) | {"mb": size})
                finally:
                    if pg is not None:
                        pg.close()
                r = results[-1]
                floor = "sqlite3.executemany" if kind == "sqlite" else "COPY"
                print(f"{kind:8} {rows:>10,} rows ({r['mb']:.0f} MB CSV): tracker import {r['ours']:7.1f} s, "
                      f"raw {floor} {r['floor']:6.1f} s = {r['ours'] / r['floor']:.2f}x; peak RSS {r['rss']:.0f} MB",
                      flush=True)
                for path in folder.glob("*.db*"):
                    path.unlink()


if __name__ == "__main__":
    main()

"""A large synthetic catalog and its actuals, shaped like bench/evaluate_bench.py's: one
monthly metric per goal with 100 months of actuals (2018-05 .. 2026-08), every goal's window
2018..2026, kinds mixed (cumulative, ratio of two metrics, level, threshold), here also
labelled with one of ten businesses and written out as a TOML file, so that whole processes
(`tracker report`, `tracker run`) can load it.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

NOW = datetime(2026, 9, 15, tzinfo=UTC)
MONTHS = [(2018 + (4 + k) // 12, (4 + k) % 12 + 1) for k in range(100)]


def write_catalog(path: Path, goals: int) -> Path:
    """The catalog's TOML (values are JSON-quoted strings, which TOML reads alike)."""
    q = json.dumps
    lines = ['timezone = "Asia/Shanghai"', ""]
    for i in range(goals):
        aggregation = "last" if i % 10 == 7 else "sum"
        lines += [f"[metrics.m{i:05d}]", f"title = {q(f'm{i:05d}')}", 'unit = "u"', 'granularity = "month"',
                  f"aggregation = {q(aggregation)}", 'grace = "10d"', ""]
    for i in range(goals):
        lines += ["[[goals]]", f'id = "g{i:05d}"', f'title = "Goal {i}"', 'period = "2018..2026"']
        if i % 10 in (1, 2):
            lines += ['kind = "ratio"', f'numerator = "m{i:05d}"', f'denominator = "m{(i + 1) % goals:05d}"',
                      'target = "0.9"']
        elif i % 10 == 7:
            lines += ['kind = "level"', f'metric = "m{i:05d}"', 'baseline = "100"', 'target = "900"']
        elif i % 10 == 9:
            lines += ['kind = "threshold"', f'metric = "m{i:05d}"', 'target = "40000000"', 'comparison = "at_most"']
        else:
            lines += ['kind = "cumulative"', f'metric = "m{i:05d}"', 'target = "50000000"']
        lines += [f'labels = {{ business = "b{i % 10}" }}',
                  'source = { document = "synthetic", publisher = "bench", published = "2026-01-01", quote = "illustrative" }',
                  ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def fill(engine, goals: int) -> int:  # type: ignore[no-untyped-def]
    """100 monthly actuals per metric, inserted in bulk in their stored form."""
    from tracker.store.dbtypes import value_parts

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


def database(folder: Path, goals: int) -> tuple[str, Path]:
    """A SQLite database holding the actuals and the catalog file beside it: (url, catalog path)."""
    from tracker.store import db

    url = f"sqlite:///{folder}/bench.db"
    engine = db.make_engine(url)
    db.ensure_schema(engine)
    fill(engine, goals)
    engine.dispose()
    return url, write_catalog(folder / "goals.toml", goals)

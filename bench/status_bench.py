"""`tracker status` as a table with many goals: the terminal renderer against rich's table (the
renderer it replaced) and against a floor (the same cells joined, one line a row), measured in
the same run; then whole `tracker status` processes with a 10,000-goal catalog written out.

    python3 bench/status_bench.py              # 1,000 and 10,000 goals, then the processes
    python3 bench/status_bench.py --no-process # only the in-process rendering

Catalog: bench/evaluate_bench.py's generator (mixed kinds, one monthly metric a goal), with 12
monthly actuals a goal so that the judging stays short; the rendering does not depend on it.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datetime import UTC

from bench.evaluate_bench import SOURCE
from tracker.catalog.model import parse_catalog
from tracker.cli.status import status_rows
from tracker.cli.tables import write_table
from tracker.store import db
from tracker.store.judging import evaluate_from_db

MONTHS = 12


def raw_catalog(goals: int) -> dict:
    """evaluate_bench's catalog, as data (so that it can be written out as TOML too)."""
    metrics, entries = {}, []
    for i in range(goals):
        name = f"m{i:05d}"
        metrics[name] = {"title": name, "unit": "u", "granularity": "month",
                         "aggregation": "last" if i % 10 == 7 else "sum", "grace": "10d"}
        goal = {"id": f"store-{i:05d}-monthly-revenue-2026", "title": f"Goal {i}", "period": "2026"}
        if i % 10 in (1, 2):
            goal |= {"kind": "ratio", "numerator": name, "denominator": f"m{(i + 1) % goals:05d}", "target": "0.9"}
        elif i % 10 == 7:
            goal |= {"kind": "level", "metric": name, "baseline": "100", "target": "900"}
        elif i % 10 == 9:
            goal |= {"kind": "threshold", "metric": name, "target": "400000", "comparison": "at_most"}
        else:
            goal |= {"kind": "cumulative", "metric": name, "target": "5000000"}
        entries.append(goal | {"source": SOURCE})
    return {"metrics": metrics, "goals": entries}


def toml(raw: dict) -> str:
    lines = []
    for name, spec in raw["metrics"].items():
        lines.append(f"[metrics.{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in spec.items()]
    for goal in raw["goals"]:
        lines.append("[[goals]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in goal.items() if key != "source"]
        lines.append("source = { " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in goal["source"].items()) + " }")
    return "\n".join(lines) + "\n"


def csv_rows(goals: int) -> str:
    rows = ["metric,period,value"]
    rows += [f"m{i:05d},2026-{month:02d},{1000 + (i * 7 + month * 13) % 900}"
             for i in range(goals) for month in range(1, MONTHS + 1)]
    return "\n".join(rows) + "\n"


def best(function, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def rich_table(columns, rows) -> None:  # type: ignore[no-untyped-def]
    """What status printed before: a rich Table of the same cells."""
    from rich.console import Console
    from rich.table import Table

    from tracker.cli.tables import _form

    table = Table(title="Goals", title_justify="left")
    for column in columns:
        table.add_column(column.name, justify="right" if column.right else "left")
    for row in rows:
        table.add_row(*("".join(text for text, _ in _form(cell, False)) for cell in row))
    Console(file=io.StringIO(), width=120).print(table)


def floor(columns, rows) -> None:  # type: ignore[no-untyped-def]
    from tracker.cli.tables import _form

    out = io.StringIO()
    for row in rows:
        out.write("│ " + " │ ".join("".join(text for text, _ in _form(cell, False)) for cell in row) + " │\n")


def in_process(goals: int) -> float:
    catalog = parse_catalog(raw_catalog(goals))
    with tempfile.TemporaryDirectory() as folder:
        engine = db.make_engine(f"sqlite:///{folder}/bench.db")
        db.ensure_schema(engine)
        csv = Path(folder) / "actuals.csv"
        csv.write_text(csv_rows(goals))
        from datetime import datetime

        from tracker.store.importer import import_file

        now = datetime(2026, 12, 20, tzinfo=UTC)
        with db.session(engine, write=True) as session:
            import_file(session, catalog=catalog, path=csv, now=now, force=True)
        with db.session(engine) as session:
            evaluations = evaluate_from_db(session, catalog=catalog, now=now)
        engine.dispose()
    edges = {g.id: (0.2, 0.8) for g in catalog.goals}
    columns, rows = status_rows(evaluations, edges)
    cells = best(lambda: status_rows(evaluations, edges))
    tenth_columns, tenth_rows = status_rows(evaluations[: goals // 10], edges)
    tenth = best(lambda: status_rows(evaluations[: goals // 10], edges)) + best(
        lambda: write_table(io.StringIO(), "Goals", tenth_columns, tenth_rows, width=120, color=True))
    ours80 = best(lambda: write_table(io.StringIO(), "Goals", columns, rows, width=80, color=False))
    ours120 = best(lambda: write_table(io.StringIO(), "Goals", columns, rows, width=120, color=True))
    base = best(lambda: floor(columns, rows))
    old = best(lambda: rich_table(columns, rows), repeat=1)
    print(f"{goals:>6} goals: cells {cells:.3f} s; table at 80 columns {ours80:.3f} s, at 120 in colour "
          f"{ours120:.3f} s; floor (cells joined) {base:.4f} s: {ours120 / base:.1f}x; "
          f"rich Table {old:.2f} s ({old / ours120:.0f}x ours); in the same process a tenth of the rows "
          f"takes {tenth:.3f} s: 10x the rows cost {(cells + ours120) / tenth:.1f}x")
    return cells + ours120


def processes(goals: int, runs: int = 1) -> None:
    """Whole processes: `tracker status` (table, piped) and `--json`, same catalog and data."""
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        (base / "goals.toml").write_text(toml(raw_catalog(goals)))
        (base / "actuals.csv").write_text(csv_rows(goals))
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")},
               "PYTHONPATH": str(ROOT), "TRACKER_CONFIG": str(base / "goals.toml"),
               "TRACKER_DATABASE_URL": f"sqlite:///{base / 'bench.db'}", "COLUMNS": "120"}
        tracker = [sys.executable, "-m", "tracker"]
        subprocess.run([*tracker, "import", str(base / "actuals.csv"), "--force"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        samples: dict[str, list[float]] = {"status (table)": [], "status --json": []}
        for _ in range(runs):  # interleaved, so that load on the machine hits both alike
            for name, extra in (("status (table)", []), ("status --json", ["--json"])):
                start = time.perf_counter()
                subprocess.run([*tracker, "status", "--at", "2026-12-20", *extra], env=env, check=True,
                               stdout=subprocess.DEVNULL)
                samples[name].append(time.perf_counter() - start)
    table, js = (statistics.median(samples[name]) for name in ("status (table)", "status --json"))
    print(f"{goals:>6} goals as processes (median of {runs}): status {table:.2f} s, status --json {js:.2f} s "
          f"(table {table / js:.2f}x json)")


def main() -> None:
    small = in_process(1_000)
    large = in_process(10_000)
    # across processes the larger heap (10,000 evaluations held) slows every allocation too
    print(f"10,000 against 1,000 goals, separate catalogs: {large / small:.1f}x the rendering time")
    if "--no-process" not in sys.argv:
        processes(10_000)


if __name__ == "__main__":
    main()

"""Report benchmark: the shipped catalog's page with the sample actuals, against the
evaluation it draws (the baseline, measured in the same run).

    python3 bench/report_bench.py

Prints seconds for: evaluate_from_db (baseline); the page with every chart drawn (cold);
the page again with the same data (the charts come from render_svg's cache, as on the
daemon's `/` between evaluations); and the ratios of each to the baseline.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.store import db  # noqa: E402

from tracker.store import actuals as store
from tracker.catalog.model import load_catalog  # noqa: E402
from tracker.views.charts import render_svg  # noqa: E402
from tracker.store.importer import read_csv  # noqa: E402
from tracker.store.judging import evaluate_from_db  # noqa: E402
from tracker.views.report import render_from_db  # noqa: E402

NOW = datetime(2026, 7, 5, tzinfo=timezone.utc)
ROUNDS = 5


def best(action) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    catalog = load_catalog(ROOT / "config" / "goals.toml")
    with tempfile.TemporaryDirectory() as folder:
        engine = db.make_engine(f"sqlite:///{folder}/bench.db")
        db.ensure_schema(engine)
        with db.session(engine, write=True) as session:
            store.import_rows(session, catalog=catalog, rows=read_csv(ROOT / "config" / "sample-actuals.csv"), now=NOW)
        with db.session(engine) as session:
            render_from_db(session, catalog=catalog, now=NOW)  # imports matplotlib and jinja2 once
            baseline = best(lambda: evaluate_from_db(session, catalog=catalog, now=NOW))

            def cold() -> None:
                render_svg.cache_clear()
                render_from_db(session, catalog=catalog, now=NOW)

            drawn = best(cold)
            cached = best(lambda: render_from_db(session, catalog=catalog, now=NOW))
        engine.dispose()
    goals = len(catalog.goals)
    print(f"{goals} goals, best of {ROUNDS}")
    print(f"evaluate_from_db (baseline)  {baseline * 1000:8.1f} ms")
    print(f"report, charts drawn         {drawn * 1000:8.1f} ms  {drawn / baseline:6.0f}x baseline  "
          f"({drawn / goals * 1000:.0f} ms a chart)")
    print(f"report, charts cached        {cached * 1000:8.1f} ms  {cached / baseline:6.1f}x baseline")


if __name__ == "__main__":
    main()

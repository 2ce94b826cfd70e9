"""The command line as a user runs it, whole processes, medians of interleaved runs (so load
on the machine hits every variant alike), with the spread (min..max).

    python bench/cli_bench.py                    # the shipped 13-goal catalog and 10,000 goals
    python bench/cli_bench.py 13 100000 --runs 11
    python bench/cli_bench.py 10000 --status     # also `tracker status --json` (slow: judges every goal)

Baselines measured in the same run: `python -c "import sqlmodel"` (issue 2: `tracker record`
within 1.3x of it) and, for `status --json`, its floor: one process that runs one GROUP BY
over the same actuals and prints it as JSON. Targets (issue 17): `tracker record` with a
100,000-goal catalog within 1.3x of `record` with the shipped one; `status --json` within 3x
of its floor. Catalogs other than the shipped one are bench/evaluate_bench.py's, written
out as TOML (100 monthly actuals per goal for `--status`). `status --json` runs cold (nothing
stored), then beside a daemon: after one `tracker evaluate` at the same instant has stored
its verdicts (tracker.store.verdicts). The first `record` after a
catalog is written validates it whole and is reported on its own; the runs after it read
the validated metrics (tracker.catalog.cache).
"""

from __future__ import annotations

import argparse
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
sys.path.insert(0, str(ROOT / "bench"))

FLOOR = ("import json, sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
         "json.dump(c.execute('SELECT metric, SUM(CAST(value AS REAL)) FROM actuals WHERE is_current GROUP BY metric')"
         ".fetchall(), sys.stdout)")


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _value(v: object) -> str:
    return json.dumps(v) if isinstance(v, str) else "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"  # type: ignore[union-attr]


def write_catalog(path: Path, goals: int) -> None:
    from evaluate_bench import catalog_data

    data = catalog_data(goals)
    with path.open("w", encoding="utf-8") as out:
        out.write('timezone = "UTC"\n')
        for name, body in data["metrics"].items():
            out.write(f"\n[metrics.{name}]\n" + "".join(f"{k} = {_value(v)}\n" for k, v in body.items()))
        for goal in data["goals"]:
            out.write("\n[[goals]]\n" + "".join(f"{k} = {_value(v)}\n" for k, v in goal.items()))


def setup(folder: Path, goals: int, with_actuals: bool) -> tuple[dict[str, str], str, Path]:
    """The environment of one catalog size, the metric `record` writes, and the database."""
    database = folder / f"{goals}.db"
    if goals == 13:
        config, metric = ROOT / "config" / "goals.toml", "home_stores"
    else:
        config, metric = folder / f"{goals}.toml", "m00000"
        write_catalog(config, goals)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRACKER_DATABASE_URL": f"sqlite:///{database}",
           "TRACKER_CONFIG": str(config), "XDG_CACHE_HOME": str(folder / "cache"), "TRACKER_LOG_FORMAT": "json"}
    subprocess.run([sys.executable, "-m", "tracker", "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
    if with_actuals:
        if goals == 13:
            subprocess.run([sys.executable, "-m", "tracker", "import", str(ROOT / "config" / "sample-actuals.csv")],
                           env=env, check=True, stdout=subprocess.DEVNULL)
        else:
            from evaluate_bench import fill

            from tracker.store import db

            engine = db.make_engine(f"sqlite:///{database}")
            fill(engine, goals)
            engine.dispose()
    return env, metric, database


def show(name: str, values: list[float], base: float | None = None, against: str = "") -> None:
    median = statistics.median(values)
    ratio = f"   {median / base:5.2f}x {against}" if base else ""
    print(f"{name:42} {median * 1000:8.0f} ms ({min(values) * 1000:.0f}..{max(values) * 1000:.0f}){ratio}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("goals", nargs="*", type=int, default=[13, 10_000], help="catalog sizes; 13 is the shipped one")
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--status", action="store_true", help="also time `tracker status --json` (3 runs)")
    args = parser.parse_args()
    tracker = [sys.executable, "-m", "tracker"]
    with tempfile.TemporaryDirectory() as tmp:
        envs = {goals: setup(Path(tmp), goals, args.status) for goals in args.goals}
        samples: dict[str, list[float]] = {"import sqlmodel": [], "tracker --help": []}
        first = {}
        for goals, (env, metric, _) in envs.items():  # validates the catalog and keeps its metrics
            first[goals] = timed([*tracker, "record", metric, "1999-12", "600"], env)
        for run in range(args.runs):
            env13 = next(iter(envs.values()))[0]
            samples["import sqlmodel"].append(timed([sys.executable, "-c", "import sqlmodel"], env13))
            samples["tracker --help"].append(timed([*tracker, "--help"], env13))
            period = f"{2000 + run // 12}-{run % 12 + 1:02d}"  # a new period each run: every run writes a row
            for goals, (env, metric, _) in envs.items():
                samples.setdefault(f"record, {goals:,} goals", []).append(
                    timed([*tracker, "record", metric, period, "600"], env))
        if args.status:
            for _ in range(3):
                for goals, (env, _, database) in envs.items():
                    samples.setdefault(f"floor, {goals:,} goals", []).append(
                        timed([sys.executable, "-c", FLOOR, str(database)], env))
                    samples.setdefault(f"status --json, {goals:,} goals", []).append(
                        timed([*tracker, "status", "--json", "--at", "2026-09-15"], env))
            for goals, (env, _, _) in envs.items():  # a daemon's cycle: it stores its verdicts
                subprocess.run([*tracker, "evaluate", "--at", "2026-09-15"], env=env, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(3):
                for goals, (env, _, _) in envs.items():
                    samples.setdefault(f"status --json beside a daemon, {goals:,}", []).append(
                        timed([*tracker, "status", "--json", "--at", "2026-09-15"], env))
    base = statistics.median(samples["import sqlmodel"])
    show("import sqlmodel", samples["import sqlmodel"])
    show("tracker --help", samples["tracker --help"], base, "import sqlmodel")
    shipped = statistics.median(samples[f"record, {args.goals[0]:,} goals"])
    for goals in args.goals:
        print(f"{'first record after the catalog changed, ' + format(goals, ',') + ' goals':42} "
              f"{first[goals] * 1000:8.0f} ms (one run: validates the whole catalog)")
        show(f"record, {goals:,} goals", samples[f"record, {goals:,} goals"], shipped, f"record, {args.goals[0]:,} goals")
    if args.status:
        for goals in args.goals:
            floor = statistics.median(samples[f"floor, {goals:,} goals"])
            show(f"floor, {goals:,} goals", samples[f"floor, {goals:,} goals"])
            show(f"status --json, {goals:,} goals", samples[f"status --json, {goals:,} goals"], floor, "its floor")
            show(f"status --json beside a daemon, {goals:,}", samples[f"status --json beside a daemon, {goals:,}"], floor,
                 "its floor")
    print(f"targets: tracker --help < 150 ms; record with 100,000 goals <= 1.30x record with the shipped catalog; "
          f"status --json <= 3x its floor ({args.runs} runs of record, medians)")


if __name__ == "__main__":
    main()

"""Start-up cost of the command line, against `python -c "import sqlmodel"` measured in the
same run (medians of interleaved runs, so load on the machine hits both alike).

    python bench/cli_bench.py [RUNS]           # default 21

Targets (issue 2): `tracker --help` answers in under 150 ms; `tracker record` stays within
1.3x of importing sqlmodel.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 21
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TRACKER_DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}",
            "TRACKER_CONFIG": str(ROOT / "config" / "goals.toml"),
        }
        tracker = [sys.executable, "-m", "tracker"]
        subprocess.run([*tracker, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
        samples: dict[str, list[float]] = {"import sqlmodel": [], "tracker --help": [], "tracker record": []}
        for run in range(runs):
            samples["import sqlmodel"].append(timed([sys.executable, "-c", "import sqlmodel"], env))
            samples["tracker --help"].append(timed([*tracker, "--help"], env))
            # a new period each run, so every run writes a row, as a user would
            period = f"{2000 + run // 12}-{run % 12 + 1:02d}"
            samples["tracker record"].append(timed([*tracker, "record", "home_stores", period, "600"], env))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    base = medians["import sqlmodel"]
    for name, value in medians.items():
        print(f"{name:18} {value * 1000:7.0f} ms   {value / base:5.2f}x import sqlmodel")
    print(f"targets: tracker --help < 150 ms; tracker record <= 1.30x import sqlmodel ({runs} runs each, medians)")


if __name__ == "__main__":
    main()

"""Idle cost of the daemon: resident memory and CPU of `tracker run` over a window after
start-up, beside a bare Python process sleeping over the same window (the baseline).

    python3 bench/idle_bench.py [--seconds 30] [--goals 10000] [--rounds 1]

The daemon runs the shipped catalog (or, with --goals, bench/bigcatalog.py's synthetic one with
100 monthly actuals a goal) on a temporary SQLite database, with its HTTP server on and the
default schedule (evaluation hourly, delivery every 5 s); the window starts once the start-up
evaluation is done and `/` has been rendered from it. Rounds run one after another, each
with its own baseline; medians and spreads are printed. Linux only (reads /proc).
Targets: under 120 MB resident, under 1% of a core.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def evaluations_done(exposition: str) -> float:
    """tracker_job_runs_total{task="evaluate",outcome="ok"} of a scrape (labels in any order)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == "tracker_job_runs_total" and sample.labels == {"task": "evaluate", "outcome": "ok"}:
                return sample.value
    return 0.0


def wait_ready(port: int, deadline: float) -> None:
    """Until the start-up evaluation has run and `/` shows its verdicts."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
                evaluated = evaluations_done(response.read().decode()) >= 1
            if evaluated:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
                    if b'id="row-' in response.read():
                        return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("the daemon did not become ready")


def measure(pids: dict[str, int], seconds: float) -> dict[str, tuple[float, float, float]]:
    """(peak RSS in MB, share of one core, RSS at the window's end) for each process."""
    start = {name: cpu_seconds(pid) for name, pid in pids.items()}
    peak = {name: rss_mb(pid) for name, pid in pids.items()}
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        time.sleep(0.5)
        peak = {name: max(peak[name], rss_mb(pid)) for name, pid in pids.items()}
    elapsed = time.monotonic() - began
    return {name: (peak[name], (cpu_seconds(pid) - start[name]) / elapsed, rss_mb(pid)) for name, pid in pids.items()}


def one_round(seconds: float, goals: int | None, settle: float = 0.0) -> tuple[int, dict[str, tuple[float, float, float]], float]:
    """(exit status after SIGTERM, figures, seconds from start to ready)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
        url, config = f"sqlite:///{tmp}/tracker.store.db", ROOT / "config" / "goals.toml"
        if goals:
            sys.path.insert(0, str(ROOT / "bench"))
            sys.path.insert(0, str(ROOT))
            import bigcatalog

            url, config = bigcatalog.database(Path(tmp), goals)
        env.update(PYTHONPATH=str(ROOT), TRACKER_DATABASE_URL=url, TRACKER_CONFIG=str(config),
                   TRACKER_HTTP_PORT=str(port), TRACKER_LOG_FORMAT="json")
        started = time.monotonic()
        daemon = subprocess.Popen([sys.executable, "-m", "tracker", "run"], env=env, cwd=tmp,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        baseline = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        try:
            wait_ready(port, 60 + (goals or 0) * 0.2)  # a first cycle at 10,000 goals takes minutes
            ready = time.monotonic() - started
            time.sleep(settle)  # the start-up cycle's groups wait out group_wait (30 s) and go
            figures = measure({"daemon": daemon.pid, "baseline": baseline.pid}, seconds)
        finally:
            baseline.kill()
            daemon.send_signal(signal.SIGTERM)
            status = daemon.wait(timeout=600)  # a cycle in hand finishes first
    return status, figures, ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the idle window")
    parser.add_argument("--goals", type=int, default=None, help="a synthetic catalog of this many goals")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--settle", type=float, default=0.0,
                        help="seconds between ready and the window (the start-up notifications go in them)")
    args = parser.parse_args()
    results = [one_round(args.seconds, args.goals, args.settle) for _ in range(args.rounds)]
    median = statistics.median

    def col(name: str, index: int) -> list[float]:
        return [figures[name][index] for _, figures, _ in results]

    d_rss, d_cpu, b_rss, b_cpu = col("daemon", 0), col("daemon", 1), col("baseline", 0), col("baseline", 1)
    d_end = col("daemon", 2)
    what = f"{args.goals:,} synthetic goals" if args.goals else "the shipped catalog"
    print(f"{what}; idle window: {args.seconds:.0f} s; {args.rounds} round(s), median (min-max)")
    print(f"ready (start-up evaluation and / rendered) after {median([r for _, _, r in results]):.1f} s; "
          f"exit status after SIGTERM: {[status for status, _, _ in results]}")
    print(f"{'':10} {'peak RSS':>24} {'CPU (share of a core)':>28}")
    print(f"{'daemon':10} {median(d_rss):7.1f} MB ({min(d_rss):.1f}-{max(d_rss):.1f}) "
          f"{median(d_cpu):12.3%} ({min(d_cpu):.3%}-{max(d_cpu):.3%})")
    print(f"{'':10} {median(d_end):7.1f} MB ({min(d_end):.1f}-{max(d_end):.1f}) at the window's end")
    print(f"{'baseline':10} {median(b_rss):7.1f} MB ({min(b_rss):.1f}-{max(b_rss):.1f}) {median(b_cpu):12.3%}")
    print(f"ratio      {median(d_rss) / median(b_rss):7.1f} x   "
          f"{(median(d_cpu) - median(b_cpu)):+.3%} of a core over baseline")
    rss, cpu = median(d_rss), median(d_cpu)
    print(f"targets    RSS < 120 MB: {'met' if rss < 120 else 'MISSED'}; CPU < 1%: {'met' if cpu < 0.01 else 'MISSED'}")


if __name__ == "__main__":
    main()

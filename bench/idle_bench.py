"""Idle cost of the daemon: resident memory and CPU of `tracker run` over a window after
start-up, beside a bare Python process sleeping over the same window (the baseline).

    python3 bench/idle_bench.py [--seconds 30]

The daemon runs the shipped catalog on a temporary SQLite database, with its HTTP server on
and the default schedule (evaluation hourly, delivery every 5 s); the window starts once
/readyz answers and the start-up evaluation is done. Linux only (reads /proc).
Targets: under 120 MB resident, under 1% of a core.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
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


def wait_ready(port: int, deadline: float = 60) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                if b'tracker_job_runs_total{task="evaluate",outcome="ok"} 1.0' in response.read():
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("the daemon did not become ready")


def measure(pids: dict[str, int], seconds: float) -> dict[str, tuple[float, float]]:
    """(peak RSS in MB, share of one core) for each process over the window."""
    start = {name: cpu_seconds(pid) for name, pid in pids.items()}
    peak = {name: rss_mb(pid) for name, pid in pids.items()}
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        time.sleep(0.5)
        peak = {name: max(peak[name], rss_mb(pid)) for name, pid in pids.items()}
    elapsed = time.monotonic() - began
    return {name: (peak[name], (cpu_seconds(pid) - start[name]) / elapsed) for name, pid in pids.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the idle window")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
        env.update(PYTHONPATH=str(ROOT), TRACKER_DATABASE_URL=f"sqlite:///{tmp}/tracker.store.db",
                   TRACKER_CONFIG=str(ROOT / "config" / "goals.toml"), TRACKER_HTTP_PORT=str(port),
                   TRACKER_LOG_FORMAT="json")
        daemon = subprocess.Popen([sys.executable, "-m", "tracker", "run"], env=env, cwd=tmp,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        baseline = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        try:
            wait_ready(port)
            figures = measure({"daemon": daemon.pid, "baseline": baseline.pid}, args.seconds)
        finally:
            baseline.kill()
            daemon.send_signal(signal.SIGTERM)
            status = daemon.wait(timeout=30)
    (d_rss, d_cpu), (b_rss, b_cpu) = figures["daemon"], figures["baseline"]
    print(f"idle window: {args.seconds:.0f} s, daemon exit status after SIGTERM: {status}")
    print(f"{'':10} {'peak RSS':>10} {'CPU (share of a core)':>22}")
    print(f"{'daemon':10} {d_rss:7.1f} MB {d_cpu:21.3%}")
    print(f"{'baseline':10} {b_rss:7.1f} MB {b_cpu:21.3%}")
    print(f"ratio      {d_rss / b_rss:7.1f} x   {'+' if d_cpu >= b_cpu else ''}{(d_cpu - b_cpu):.3%} of a core over baseline")
    print(f"targets    RSS < 120 MB: {'met' if d_rss < 120 else 'MISSED'}; CPU < 1%: {'met' if d_cpu < 0.01 else 'MISSED'}")


if __name__ == "__main__":
    main()

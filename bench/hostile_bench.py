"""Hostile receivers benchmark: `tracker deliver` against receivers that hang, drip, answer
1 GiB, redirect and send `Retry-After: 99999999999999999`, beside a healthy one.

Baseline, in the same run: the same command with the healthy receiver alone. Prints the
peak RSS of each (the ratio is the cost of the hostile ones), the wall time of each pass
against the deadline, and how long after the pass started the healthy receiver had all of
its notifications.

    python3 bench/hostile_bench.py [--deadline 2] [--healthy 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hostile_receivers import HostileReceivers, catalog_with_receivers  # noqa: E402
from tracker.delivery import outbox  # noqa: E402
from tracker.store import db  # noqa: E402
from tracker.store.db import ensure_schema, make_engine  # noqa: E402

HOSTILE = {"hang": 3, "drip": 3, "huge": 3, "redirect": 2, "retry_after": 2}
_WRAPPER = ("import resource, subprocess, sys; "
            "code = subprocess.run([sys.executable, '-m', 'tracker', 'deliver'], capture_output=True).returncode; "
            "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def run(receivers: HostileReceivers, names: dict[str, int], deadline: float, workdir: Path) -> tuple[float, float, float]:
    """(peak RSS in MB, seconds for the pass, seconds until the healthy receiver had all)."""
    url = f"sqlite:///{workdir / 'bench.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    due = datetime.now(timezone.utc) - timedelta(minutes=1)
    with db.session(engine, write=True) as session:
        for name, count in names.items():
            for n in range(count):
                outbox.enqueue(session, receiver=name.replace("_", "-"), fingerprint=f"{name}{n}",
                               subject=f"goal:{name}", event="alert.firing", reason="bench", body=b'{"n":1}', now=due)
    engine.dispose()
    catalog = catalog_with_receivers(workdir, {k: receivers.urls[k] for k in names}, timeout=deadline)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(TRACKER_DATABASE_URL=url, TRACKER_CONFIG=str(catalog), PYTHONPATH=str(ROOT), TRACKER_LOG_FORMAT="json")
    receivers.arrivals.pop("healthy", None)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", _WRAPPER], env=env, capture_output=True, text=True, check=True)
    elapsed = time.monotonic() - started
    code, peak = (int(part) for part in done.stdout.split())
    assert code == 0
    healthy = max(at for _, at in receivers.arrivals["healthy"]) - started
    return peak / 1024, elapsed, healthy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deadline", type=float, default=2.0)
    parser.add_argument("--healthy", type=int, default=20)
    args = parser.parse_args()
    receivers = HostileReceivers()
    try:
        with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
            base = run(receivers, {"healthy": args.healthy}, args.deadline, Path(one))
            hostile = run(receivers, {**HOSTILE, "healthy": args.healthy}, args.deadline, Path(two))
    finally:
        receivers.close()
    print(f"deadline {args.deadline:g} s; {args.healthy} healthy notifications; hostile: {HOSTILE}")
    print(f"healthy alone:   peak RSS {base[0]:6.1f} MB, pass {base[1]:5.2f} s (process start included), "
          f"healthy done {base[2]:5.2f} s after start")
    print(f"beside hostile:  peak RSS {hostile[0]:6.1f} MB, pass {hostile[1]:5.2f} s (process start included), "
          f"healthy done {hostile[2]:5.2f} s after start")
    print(f"ratio:           RSS {hostile[0] / base[0]:.2f}x; healthy {hostile[2] - base[2]:+.2f} s; "
          f"pass {hostile[1] - base[1]:+.2f} s against the {args.deadline:g} s deadline")


if __name__ == "__main__":
    main()

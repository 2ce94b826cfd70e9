"""A real Daemon with a fake unit of work, for the signal tests (run as a subprocess).

The job writes `started` in DIR, waits until `go` exists there, then writes `finished`:
the test decides when the job in hand ends. Usage: python -m tests.daemon_harness DIR
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main(directory: Path) -> int:
    from apscheduler.triggers.interval import IntervalTrigger

    from tracker.service import logs
    from tracker.service.daemon import Daemon, JobSpec
    from tracker.service.metrics import DaemonMetrics
    from tracker.store.runtime import Runtime

    runtime = Runtime.from_env()
    logs.configure("json", "info")

    def slow(now):
        (directory / "started").write_text(now.isoformat())
        while not (directory / "go").exists():
            time.sleep(0.01)
        (directory / "finished").write_text(now.isoformat())
        return {"finished": 1}

    jobs = [JobSpec("slow", slow, IntervalTrigger(hours=1), run_at_start=True)]
    runtime.catalog
    daemon = Daemon(runtime, DaemonMetrics(), lambda catalog: jobs)
    daemon.install_signal_handlers()
    return daemon.serve()


if __name__ == "__main__":
    import os

    status = main(Path(sys.argv[1]))
    if status >= 128:
        os._exit(status)
    sys.exit(status)

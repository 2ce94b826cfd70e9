"""/readyz says not ready when the database stops taking writes (a full disk: SQLite's page
limit, or a file size limit on the process) or the last evaluation or delivery failed; each
check is named in its JSON. On a full disk the command line says so in one line."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys

import pytest
from tests.conftest import CATALOG, ROOT, NOW


@pytest.fixture
def daemon(sqlite_url, tmp_path):  # type: ignore[no-untyped-def]
    from tracker.catalog.settings import Settings
    from tracker.service.daemon import Daemon
    from tracker.service.metrics import DaemonMetrics
    from tracker.store.runtime import Runtime

    runtime = Runtime(Settings(database_url=sqlite_url, config=CATALOG, http_port=0), clock=lambda: NOW)
    runtime.catalog, runtime.engine  # loaded and migrated, as at start
    yield Daemon(runtime, DaemonMetrics(), lambda catalog: [])
    runtime.engine.dispose()


def _readyz(daemon):  # type: ignore[no-untyped-def]
    from tracker.service.web import Request, readyz

    answer = readyz(Request({}, {}, daemon))
    import json

    return answer.status, json.loads(answer.body)


@pytest.mark.slow
def test_a_full_disk_makes_readyz_503_naming_the_database_check(sqlite_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from tests.counting_receiver import tracker_command, tracker_env
    from tests.polling import wait_for
    from tests.test_web_load import _free_port

    port = _free_port()
    # no bytecode written while the file size is limited: a truncated .pyc would break later runs
    env = tracker_env(sqlite_url, TRACKER_HTTP_PORT=str(port), TRACKER_EVALUATE__INTERVAL_SECONDS="3600",
                      TRACKER_DELIVER__INTERVAL_SECONDS="0.5", PYTHONDONTWRITEBYTECODE="1")
    daemon = subprocess.Popen(tracker_command("run"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/readyz"

    def readyz() -> tuple[int, dict] | None:
        try:
            answer = httpx.get(url, timeout=5)
        except httpx.HTTPError:
            return None
        return answer.status_code, answer.json()

    try:
        status, body = wait_for(lambda: (found := readyz()) and found[0] == 200 and found, "a ready daemon", 60)
        assert body["checks"]["database"] == {"ok": True, "detail": "takes writes"}
        # The disk fills up: the daemon may not write a file past its first kilobyte.
        _, hard = resource.prlimit(daemon.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(daemon.pid, resource.RLIMIT_FSIZE, (1024, hard))  # the soft limit: it can come back
        def refused() -> tuple[int, dict] | None:
            found = readyz()
            return found if found and not found[1]["checks"]["database"]["ok"] else None

        status, body = wait_for(refused, "readyz to find the database full", 10)
        assert status == 503
        database = body["checks"]["database"]
        assert database["ok"] is False and database["detail"].startswith("write failed (OperationalError: ")
        assert body["ready"] is False and body["checks"]["catalog"]["ok"] and body["checks"]["scheduler"]["ok"]
        resource.prlimit(daemon.pid, resource.RLIMIT_FSIZE, (hard, hard))  # space freed
        # recovery needs a delivery pass that succeeds after the space is back: one every 0.5 s
        wait_for(lambda: (found := readyz()) and found[0] == 200, "readyz to recover", 30)
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(60) == 0


@pytest.mark.parametrize("job", ["evaluate", "deliver"])
def test_a_failed_last_run_of_evaluate_or_deliver_makes_readyz_503(daemon, job) -> None:  # type: ignore[no-untyped-def]
    from apscheduler.triggers.interval import IntervalTrigger

    from tracker.service.daemon import JobSpec

    def failing(now):  # type: ignore[no-untyped-def]
        raise RuntimeError("database or disk is full")

    assert daemon.runner.run(JobSpec(job, failing, IntervalTrigger(hours=1))) is False
    status, body = _readyz(daemon)
    assert status == 503
    assert body["checks"][f"{job}_job"] == {
        "ok": False, "detail": "last run failed at 2026-07-05T00:00:00Z (RuntimeError: database or disk is full)"}
    assert daemon.runner.run(JobSpec(job, lambda now: {}, IntervalTrigger(hours=1))) is True
    assert _readyz(daemon)[1]["checks"][f"{job}_job"]["ok"] is True


def test_on_a_full_disk_the_cli_says_so_in_one_line_and_exits_1(cli, sqlite_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import table_dump

    assert cli("record", "ev_deliveries", "2026-01", "30000").code == 0
    before = table_dump(sqlite_url)
    # no bytecode written while the file size is limited: a truncated .pyc would break later runs
    env = {"TRACKER_DATABASE_URL": sqlite_url, "TRACKER_CONFIG": str(CATALOG), "PYTHONPATH": str(ROOT),
           "PYTHONDONTWRITEBYTECODE": "1"}

    def limit() -> None:  # the child may write no file past its first kilobyte: the disk is full
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    rows = "\n".join(f"ev_deliveries,2025-{m:02d},{30000 + m}" for m in range(1, 13))
    (tmp_path / "many.csv").write_text("metric,period,value\n" + rows + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "tracker", "import", str(tmp_path / "many.csv")], env=env,
                          capture_output=True, text=True, preexec_fn=limit, timeout=60, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("tracker: error: database: ")
    assert "full" in done.stderr or "disk I/O" in done.stderr
    assert table_dump(sqlite_url) == before

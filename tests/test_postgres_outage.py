"""A PostgreSQL outage after start: the daemon stays up, /readyz says the database is not
ready, and it recovers when the server is back. The server is a private cluster this test
makes and stops itself (initdb and pg_ctl, as the `postgres` user when run as root), on a
free port in a temporary folder: the shared server on 5432 is never touched.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest

from tests.polling import wait_for

pytestmark = pytest.mark.slow


class Cluster:
    def __init__(self, folder: Path, port: int) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not binaries:
            pytest.fail("PostgreSQL's server binaries are not installed (/usr/lib/postgresql/*/bin)")
        self.bin = Path(binaries[-1]).parent
        self.folder = folder
        self.data = folder / "data"
        self.port = port
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    def _as_owner(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def create(self) -> Cluster:
        self._as_owner(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_owner(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "server.log"),
                       "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._as_owner(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    from tests.test_web_load import _free_port

    folder = Path(tempfile.mkdtemp(prefix="tracker-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    made = Cluster(folder, _free_port()).create()
    made.start()
    try:
        yield made
    finally:
        if made.running():
            made.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_an_outage_after_start_makes_the_daemon_unready_and_it_recovers(cluster: Cluster) -> None:
    import httpx

    from tests.counting_receiver import tracker_command, tracker_env
    from tests.test_web_load import _free_port

    port = _free_port()
    env = tracker_env(cluster.url, TRACKER_HTTP_PORT=str(port), TRACKER_EVALUATE__INTERVAL_SECONDS="3600",
                      TRACKER_DELIVER__INTERVAL_SECONDS="0.5")
    log = cluster.folder / "daemon.log"
    with log.open("wb") as sink:
        daemon = subprocess.Popen(tracker_command("run"), env=env, stdout=sink, stderr=sink)

    def readyz() -> tuple[int, dict] | None:
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        except httpx.HTTPError:
            return None
        return answer.status_code, answer.json()

    def database_ok(wanted: bool):  # type: ignore[no-untyped-def]
        return lambda: (found := readyz()) and found[1]["checks"]["database"]["ok"] is wanted and found

    try:
        status, body = wait_for(lambda: (found := readyz()) and found[0] == 200 and found, "a ready daemon", 90)
        cluster.stop()
        status, body = wait_for(database_ok(False), "readyz to see the outage", 30)
        assert status == 503 and body["ready"] is False
        detail = body["checks"]["database"]["detail"]
        assert detail.startswith("write failed (database postgresql+psycopg://postgres@127.0.0.1:")
        assert "cannot reach PostgreSQL" in detail
        assert daemon.poll() is None  # up, and unready, for as long as the server is away
        cluster.start()
        status, body = wait_for(lambda: (found := readyz()) and found[0] == 200 and found, "readyz to recover", 60)
        assert body["checks"]["database"] == {"ok": True, "detail": "takes writes"}
        assert daemon.poll() is None
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(60)
    text = log.read_text(encoding="utf-8")
    assert code == 0, text
    assert "daemon crashed" not in text and "Traceback" not in text


def test_a_failed_run_is_tried_again_soon_not_at_its_next_scheduled_time(tmp_path: Path) -> None:
    from datetime import datetime

    from apscheduler.triggers.interval import IntervalTrigger

    from tests.conftest import CATALOG
    from tracker.catalog.settings import Settings
    from tracker.service.daemon import RETRY_AFTER, Daemon, JobSpec
    from tracker.service.metrics import DaemonMetrics
    from tracker.store.runtime import Runtime

    def outage(now):  # type: ignore[no-untyped-def]
        raise RuntimeError("the database went away")

    runtime = Runtime(Settings(database_url=f"sqlite:///{tmp_path / 'tracker.db'}", config=CATALOG, http_port=0))
    jobs = [JobSpec("evaluate", outage, IntervalTrigger(hours=1), run_at_start=True)]
    daemon = Daemon(runtime, DaemonMetrics(), lambda catalog: jobs)
    daemon.start_scheduler()
    try:
        wait_for(lambda: not daemon.runner.last_outcome("evaluate")[0], "the first run to fail")
        job = wait_for(lambda: (job := daemon.scheduler.get_job("evaluate")) and job.next_run_time
                       and job.next_run_time <= datetime.now(UTC) + RETRY_AFTER and job, "the retry")
        assert job.next_run_time <= datetime.now(UTC) + RETRY_AFTER  # not in an hour
    finally:
        daemon.scheduler.shutdown(wait=True)

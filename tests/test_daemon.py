"""The daemon's units of work and scheduling, driven in-process with fakes and an injected
clock; signals in a subprocess (tests/daemon_harness.py); the SQLite lock."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.conftest import CATALOG, NOW
from tests.polling import wait_for

DEADLINE = 10.0



@pytest.fixture
def runtime(sqlite_url: str, tmp_path: Path):
    from tracker.catalog.settings import Settings
    from tracker.store.runtime import Runtime

    catalog = tmp_path / "goals.toml"
    catalog.write_text(CATALOG.read_text(encoding="utf-8"), encoding="utf-8")
    return Runtime(Settings(database_url=sqlite_url, config=catalog, http_port=0), clock=lambda: NOW)


@pytest.fixture
def log_lines():
    """Configures JSON logs into a buffer; returns a function giving the lines so far."""
    import io
    import json
    import logging

    import structlog

    from tracker.service import logs

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    buffer = io.StringIO()
    logs.configure("json", "info", stream=buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    root.handlers[:], level = saved
    root.setLevel(level)
    structlog.reset_defaults()


@pytest.fixture
def metrics():
    from tracker.service.metrics import DaemonMetrics

    return DaemonMetrics()


def sample(metrics, name: str, **labels) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def spec(job_id: str, work, **kw):
    from apscheduler.triggers.interval import IntervalTrigger

    from tracker.service.daemon import JobSpec

    return JobSpec(job_id, work, kw.pop("trigger", IntervalTrigger(hours=1)), **kw)


# ---------------------------------------------------------------- Runner: one run of a unit
def test_runner_passes_the_clock_and_counts_success(metrics):
    from tracker.service.daemon import Runner

    seen = []
    runner = Runner(metrics, clock=lambda: NOW)
    assert runner.run(spec("evaluate", lambda now: seen.append(now) or {"goals": 13}))
    assert seen == [NOW]
    assert sample(metrics, "tracker_job_runs_total", task="evaluate", outcome="ok") == 1
    assert sample(metrics, "tracker_job_last_success_timestamp_seconds", task="evaluate") == NOW.timestamp()
    assert runner.in_flight == 0


def test_runner_logs_and_counts_a_failure_without_raising(metrics, log_lines):
    from tracker.service.daemon import Runner

    def broken(now):
        raise RuntimeError("receiver table is gone")

    done = []
    runner = Runner(metrics, clock=lambda: NOW, on_done=lambda: done.append(1))
    assert runner.run(spec("deliver", broken)) is False
    assert sample(metrics, "tracker_job_runs_total", task="deliver", outcome="error") == 1
    assert sample(metrics, "tracker_job_last_success_timestamp_seconds", task="deliver") is None
    assert done == [1] and runner.in_flight == 0
    [line] = [line for line in log_lines() if line["event"] == "job failed"]
    assert line["job"] == "deliver" and line["level"] == "error"
    assert line["exception"][0]["exc_value"] == "receiver table is gone"
    assert all("locals" not in frame for frame in line["exception"][0]["frames"])


def test_runner_binds_context_per_job_so_nothing_leaks_between_jobs(metrics):
    """Pool threads are reused: a value bound inside one job must not show in the next."""
    import structlog

    from tracker.service.daemon import Runner

    runner = Runner(metrics, clock=lambda: NOW)
    seen = []

    def binds_goal(now):
        structlog.contextvars.bind_contextvars(goal="ev-deliveries-2026")
        seen.append(structlog.contextvars.get_contextvars())

    def looks(now):
        seen.append(structlog.contextvars.get_contextvars())

    runner.run(spec("evaluate", binds_goal))
    runner.run(spec("deliver", looks))
    assert seen == [{"job": "evaluate", "goal": "ev-deliveries-2026"}, {"job": "deliver"}]


# ---------------------------------------------------------------- the jobs built from catalog
class FakeUnits:
    def evaluate(self, now):
        return {}

    def deliver(self, now):
        return {}

    def collect(self, source, now):
        return {}

    def lead(self, now):
        return {}

    def prune(self, now):
        return {}


@pytest.mark.parametrize(
    ("cron", "after", "expected"),
    [
        ("0 * * * *", datetime(2026, 7, 5, 0, 20, tzinfo=timezone.utc), datetime(2026, 7, 5, 1, 0, tzinfo=timezone.utc)),
        # 09:00 in the catalog's Asia/Shanghai is 01:00 UTC
        ("0 9 * * *", datetime(2026, 7, 5, 2, 0, tzinfo=timezone.utc), datetime(2026, 7, 6, 1, 0, tzinfo=timezone.utc)),
        ("*/15 * * * *", datetime(2026, 7, 5, 0, 1, tzinfo=timezone.utc), datetime(2026, 7, 5, 0, 15, tzinfo=timezone.utc)),
    ],
    ids=["hourly-default", "daily-in-catalog-zone", "quarter-hourly"],
)
def test_evaluation_follows_the_cron_setting_in_the_catalog_time_zone(catalog, cron, after, expected):
    from tracker.catalog.settings import EvaluateSettings, Settings
    from tracker.service.jobs import build_jobs

    settings = Settings(evaluate=EvaluateSettings(cron=cron))
    jobs = {job.id: job for job in build_jobs(catalog, settings=settings, units=FakeUnits())}
    assert list(jobs) == ["evaluate", "deliver", "prune"]
    assert jobs["evaluate"].run_at_start and jobs["deliver"].run_at_start
    fire = jobs["evaluate"].trigger.get_next_fire_time(None, after)
    assert fire == expected
    start = datetime(2026, 7, 5, tzinfo=timezone.utc)
    assert jobs["deliver"].trigger.get_next_fire_time(start, start) - start == timedelta(seconds=5)


@pytest.mark.parametrize(
    ("database_url", "interval", "jobs", "evaluate_every", "renew_every"),
    [
        ("sqlite:///x.db", None, ["evaluate", "deliver", "prune"], None, None),
        ("sqlite:///x.db", 0.5, ["evaluate", "deliver", "prune"], 0.5, None),
        ("postgresql+psycopg://h/db", None, ["evaluate", "deliver", "prune", "lead"], None, 10.0),
    ],
    ids=["sqlite-cron", "interval-overrides-cron", "postgres-renews-every-third-of-ttl"],
)
def test_evaluation_interval_and_lease_renewal_jobs(catalog, database_url, interval, jobs, evaluate_every, renew_every):
    from tracker.catalog.settings import EvaluateSettings, Settings
    from tracker.service.jobs import build_jobs

    settings = Settings(database_url=database_url, evaluate=EvaluateSettings(interval_seconds=interval))
    built = {job.id: job for job in build_jobs(catalog, settings=settings, units=FakeUnits())}
    assert list(built) == jobs
    start = datetime(2026, 7, 5, tzinfo=timezone.utc)
    step = built["evaluate"].trigger.get_next_fire_time(start, start) - start
    assert step == (timedelta(seconds=evaluate_every) if evaluate_every else timedelta(hours=1))
    if renew_every:
        assert built["lead"].trigger.get_next_fire_time(start, start) - start == timedelta(seconds=renew_every)


@pytest.mark.parametrize(
    ("cron", "interval", "expected"),
    [("0 * * * *", None, timedelta(hours=1)), ("*/5 * * * *", None, timedelta(minutes=5)),
     ("0 9 * * 1-5", None, timedelta(days=3)), ("0 * * * *", 2.5, timedelta(seconds=2.5))],
    ids=["hourly", "five-minutes", "weekdays-widest-gap-is-the-weekend", "interval-setting-wins"],
)
def test_evaluation_interval_is_the_widest_gap(catalog, cron, interval, expected):
    from tracker.catalog.schedule import evaluation_interval
    from tracker.catalog.settings import EvaluateSettings, Settings

    settings = Settings(evaluate=EvaluateSettings(cron=cron, interval_seconds=interval))
    assert evaluation_interval(settings, catalog.timezone) == expected


@pytest.mark.parametrize("cron", ["every hour", "61 * * * *", "0 * * *"], ids=["words", "minute-61", "four-fields"])
def test_a_bad_cron_is_a_config_error_naming_the_setting(catalog, cron):
    from tracker.catalog.settings import EvaluateSettings, Settings
    from tracker.core.errors import ConfigError
    from tracker.service.jobs import build_jobs

    with pytest.raises(ConfigError, match=r"^setting TRACKER_EVALUATE__CRON: "):
        build_jobs(catalog, settings=Settings(evaluate=EvaluateSettings(cron=cron)), units=FakeUnits())


def test_each_source_gets_a_job_on_its_own_schedule(catalog):
    from tracker.catalog.model import parse_catalog
    from tracker.catalog.settings import Settings
    from tracker.service.jobs import build_jobs, source_jobs

    data = catalog.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["sources"] = [
        {"name": "ev-monthly", "kind": "http_json", "schedule": "0 10 5 * *", "metric": "ev_deliveries",
         "url": "http://127.0.0.1:1/ev", "value_path": "value", "period_path": "period"},
    ]
    with_source = parse_catalog(data)
    calls = []
    jobs = source_jobs(with_source, lambda source, now: calls.append((source.name, now)))
    assert [job.id for job in jobs] == ["collect:ev-monthly"]
    jobs[0].work(NOW)
    assert calls == [("ev-monthly", NOW)]
    fire = jobs[0].trigger.get_next_fire_time(None, NOW)  # NOW is 08:00 on the 5th in Shanghai
    assert fire == datetime(2026, 7, 5, 2, 0, tzinfo=timezone.utc)  # 10:00 the same day
    assert [job.id for job in build_jobs(with_source, settings=Settings(), units=FakeUnits())] == [
        "evaluate", "deliver", "prune", "collect:ev-monthly"]


# ---------------------------------------------------------------- the scheduler, in-process
def test_start_runs_the_catch_up_jobs_at_once_and_counts_skipped_runs(runtime, metrics, log_lines):
    """Start-up jobs run at once (catch-up); a run that finds the previous one still going
    is skipped (max_instances=1), logged and counted, and the daemon goes on."""
    from apscheduler.triggers.interval import IntervalTrigger

    from tracker.service.daemon import Daemon

    release = threading.Event()
    calls = []

    def slow(now):
        calls.append(now)
        release.wait(DEADLINE)
        return {"done": 1}

    jobs = [spec("deliver", slow, trigger=IntervalTrigger(seconds=0.05), run_at_start=True)]
    daemon = Daemon(runtime, metrics, lambda catalog: jobs)
    daemon.start_scheduler()
    try:
        wait_for(lambda: calls, "the start-up run")
        assert calls[0] == NOW
        skipped = wait_for(lambda: [e for e in log_lines() if e["event"] == "job run skipped"], "a skipped run logged")
        assert (skipped[0]["job"], skipped[0]["reason"]) == ("deliver", "previous run still going")
        assert sample(metrics, "tracker_job_missed_total", task="deliver") >= 1
        assert daemon.readiness()["scheduler"] == (True, "running")
        release.set()
        wait_for(lambda: sample(metrics, "tracker_job_runs_total", task="deliver", outcome="ok"), "the run to finish")
    finally:
        release.set()
        daemon.scheduler.shutdown(wait=True)
    assert daemon.readiness()["scheduler"] == (False, "stopped")


def test_once_runs_each_start_up_job_in_order_and_reports_failure(runtime, metrics):
    from tracker.service.daemon import Daemon

    order = []
    ok = [spec("evaluate", lambda now: order.append("evaluate"), run_at_start=True),
          spec("collect:x", lambda now: order.append("collect"), run_at_start=False),
          spec("deliver", lambda now: order.append("deliver"), run_at_start=True)]
    assert Daemon(runtime, metrics, lambda catalog: ok).once() == 0
    assert order == ["evaluate", "deliver"]

    def broken(now):
        raise RuntimeError("database went away")

    failing = [spec("evaluate", broken, run_at_start=True), spec("deliver", lambda now: order.append("again"), run_at_start=True)]
    assert Daemon(runtime, metrics, lambda catalog: failing).once() == 1
    assert order[-1] == "again"  # one failing unit does not stop the others


def test_reload_keeps_the_old_catalog_when_the_new_one_is_invalid(runtime, metrics, log_lines):
    from tracker.service.daemon import Daemon
    built = []
    daemon = Daemon(runtime, metrics, lambda catalog: built.append(catalog) or [])
    before = runtime.catalog
    path = runtime.settings.config
    path.write_text(path.read_text(encoding="utf-8").replace('granularity = "month"', 'granularity = "fortnight"', 1))
    daemon.scheduler = _NoScheduler()
    assert daemon.reload() is False
    assert runtime.catalog is before and built == []
    assert sample(metrics, "tracker_catalog_reloads_total", outcome="error") == 1
    [line] = [line for line in log_lines() if line["event"].startswith("catalog reload failed")]
    assert line["level"] == "error" and "metric ev_deliveries, field granularity" in line["reason"]

    path.write_text(CATALOG.read_text(encoding="utf-8").replace("on_track = 0.8", "on_track = 0.95"))
    assert daemon.reload() is True
    assert runtime.catalog is not before and runtime.catalog.bands.on_track == pytest.approx(0.95)
    assert built == [runtime.catalog]
    assert sample(metrics, "tracker_catalog_reloads_total", outcome="ok") == 1


class _NoScheduler:
    def add_job(self, *args, **kwargs):
        pass

    def remove_job(self, job_id):
        pass


def test_readiness_reports_each_check(runtime, metrics):
    from tracker.service.daemon import Daemon

    daemon = Daemon(runtime, metrics, lambda catalog: [])
    before = daemon.readiness()
    assert before["catalog"] == (False, "not loaded")
    assert before["database"] == (False, "not connected yet")  # not migrated and connected yet
    runtime.catalog, runtime.engine  # the daemon loads and migrates them at start
    checks = daemon.readiness()
    assert checks["database"] == (True, "takes writes")
    assert checks["catalog"] == (True, f"{len(runtime.catalog.goals)} goals")
    assert checks["scheduler"] == (False, "stopped")
    assert checks["evaluate_job"] == checks["deliver_job"] == (True, "not run yet")


# ---------------------------------------------------------------- one daemon per SQLite file
def test_the_lock_refuses_a_second_daemon_on_the_same_file(sqlite_url, tmp_path):
    import os

    from tracker.core.errors import BadInput
    from tracker.service.lock import DaemonLock

    first = DaemonLock(sqlite_url).acquire()
    try:
        with pytest.raises(BadInput) as refused:
            DaemonLock(sqlite_url).acquire()
        database = str(tmp_path / "tracker.db")
        assert str(refused.value) == f"another tracker daemon (pid {os.getpid()}) is running on {database}; stop it first"
        DaemonLock(f"sqlite:///{tmp_path / 'other.db'}").acquire().release()  # another file is free
    finally:
        first.release()
    DaemonLock(sqlite_url).acquire().release()  # released: the next one may start


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "postgresql+psycopg://u@h/db"], ids=["memory", "memory-named", "postgres"])
def test_no_lock_where_there_is_no_file(url):
    from tracker.service.lock import DaemonLock

    lock = DaemonLock(url)
    assert lock.path is None
    lock.acquire().release()


def test_run_refuses_a_second_daemon_with_one_line_and_exit_2(cli, sqlite_url):
    from tests.conftest import table_dump
    from tracker.service.lock import DaemonLock

    assert cli("db", "upgrade").code == 0
    before = table_dump(sqlite_url, "alembic_version")
    lock = DaemonLock(sqlite_url).acquire()
    try:
        result = cli("run", "--once")
    finally:
        lock.release()
    assert result.code == 2
    *logged, last = result.err.splitlines()
    assert last.startswith("tracker: error: another tracker daemon (pid ") and last.endswith("; stop it first")
    assert [json.loads(line)["event"] for line in logged] == ["daemon cannot run"]  # the same line, logged
    assert table_dump(sqlite_url, "alembic_version") == before


# ---------------------------------------------------------------- signals, in a subprocess
@pytest.fixture
def harness(tmp_path: Path, sqlite_url: str):
    """Starts tests/daemon_harness.py; yields (process, its directory, its log lines)."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    catalog = tmp_path / "goals.toml"
    catalog.write_text(CATALOG.read_text(encoding="utf-8"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(PYTHONPATH=str(ROOT), TRACKER_DATABASE_URL=sqlite_url, TRACKER_CONFIG=str(catalog))
    log = tmp_path / "daemon.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "tests.daemon_harness", str(tmp_path)],
                                   env=env, cwd=ROOT, stdout=sink, stderr=sink)
    try:
        yield process, tmp_path, lambda: log.read_text(encoding="utf-8")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_sigterm_finishes_the_job_in_hand_then_exits_0(harness):
    import signal

    process, directory, log = harness
    wait_for(lambda: (directory / "started").exists(), "the job to start")
    process.send_signal(signal.SIGTERM)
    wait_for(lambda: "stopping: finishing the job in hand" in log(), "the daemon to start draining")
    assert process.poll() is None and not (directory / "finished").exists()
    (directory / "go").touch()
    assert process.wait(timeout=DEADLINE) == 0
    assert (directory / "finished").exists()
    assert '"event": "daemon stopped"' in log()


def test_a_second_signal_exits_at_once(harness):
    import signal

    process, directory, log = harness
    wait_for(lambda: (directory / "started").exists(), "the job to start")
    process.send_signal(signal.SIGINT)
    wait_for(lambda: "stopping: finishing the job in hand" in log(), "the daemon to start draining")
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=DEADLINE) == 128 + signal.SIGINT
    assert not (directory / "finished").exists()
    assert "second signal: exiting at once" in log()


def test_sighup_with_a_broken_catalog_keeps_the_old_one_and_runs_on(harness):
    import signal

    process, directory, log = harness
    wait_for(lambda: (directory / "started").exists(), "the job to start")
    (directory / "go").touch()
    wait_for(lambda: (directory / "finished").exists(), "the job to finish")
    (directory / "goals.toml").write_text("timezone = 'Mars/Olympus_Mons'\n")
    process.send_signal(signal.SIGHUP)
    wait_for(lambda: "catalog reload failed" in log(), "the failed reload to be logged")
    assert process.poll() is None
    (directory / "goals.toml").write_text(CATALOG.read_text(encoding="utf-8"))
    process.send_signal(signal.SIGHUP)
    wait_for(lambda: "catalog reloaded" in log(), "the reload")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=DEADLINE) == 0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TRACKER_EVALUATE__CRON": "every hour"},
         "tracker: error: setting TRACKER_EVALUATE__CRON: 'every hour' is not a crontab expression"),
        ({"TRACKER_HTTP_PORT": "{busy}"}, "tracker: error: setting TRACKER_HTTP_PORT: cannot listen on 127.0.0.1:{busy}"),
        ({"TRACKER_CONFIG": "/nonexistent/goals.toml"}, "tracker: error: catalog /nonexistent/goals.toml: file not found"),
        ({"TRACKER_LEADERSHIP__TTL_SECONDS": "0.5"},
         "tracker: error: setting TRACKER_LEADERSHIP__TTL_SECONDS: Input should be greater than or equal to 1"),
        ({"TRACKER_EVALUATE__INTERVAL_SECONDS": "0"},
         "tracker: error: setting TRACKER_EVALUATE__INTERVAL_SECONDS: Input should be greater than 0"),
    ],
    ids=["bad-cron", "port-taken", "no-catalog", "lease-ttl-too-short", "zero-evaluation-interval"],
)
def test_run_refuses_bad_settings_with_one_line_exit_2_and_writes_nothing(cli, tmp_path, env, message):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        env = {key: value.replace("{busy}", port) for key, value in env.items()}
        result = cli("run", env=env)
    assert result.code == 2
    *logged, last = result.err.splitlines()
    assert last.startswith(message.replace("{busy}", port))
    # refused once logging is set up: logged too, as the same line
    assert [json.loads(line)["reason"] for line in logged] in ([], [last.removeprefix("tracker: error: ")])
    assert not (tmp_path / "tracker.db").exists()


def test_once_evaluates_and_delivers_then_exits_and_a_second_run_sends_nothing(cli, database_url, httpserver, tmp_path):
    """`tracker run --once` on SQLite and PostgreSQL: one cycle, one pass, exit 0; run again,
    nothing new is queued or sent (alert state is in the database)."""
    from sqlalchemy import create_engine, text

    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=204)
    env = {"TRACKER_DATABASE_URL": database_url, "TRACKER_WEBHOOK_URL": httpserver.url_for("/hook")}
    (tmp_path / "ev.csv").write_text("metric,period,value\nev_deliveries,2026-01,1000\nev_deliveries,2026-02,1000\n")
    assert cli("import", str(tmp_path / "ev.csv"), env=env).code == 0

    first = cli("run", "--once", env=env)
    assert first.code == 0, first.err
    sent = len(httpserver.log)
    assert sent > 0
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT state, count(*) FROM outbox GROUP BY state")).all()
        assert dict(rows) == {"sent": sent}
        second = cli("run", "--once", env=env)
        assert second.code == 0, second.err
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM outbox")).scalar() == sent
    finally:
        engine.dispose()
    assert len(httpserver.log) == sent
    jobs = [json.loads(line) for line in first.err.splitlines()]
    assert [(e["job"], e["event"]) for e in jobs if e["event"] == "job done"] == [("evaluate", "job done"), ("deliver", "job done")]


def test_the_collect_unit_records_a_sources_actuals(runtime, metrics, tmp_path):
    from tracker.catalog.sources import SourceConfig
    from tracker.service.jobs import Units
    from tracker.store import actuals as store
    from tracker.store import db

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "ev.csv").write_text("metric,period,value\nev_deliveries,2026-05,40123\n")
    source = SourceConfig(name="ev-drop", kind="csv_dir", schedule="*/5 * * * *", directory=inbox)
    units = Units(runtime, metrics)
    try:
        assert units.collect(source, NOW) == {"outcome": "ok", "recorded": 1}
        assert units.collect(source, NOW) == {"outcome": "ok", "recorded": 0}  # the file moved to done/
    finally:
        units.close()
    counted = metrics.registry.get_sample_value("tracker_collections_total", {"source": "ev-drop", "outcome": "ok"})
    assert counted == 2
    with db.session(runtime.engine) as session:
        assert [(r.period, r.value) for r in store.history(session, metric="ev_deliveries")] == [("2026-05", 40123)]


def test_the_prune_unit_removes_finished_notifications_past_retention(runtime, metrics):
    from tracker.delivery import outbox
    from tracker.service.jobs import OUTBOX_RETENTION, Units
    from tracker.store import db

    with db.session(runtime.engine, write=True) as session:
        for event in ("alert.firing", "alert.resolved"):
            row = outbox.enqueue(session, receiver="r", fingerprint="f", subject="goal:g", event=event,
                                 reason="first notification", body=b"{}", now=NOW)
            row.state = outbox.SENT if event == "alert.firing" else row.state  # one sent, one still queued
    units = Units(runtime, metrics)
    assert units.prune(NOW + OUTBOX_RETENTION) == {}  # not older than the retention yet
    assert units.prune(NOW + OUTBOX_RETENTION + timedelta(seconds=1)) == {"pruned": 1}
    with db.session(runtime.engine) as session:
        assert outbox.depth(session) == 1  # the queued one stays


def test_a_delivery_pass_does_not_dispatch_while_a_cycle_runs(runtime, metrics, monkeypatch):
    """While the evaluate unit's cycle holds `cycling`, the delivery unit's dispatch is
    skipped without reading anything (the cycle dispatches at its end); after it, it runs."""
    from tracker.alerting.dispatch import DispatchResult
    from tracker.service import jobs
    from tracker.service.jobs import Units

    runs: list[object] = []
    monkeypatch.setattr(jobs, "dispatch_pass", lambda runtime, **kw: runs.append(kw) or DispatchResult())
    units = Units(runtime, metrics)
    inside: list[int] = []
    real_cycle = jobs.evaluate_cycle

    def cycle(runtime, **kw):  # type: ignore[no-untyped-def]
        inside.append(units.dispatch(NOW))  # what a delivery pass on another thread gets meanwhile
        return real_cycle(runtime, **kw)

    monkeypatch.setattr(jobs, "evaluate_cycle", cycle)
    try:
        units.evaluate(NOW)
        assert inside == [0] and runs == [] and units.gate.skipped == 0
        units.dispatch(NOW)
        assert len(runs) == 1 and not units.cycling.locked()
    finally:
        units.close()


def test_only_a_cycle_that_judged_or_queued_collects_and_trims(runtime, metrics, monkeypatch):
    """A full collection after every cycle would walk the whole heap each time; a steady
    cycle (every verdict reused, nothing queued) leaves its garbage to the young collections."""
    from tracker.service import memory
    from tracker.service.jobs import Units
    from tracker.store import db

    given: list[int] = []
    monkeypatch.setattr(memory, "give_back", lambda: given.append(1))
    db.ensure_schema(runtime.engine)
    units = Units(runtime, metrics)
    try:
        counts, queued = [], []
        for later in (timedelta(0), timedelta(minutes=1), timedelta(minutes=2)):
            queued.append(units.evaluate(NOW + later)["queued"])
            counts.append(len(given))
    finally:
        units.close()
    # Judged every goal; then group_wait ended and the first notifications were drafted; then steady.
    assert (counts, [q > 0 for q in queued]) == ([1, 2, 2], [False, True, False])
    assert runtime.remembered.built == 0


@pytest.mark.parametrize(("built", "queued", "collects"), [
    (0, 0, False),  # steady: every verdict reused (milestones aside), nothing queued
    (0, 1, True),  # a notification drafted
    (1, 0, True),  # one goal judged, or one verdict decoded from the table
])
def test_what_counts_as_a_cycle_that_left_garbage(built, queued, collects):
    from types import SimpleNamespace

    from tracker.service.jobs import left_garbage

    assert left_garbage(SimpleNamespace(queued=queued), SimpleNamespace(built=built)) is collects

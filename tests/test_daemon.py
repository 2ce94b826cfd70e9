"""The daemon's units of work and scheduling, driven in-process with fakes and an injected
clock; signals in a subprocess (tests/daemon_harness.py); the SQLite lock."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.conftest import CATALOG, NOW

DEADLINE = 10.0


def wait_for(condition, what: str, deadline: float = DEADLINE):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def runtime(sqlite_url: str, tmp_path: Path):
    from tracker.runtime import Runtime
    from tracker.settings import Settings

    catalog = tmp_path / "goals.toml"
    catalog.write_text(CATALOG.read_text(encoding="utf-8"), encoding="utf-8")
    return Runtime(Settings(database_url=sqlite_url, config=catalog, http_port=0), clock=lambda: NOW)


@pytest.fixture
def metrics():
    from tracker.metrics import DaemonMetrics

    return DaemonMetrics()


def sample(metrics, name: str, **labels) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def spec(job_id: str, work, **kw):
    from apscheduler.triggers.interval import IntervalTrigger

    from tracker.daemon import JobSpec

    return JobSpec(job_id, work, kw.pop("trigger", IntervalTrigger(hours=1)), **kw)


# ---------------------------------------------------------------- Runner: one run of a unit
def test_runner_passes_the_clock_and_counts_success(metrics):
    from tracker.daemon import Runner

    seen = []
    runner = Runner(metrics, clock=lambda: NOW)
    assert runner.run(spec("evaluate", lambda now: seen.append(now) or {"goals": 13}))
    assert seen == [NOW]
    assert sample(metrics, "tracker_job_runs_total", job="evaluate", outcome="ok") == 1
    assert sample(metrics, "tracker_job_last_success_timestamp_seconds", job="evaluate") == NOW.timestamp()
    assert runner.in_flight == 0


def test_runner_logs_and_counts_a_failure_without_raising(metrics, capsys):
    from tracker import logs
    from tracker.daemon import Runner

    logs.configure("json", "info")

    def broken(now):
        raise RuntimeError("receiver table is gone")

    done = []
    runner = Runner(metrics, clock=lambda: NOW, on_done=lambda: done.append(1))
    assert runner.run(spec("deliver", broken)) is False
    assert sample(metrics, "tracker_job_runs_total", job="deliver", outcome="error") == 1
    assert sample(metrics, "tracker_job_last_success_timestamp_seconds", job="deliver") is None
    assert done == [1] and runner.in_flight == 0
    err = capsys.readouterr().err
    assert '"event": "job failed"' in err and '"job": "deliver"' in err and "receiver table is gone" in err


def test_runner_binds_context_per_job_so_nothing_leaks_between_jobs(metrics):
    """Pool threads are reused: a value bound inside one job must not show in the next."""
    import structlog

    from tracker.daemon import Runner

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
    from tracker.jobs import build_jobs
    from tracker.settings import EvaluateSettings, Settings

    settings = Settings(evaluate=EvaluateSettings(cron=cron))
    jobs = {job.id: job for job in build_jobs(catalog, settings=settings, units=FakeUnits())}
    assert list(jobs) == ["evaluate", "deliver"]
    assert jobs["evaluate"].run_at_start and jobs["deliver"].run_at_start
    fire = jobs["evaluate"].trigger.get_next_fire_time(None, after)
    assert fire == expected
    start = datetime(2026, 7, 5, tzinfo=timezone.utc)
    assert jobs["deliver"].trigger.get_next_fire_time(start, start) - start == timedelta(seconds=5)


@pytest.mark.parametrize("cron", ["every hour", "61 * * * *", "0 * * *"], ids=["words", "minute-61", "four-fields"])
def test_a_bad_cron_is_a_config_error_naming_the_setting(catalog, cron):
    from tracker.errors import ConfigError
    from tracker.jobs import build_jobs
    from tracker.settings import EvaluateSettings, Settings

    with pytest.raises(ConfigError, match=r"^setting TRACKER_EVALUATE__CRON: "):
        build_jobs(catalog, settings=Settings(evaluate=EvaluateSettings(cron=cron)), units=FakeUnits())


def test_each_source_gets_a_job_on_its_own_schedule(catalog):
    from tracker.catalog import parse_catalog
    from tracker.jobs import source_jobs

    data = catalog.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["sources"] = [
        {"name": "ev-monthly", "kind": "http_json", "schedule": "0 10 5 * *", "metric": "ev_deliveries",
         "url": "http://127.0.0.1:1/ev", "value_path": "value"},
    ]
    with_source = parse_catalog(data)
    calls = []
    jobs = source_jobs(with_source, lambda source, now: calls.append((source.name, now)))
    assert [job.id for job in jobs] == ["collect:ev-monthly"]
    jobs[0].work(NOW)
    assert calls == [("ev-monthly", NOW)]
    assert source_jobs(with_source, None) == []

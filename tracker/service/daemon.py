"""`tracker run`: scheduled units of work, and the signals that steer them.

The daemon knows nothing of goals or webhooks: it runs `JobSpec`s, each a unit of work that
takes `now` and returns a summary of what it did (empty when nothing was due). The jobs are
built from the catalog and settings (tracker.service.jobs) at start and again on SIGHUP, into an
in-memory job store: a store shared by several scheduler processes would run jobs twice.

Signal handlers only set flags; the main thread, woken through the signal wakeup fd, acts on
them between jobs: SIGTERM/SIGINT stop scheduling, tell running work to wind down (`on_stop`:
delivery stops claiming and gives its requests in flight TRACKER_DELIVER__DRAIN_SECONDS) and
let the job in hand finish (exit 0), a second one exits at once, SIGHUP reloads the catalog (an invalid one is logged and the old
one kept).
"""

from __future__ import annotations

import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from tracker.catalog.cache import catalog as cached_catalog
from tracker.catalog.locate import locate
from tracker.core.errors import ConfigError
from tracker.service import logs, memory
from tracker.store.zones import follow_zone
from tracker.store import heartbeat
from tracker.store.db import db_reason

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

    from tracker.catalog.model import Catalog
    from tracker.service.metrics import DaemonMetrics
    from tracker.store.runtime import Runtime

Work = Callable[[datetime], "Mapping[str, Any] | None"]

# Deliberate job defaults. coalesce: runs missed while the process was stopped or busy fold
# into one (evaluate and deliver are idempotent; running them five times in a row is waste).
# misfire_grace_time=None: a late run still runs however late (APScheduler's default of 1 s
# silently skips a job that starts late, e.g. after a suspend or a slow previous run).
# max_instances=1: a slow delivery pass is never overtaken by the next one; the skipped run
# is logged and counted as missed.
JOB_DEFAULTS = {"coalesce": True, "misfire_grace_time": None, "max_instances": 1}
READY_JOBS = ("evaluate", "deliver")  # /readyz fails while the last run of either failed
# A failed run is tried again this soon rather than at its next scheduled time: an hourly
# evaluation that met a database outage would otherwise keep /readyz failing for an hour
# after the database came back.
RETRY_AFTER = timedelta(seconds=15)


@dataclass(frozen=True)
class JobSpec:
    id: str
    work: Work
    trigger: BaseTrigger
    run_at_start: bool = False  # also run once as soon as the daemon starts (catch-up)
    max_instances: int = 1  # runs of this job at once


def _overlap(specs: list[JobSpec]) -> int:
    """Threads for the runs of jobs that may overlap, beyond one each."""
    return sum(spec.max_instances - 1 for spec in specs)


class Runner:
    """Runs units of work for the scheduler: a fresh log context, `now` from the clock,
    counting and logging of results and errors. Never raises: a failing job is never fatal."""

    def __init__(
        self, metrics: DaemonMetrics, clock: Callable[[], datetime], on_done: Callable[[], None] = lambda: None
    ) -> None:
        self.metrics = metrics
        self.clock = clock
        self.on_done = on_done
        self._lock = threading.Lock()
        self.in_flight = 0
        self._last: dict[str, tuple[bool, str]] = {}  # job id -> (ok, what happened)

    def run(self, spec: JobSpec) -> bool:
        """Runs `spec` once; True when it finished without error."""
        with self._lock:
            self.in_flight += 1
        try:
            with logs.job_context(job=spec.id):
                return self._run(spec)
        finally:
            with self._lock:
                self.in_flight -= 1
            self.on_done()

    def last_outcome(self, job: str) -> tuple[bool, str]:
        """Whether the job's last run went well; a job that has not run yet has not failed."""
        return self._last.get(job, (True, "not run yet"))

    def _run(self, spec: JobSpec) -> bool:
        log = logs.get("tracker.daemon")
        now = self.clock()
        started = time.perf_counter()
        try:
            summary = spec.work(now)
        except Exception as problem:
            self.metrics.job_runs.labels(task=spec.id, outcome="error").inc()
            log.exception("job failed", seconds=round(time.perf_counter() - started, 3))
            self._last[spec.id] = (False, f"last run failed at {now:%Y-%m-%dT%H:%M:%SZ} ({db_reason(problem)})")
            return False
        self._last[spec.id] = (True, f"last run ok at {now:%Y-%m-%dT%H:%M:%SZ}")
        self.metrics.job_runs.labels(task=spec.id, outcome="ok").inc()
        self.metrics.job_last_success.labels(task=spec.id).set(now.timestamp())
        # Routine passes that found nothing to do stay at debug: an idle daemon is quiet.
        level = log.info if summary else log.debug
        level("job done", seconds=round(time.perf_counter() - started, 3), **dict(summary or {}))
        return True


class Daemon:
    """The scheduler, the signal flags and the main loop that acts on them."""

    def __init__(
        self,
        runtime: Runtime,
        metrics: DaemonMetrics,
        jobs_for: Callable[[Catalog], list[JobSpec]],
        *,
        on_reload: Callable[[Catalog], None] = lambda catalog: None,
        on_stop: Callable[[], None] = lambda: None,
        pages: Any = None,
    ) -> None:
        memory.limit_arenas(os.environ)  # before any of the daemon's threads (HTTP included) starts
        self.runtime = runtime
        self.metrics = metrics
        self.jobs_for = jobs_for
        self.on_reload = on_reload
        self.on_stop = on_stop  # tells running work to wind down (delivery stops claiming)
        self.pages = pages  # tracker.service.pages.Pages: the web's `/`, drawn on its own thread
        self.log = logs.get("tracker.daemon")
        self.stop_signals = 0  # set by signal handlers only
        self.reload_requested = False  # set by signal handlers only
        self.last_signal = 0
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self.runner = Runner(metrics, runtime.now, on_done=self.wake)
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self._ready_lock = threading.Lock()
        self._database_ready: tuple[float, tuple[bool, str]] | None = None
        self.scheduler: Any = None
        self.specs: dict[str, JobSpec] = {}
        self._reload_lock = threading.Lock()
        # The entry point loads the catalog before building the daemon: that was the first load.
        metrics.observe_reload(True, runtime.now())

    # -- the flags, and waking the main loop ---------------------------------------------
    def wake(self) -> None:
        try:
            os.write(self._wake_w, b"\0")
        except BlockingIOError:
            pass  # the pipe is full: the main loop is awake already

    def _on_stop(self, signum: int, _frame: object) -> None:
        self.stop_signals += 1
        self.last_signal = signum

    def _on_hup(self, _signum: int, _frame: object) -> None:
        self.reload_requested = True

    def install_signal_handlers(self) -> None:
        signal.set_wakeup_fd(self._wake_w)  # a signal wakes the main loop's select()
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)

    def _wait(self, timeout: float | None) -> None:
        readable, _, _ = select.select([self._wake_r], [], [], timeout)
        if readable:
            os.read(self._wake_r, 4096)

    # -- the scheduler ---------------------------------------------------------------------
    def start_scheduler(self) -> None:
        catalog = self.runtime.catalog
        specs = self.jobs_for(catalog)
        self.scheduler = BackgroundScheduler(
            timezone=catalog.timezone,
            job_defaults=JOB_DEFAULTS,
            # one thread per job at most (max_instances=1), and room for jobs added on reload
            executors={"default": ThreadPoolExecutor(max_workers=max(4, len(specs) + 2) + _overlap(specs))},
        )
        self.scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        self.scheduler.add_listener(self._on_error, EVENT_JOB_ERROR)
        self._install(specs, run_now=True)
        self.scheduler.start()

    def _install(self, specs: list[JobSpec], *, run_now: bool) -> None:
        # The scheduler runs on the wall clock whatever clock the units get: a first run
        # time from an injected clock far in the past would make APScheduler list every
        # interval since then.
        now = datetime.now(timezone.utc)
        for spec in specs:
            first = {"next_run_time": now} if run_now and spec.run_at_start else {}
            self.scheduler.add_job(
                self._run_job, spec.trigger, args=[spec], id=spec.id, name=spec.id, replace_existing=True,
                max_instances=spec.max_instances, **first
            )
        for old in set(self.specs) - {spec.id for spec in specs}:
            self.scheduler.remove_job(old)
        self.specs = {spec.id: spec for spec in specs}
        self.log.info("jobs scheduled", jobs={s.id: str(s.trigger) for s in specs})

    def _run_job(self, spec: JobSpec) -> None:
        if not self.runner.run(spec):
            self._retry_soon(spec.id)

    def _retry_soon(self, job_id: str) -> None:
        """Brings a failed job's next run forward to RETRY_AFTER from now, if it is later."""
        job = self.scheduler.get_job(job_id) if self.scheduler_running() else None
        soon = datetime.now(timezone.utc) + RETRY_AFTER
        if job is not None and job.next_run_time is not None and job.next_run_time > soon:
            job.modify(next_run_time=soon)

    def _on_missed(self, event: Any) -> None:
        # A missed run's event has scheduled_run_time; a "still running" one, a list of them.
        when = getattr(event, "scheduled_run_time", None) or getattr(event, "scheduled_run_times", [None])[-1]
        self.metrics.job_missed.labels(task=event.job_id).inc()

        reason = "previous run still going" if event.code == EVENT_JOB_MAX_INSTANCES else "too late"
        self.log.warning("job run skipped", job=event.job_id, scheduled=str(when), reason=reason)

    def _on_error(self, event: Any) -> None:
        # Runner.run catches everything; this is the net under the net.
        self.metrics.job_runs.labels(task=event.job_id, outcome="error").inc()
        self.log.error("job crashed", job=event.job_id, error=repr(event.exception))

    def scheduler_running(self) -> bool:
        return self.scheduler is not None and self.scheduler.state == STATE_RUNNING

    # -- reload, readiness -------------------------------------------------------------------
    def reload(self) -> bool:
        """Reads the catalog again; an invalid one is logged and the old one kept."""
        return self.reload_catalog() is None

    def reload_catalog(self) -> str | None:
        """`reload`, saying why it failed (None when it did not): SIGHUP and POST /-/reload."""
        with self._reload_lock:  # the main thread (SIGHUP) and HTTP threads (/-/reload)
            try:
                catalog = cached_catalog(locate(self.runtime.settings).path)
                specs = self.jobs_for(catalog)
            except ConfigError as problem:
                self.metrics.reloads.labels(outcome="error").inc()
                self.metrics.observe_reload(False, self.runtime.now())
                self.log.error("catalog reload failed; keeping the previous catalog", reason=str(problem))
                return str(problem)
            self._swap(catalog, specs)
            return None

    def _swap(self, catalog: Catalog, specs: list[JobSpec]) -> None:
        follow_zone(self.runtime.engine, catalog.timezone)  # a new zone re-derives the stored bounds
        self.runtime.catalog = catalog  # one reference swap: a running job keeps what it read
        self.on_reload(catalog)
        self._install(specs, run_now=True)
        self.metrics.reloads.labels(outcome="ok").inc()
        self.metrics.observe_reload(True, self.runtime.now())
        self.log.info("catalog reloaded", path=str(catalog.path), goals=len(catalog.goals))

    def readiness(self) -> dict[str, tuple[bool, str]]:
        """What /readyz reports: each check as (ok, detail). The database check writes a
        heartbeat row, at most once a second (probes come in bursts)."""
        catalog = self.runtime.__dict__.get("catalog")
        checks = {
            "database": self._database_check(),
            "catalog": (catalog is not None, f"{len(catalog.goals)} goals" if catalog else "not loaded"),
            "scheduler": (self.scheduler_running(), "running" if self.scheduler_running() else "stopped"),
        }
        for job in READY_JOBS:
            checks[f"{job}_job"] = self.runner.last_outcome(job)
        return checks

    def _database_check(self) -> tuple[bool, str]:
        with self._ready_lock:
            if self._database_ready is not None and time.monotonic() - self._database_ready[0] < 1.0:
                return self._database_ready[1]
            # Never `runtime.engine` here: from the HTTP thread it would race the start-up migration.
            engine = self.runtime.__dict__.get("engine")
            if engine is None:
                return (False, "not connected yet")
            try:
                heartbeat.beat(engine, holder=self.holder, now=self.runtime.now())
                found = (True, "takes writes")
            except Exception as problem:  # any failure means not ready; say which, briefly
                found = (False, f"write failed ({db_reason(problem)})")
            self._database_ready = (time.monotonic(), found)
            return found

    # -- the main loop -------------------------------------------------------------------------
    def serve(self) -> int:
        """Runs until SIGTERM/SIGINT; returns the exit status (0 after a clean drain)."""
        if self.stop_signals:  # asked to stop while starting up: nothing has run yet
            self.log.info("daemon stopped before its first job")
            return 0
        if self.pages is not None:
            self.pages.start()
        self.start_scheduler()
        self.log.info("daemon started", pid=os.getpid())
        while not self.stop_signals:
            self._wait(None)
            if self.reload_requested:
                self.reload_requested = False
                self.reload()
        self.log.info("stopping: finishing the job in hand", running=self.runner.in_flight)
        self.on_stop()
        self.scheduler.shutdown(wait=False)
        if self.pages is not None and not self.pages.stop():
            # never leave while the worker may be inside matplotlib's C++: that aborts
            self.log.warning("page render still running at exit")
        while self.runner.in_flight and self.stop_signals < 2:
            self._wait(1.0)
        if self.runner.in_flight:
            # The second signal: leave at once. The job's open transaction is never
            # committed, so the database keeps its last consistent state.
            self.log.warning("second signal: exiting at once", running=self.runner.in_flight)
            return 128 + self.last_signal
        self.log.info("daemon stopped")
        return 0

    def once(self) -> int:
        """`tracker run --once`: each start-up job once, in order; 1 if any failed."""
        ok = [self.runner.run(spec) for spec in self.jobs_for(self.runtime.catalog) if spec.run_at_start]
        return 0 if all(ok) else 1

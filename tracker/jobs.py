"""The daemon's jobs, built from the catalog and settings: the wiring between the scheduler
(tracker.daemon) and the work (evaluation, delivery, and a collection per catalog source).

Catch-up: evaluation runs once at start, then on its cron schedule. A daemon that was down
over a scheduled evaluation therefore evaluates at once; so does one that was not, at the
cost of one extra cycle per start. That cycle is idempotent (alert states and notification
times live in the database, so it re-sends nothing), and it spares a "last evaluated" table
whose only use would be to skip one cheap cycle.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import TYPE_CHECKING, Any

from tracker import logs
from tracker.daemon import JobSpec
from tracker.errors import ConfigError

if TYPE_CHECKING:
    import httpx

    from tracker.catalog import Catalog
    from tracker.collectors.config import SourceConfig
    from tracker.metrics import DaemonMetrics
    from tracker.runtime import Runtime

Collect = Callable[["SourceConfig", datetime], "Mapping[str, Any] | None"]


# Finished notifications (sent, muted, superseded) are kept this long, then pruned daily;
# queued and dead ones stay until delivered or replayed.
OUTBOX_RETENTION = timedelta(days=30)
PRUNE_SCHEDULE = "17 3 * * *"


def cron(expression: str, catalog: Catalog, what: str):  # type: ignore[no-untyped-def]
    """A crontab trigger in the catalog's time zone; a bad expression names its setting."""
    from apscheduler.triggers.cron import CronTrigger

    try:
        return CronTrigger.from_crontab(expression, timezone=catalog.timezone)
    except ValueError as problem:
        raise ConfigError(f"{what}: {expression!r} is not a crontab expression ({problem})") from None


def evaluation_trigger(settings: Any, catalog: Catalog):  # type: ignore[no-untyped-def]
    """When the daemon evaluates: every TRACKER_EVALUATE__INTERVAL_SECONDS when set, else
    on the TRACKER_EVALUATE__CRON schedule."""
    from apscheduler.triggers.interval import IntervalTrigger

    if settings.evaluate.interval_seconds is not None:
        return IntervalTrigger(seconds=settings.evaluate.interval_seconds)
    return cron(settings.evaluate.cron, catalog, "setting TRACKER_EVALUATE__CRON")


def evaluation_interval(settings: Any, catalog: Catalog) -> timedelta:
    """The longest gap between evaluations: the interval setting, or the widest gap between
    the cron schedule's fire times over a week from a fixed Monday (at most 2,000 of them)."""
    if settings.evaluate.interval_seconds is not None:
        return timedelta(seconds=settings.evaluate.interval_seconds)
    trigger = evaluation_trigger(settings, catalog)
    start = datetime(2026, 1, 5, tzinfo=timezone.utc)
    fires = [trigger.get_next_fire_time(None, start)]
    while fires[-1] is not None and fires[-1] < start + timedelta(days=8) and len(fires) < 2000:
        fires.append(trigger.get_next_fire_time(fires[-1], fires[-1] + timedelta(microseconds=1)))
    gaps = [b - a for a, b in zip(fires, fires[1:]) if b is not None]
    return max(gaps, default=timedelta(days=1))


def build_jobs(catalog: Catalog, *, settings: Any, units: Units) -> list[JobSpec]:
    """Every scheduled job for this catalog and these settings, in start-up order."""
    from apscheduler.triggers.interval import IntervalTrigger

    from tracker.replicas import is_shared

    delivery = IntervalTrigger(seconds=settings.deliver.interval_seconds)
    jobs = [
        JobSpec("evaluate", units.evaluate, evaluation_trigger(settings, catalog), run_at_start=True),
        JobSpec("deliver", units.deliver, delivery, run_at_start=True),
        JobSpec("prune", units.prune, cron(PRUNE_SCHEDULE, catalog, "prune schedule")),
    ]
    if is_shared(settings.database_url):  # replicas on PostgreSQL: keep the lease while leading
        renew = IntervalTrigger(seconds=settings.leadership.ttl_seconds / 3)
        jobs.append(JobSpec("lead", units.lead, renew))
    return jobs + source_jobs(catalog, units.collect)


def source_jobs(catalog: Catalog, collect: Collect) -> list[JobSpec]:
    """One job per catalog source, on the source's own schedule."""
    def job(source: SourceConfig) -> JobSpec:
        where = f"catalog {catalog.path}: source {source.name}, field schedule"
        return JobSpec(f"collect:{source.name}", partial(collect, source), cron(source.schedule, catalog, where))

    return [job(source) for source in catalog.sources]


class Units:
    """The units of work the daemon schedules: each takes `now` and returns what it did."""

    def __init__(self, runtime: Runtime, metrics: DaemonMetrics) -> None:
        from tracker.replicas import Leadership

        self.runtime = runtime
        self.metrics = metrics
        self.leadership = Leadership(runtime, metrics)
        self._client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        """One HTTP client for the daemon's life: connections to receivers are reused."""
        if self._client is None:
            import httpx

            self._client = httpx.Client(timeout=self.runtime.settings.deliver.timeout_seconds)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def lead(self, now: datetime) -> dict[str, Any]:
        return self.leadership.renew(now)

    def evaluate(self, now: datetime) -> dict[str, Any]:
        from tracker import db
        from tracker.alerts import evaluate_cycle
        from tracker.metrics import last_actuals

        from tracker.leadership import LeaseLost

        fence = self.leadership.acquire(now)
        if fence is None:
            # Another replica leads and evaluates; goal series come from it alone, never stale here.
            self.metrics.observe_evaluation((), {})
            return {}
        started = time.perf_counter()
        try:
            result = evaluate_cycle(self.runtime, now=now, fence=fence)
        except LeaseLost as lost:
            self.leadership.lost(str(lost))
            return {"abandoned": 1}
        self.metrics.evaluation_seconds.observe(time.perf_counter() - started)
        with db.session(self.runtime.engine) as session:
            latest = last_actuals(session)
        self.metrics.observe_evaluation(result.evaluations, latest)
        log = logs.get("tracker.jobs")
        for item in result.evaluations:
            with logs.bound(goal=item.goal):
                log.debug("goal evaluated", status=str(item.status), stale=item.stale)
        return cycle_summary(result)

    def collect(self, source: SourceConfig, now: datetime) -> dict[str, Any]:
        """One collection of `source`; a failing source is a result (logged, journaled and
        alerted on by the evaluation), not an error of the job."""
        from tracker.collectors import collect

        with logs.bound(source=source.name, metric=source.metric):
            result = collect(self.runtime, source, now=now, client=self.client)
        self.metrics.collections.labels(source=source.name, outcome=result.outcome).inc()
        return {"outcome": result.outcome, "recorded": result.recorded}

    def prune(self, now: datetime) -> dict[str, Any]:
        """Deletes finished notifications older than OUTBOX_RETENTION."""
        from tracker import db, outbox

        with db.session(self.runtime.engine, write=True) as session:
            removed = outbox.prune(session, before=now - OUTBOX_RETENTION)
        return {"pruned": removed} if removed else {}

    def deliver(self, now: datetime) -> dict[str, Any]:
        from tracker import db
        from tracker.delivery import deliver_pass
        from tracker.outbox import depth

        result = deliver_pass(self.runtime, now=now, client=self.client)
        with db.session(self.runtime.engine) as session:
            queued = depth(session)
        per_receiver = receiver_counts(result)
        self.metrics.observe_delivery(per_receiver, queued)
        busy = {receiver: counts for receiver, counts in per_receiver.items() if any(counts.values())}
        log = logs.get("tracker.jobs")
        for receiver, counts in busy.items():
            with logs.bound(receiver=receiver):
                (log.warning if counts["dead"] else log.info)("delivery pass", **counts)
        return {"receivers": len(busy), "queued": queued} if busy else {}


def cycle_summary(result: Any) -> dict[str, Any]:
    """The counts of an evaluation cycle, for the log line of the job."""
    summary = {"goals": len(result.evaluations)}
    summary.update({name: getattr(result, name) for name in ("pending", "firing", "resolved", "queued")})
    return summary


def receiver_counts(result: Any) -> dict[str, dict[str, int]]:
    """A delivery pass's sent/failed/dead counts by receiver."""
    return {
        name: {"sent": counts.sent, "failed": counts.failed, "dead": counts.dead}
        for name, counts in result.receivers.items()
    }

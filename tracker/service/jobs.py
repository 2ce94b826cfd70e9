"""The daemon's jobs, built from the catalog and settings: the wiring between the scheduler
(tracker.service.daemon) and the work (evaluation, delivery, and a collection per catalog source).

Catch-up: evaluation runs once at start, then on its cron schedule. A daemon that was down
over a scheduled evaluation therefore evaluates at once; so does one that was not, at the
cost of one extra cycle per start. That cycle is idempotent (alert states and notification
times live in the database, so it re-sends nothing), and it spares a "last evaluated" table
whose only use would be to skip one cheap cycle.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx
from apscheduler.triggers.interval import IntervalTrigger

from tracker.alerting.cycle import evaluate_cycle
from tracker.alerting.dispatch import dispatch_pass
from tracker.catalog.schedule import cron, evaluation_trigger
from tracker.collectors.runner import collect
from tracker.delivery import deliver_pass, outbox
from tracker.delivery.http import deadline_client
from tracker.delivery.lanes import Slots
from tracker.delivery.outbox import depth
from tracker.service import logs, memory
from tracker.service.daemon import JobSpec
from tracker.service.dispatching import DispatchGate
from tracker.service.metrics import last_actuals
from tracker.service.replicas import Leadership, is_shared
from tracker.store import db
from tracker.store.leadership import LeaseLost

if TYPE_CHECKING:
    from tracker.catalog.model import Catalog
    from tracker.catalog.sources import SourceConfig
    from tracker.service.metrics import DaemonMetrics
    from tracker.store.runtime import Runtime

Collect = Callable[["SourceConfig", datetime], "Mapping[str, Any] | None"]


# Finished notifications (sent, muted, superseded) are kept this long, then pruned daily;
# queued and dead ones stay until delivered or replayed.
OUTBOX_RETENTION = timedelta(days=30)
PRUNE_SCHEDULE = "17 3 * * *"
DELIVER_OVERLAP = 4  # delivery passes running at once, at most


def build_jobs(catalog: Catalog, *, settings: Any, units: Units) -> list[JobSpec]:
    """Every scheduled job for this catalog and these settings, in start-up order."""
    delivery = IntervalTrigger(seconds=settings.deliver.interval_seconds)
    jobs = [
        JobSpec("evaluate", units.evaluate, evaluation_trigger(settings, catalog.timezone), run_at_start=True),
        # Passes may overlap: one held up by a slow receiver (up to its deadline) must not hold
        # back the others' next pass. Slots keep each receiver's requests in flight bounded.
        JobSpec("deliver", units.deliver, delivery, run_at_start=True, max_instances=DELIVER_OVERLAP),
        JobSpec("prune", units.prune, cron(PRUNE_SCHEDULE, catalog.timezone, "prune schedule")),
    ]
    if is_shared(settings.database_url):  # replicas on PostgreSQL: keep the lease while leading
        renew = IntervalTrigger(seconds=settings.leadership.ttl_seconds / 3)
        jobs.append(JobSpec("lead", units.lead, renew))
    return jobs + source_jobs(catalog, units.collect)


def source_jobs(catalog: Catalog, collect: Collect) -> list[JobSpec]:
    """One job per catalog source, on the source's own schedule."""
    def job(source: SourceConfig) -> JobSpec:
        where = f"catalog {catalog.path}: source {source.name}, field schedule"
        return JobSpec(f"collect:{source.name}", partial(collect, source), cron(source.schedule, catalog.timezone, where))

    return [job(source) for source in catalog.sources]


class Units:
    """The units of work the daemon schedules: each takes `now` and returns what it did."""

    def __init__(
        self, runtime: Runtime, metrics: DaemonMetrics, *, once: bool = False,
        on_cycle: Callable[[datetime, Any], None] = lambda now, evaluations: None,
    ) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self.on_cycle = on_cycle  # the pages' worker takes the verdicts (None: not judged here)
        self.once = once  # `run --once`: no later pass would send a group waiting out group_wait
        self.leadership = Leadership(runtime, metrics)
        self._client: httpx.Client | None = None
        self._delivery_client: httpx.Client | None = None
        self._delivery_lock = threading.Lock()
        self.stop = threading.Event()  # set on SIGTERM: delivery stops claiming and drains
        self.slots = Slots()  # requests in flight per receiver, across overlapping passes
        self.gate = DispatchGate()  # a delivery pass dispatches only when a group can be due
        # Held by a cycle: meanwhile a delivery pass does not dispatch (the cycle's own
        # dispatch follows), so it neither reads alerts a cycle is writing a chunk at a time
        # nor moves what the cycle's drafted dispatch was made from.
        self.cycling = threading.Lock()

    @property
    def client(self) -> httpx.Client:
        """One HTTP client for the daemon's life: connections to receivers are reused."""
        if self._client is None:
            self._client = httpx.Client(timeout=self.runtime.settings.deliver.timeout_seconds)
        return self._client

    @property
    def delivery_client(self) -> httpx.Client:
        """Receivers' client: whole-request deadlines, no redirects, reused connections."""
        with self._delivery_lock:  # overlapping passes must not build two
            if self._delivery_client is None:
                self._delivery_client = deadline_client(self.runtime.settings.deliver.timeout_seconds)
            return self._delivery_client

    def close(self) -> None:
        for client in (self._client, self._delivery_client):
            if client is not None:
                client.close()

    def lead(self, now: datetime) -> dict[str, Any]:
        return self.leadership.renew(now)

    def evaluate(self, now: datetime) -> dict[str, Any]:

        fence = self.leadership.acquire(now)
        if fence is None:
            # Another replica leads and evaluates; goal series come from it alone, never stale here.
            self.metrics.forget_evaluation()
            self.on_cycle(now, None)
            return {}
        started = time.perf_counter()
        try:
            with self.cycling:
                result = evaluate_cycle(self.runtime, now=now, fence=fence)
        except LeaseLost as lost:
            self.leadership.lost(str(lost))
            return {"abandoned": 1}
        self.metrics.evaluation_seconds.observe(time.perf_counter() - started)
        with db.session(self.runtime.engine) as session:
            latest = last_actuals(session)
        self.metrics.observe_evaluation(result.evaluations, latest)  # renders /metrics, /api/status
        self.on_cycle(now, result.evaluations)
        log = logs.get("tracker.jobs")
        for item in result.evaluations:
            with logs.bound(goal=item.goal):
                log.debug("goal evaluated", status=str(item.status), stale=item.stale)
        if left_garbage(result, self.runtime.remembered):
            memory.give_back()  # an idle daemon must not sit at the cycle's peak
        return cycle_summary(result)

    def collect(self, source: SourceConfig, now: datetime) -> dict[str, Any]:
        """One collection of `source`; a failing source is a result (logged, journaled and
        alerted on by the evaluation), not an error of the job."""
        with logs.bound(source=source.name, metric=source.metric):
            result = collect(self.runtime, source, now=now, client=self.client)
        self.metrics.collections.labels(source=source.name, outcome=result.outcome).inc()
        return {"outcome": result.outcome, "recorded": result.recorded}

    def prune(self, now: datetime) -> dict[str, Any]:
        """Deletes finished notifications older than OUTBOX_RETENTION."""
        with db.session(self.runtime.engine, write=True) as session:
            removed = outbox.prune(session, before=now - OUTBOX_RETENTION)
        return {"pruned": removed} if removed else {}

    def dispatch(self, now: datetime) -> int:
        """Queues the group notifications that came due since the cycle (the leader only),
        when any can be (tracker.service.dispatching)."""
        fence = self.leadership.fence()
        if fence is None or not self.cycling.acquire(blocking=False):
            return 0
        try:
            result = self.gate.run(self.runtime, term=fence.term, now=now, dispatch=partial(
                dispatch_pass, self.runtime, now=now, fence=fence, wait=not self.once))
            if result is None:
                return 0
            memory.give_back()  # a full dispatch read every alert row
            return result.queued
        except LeaseLost as lost:
            self.leadership.lost(str(lost))
            return 0
        finally:
            self.cycling.release()

    def deliver(self, now: datetime) -> dict[str, Any]:
        dispatched = self.dispatch(now)
        result = deliver_pass(self.runtime, now=now, client=self.delivery_client, stop=self.stop, slots=self.slots)
        with db.session(self.runtime.engine) as session:
            queued = depth(session)
        per_receiver = receiver_counts(result)
        self.metrics.observe_delivery(per_receiver, queued)
        busy = {receiver: counts for receiver, counts in per_receiver.items() if any(counts.values())}
        log = logs.get("tracker.jobs")
        for receiver, counts in busy.items():
            with logs.bound(receiver=receiver):
                (log.warning if counts["dead"] else log.info)("delivery pass", **counts)
        done = {"receivers": len(busy), "queued": queued} if busy else {}
        return {**done, "dispatched": dispatched} if dispatched else done


def left_garbage(result: Any, remembered: Any) -> bool:
    """Whether a cycle built much that is garbage now: it judged goals or decoded stored
    verdicts (the readings, the forecasts' arrays, the verdicts they replace), or queued a
    notification (every alert of a group drafted into a body). A steady cycle, every
    verdict reused (milestones are judged every time, cheaply) and nothing queued, leaves
    little, and the young generations' collections take it: a full collection walks the
    whole heap (~2 s at 100,000 goals), cycle after cycle, for nothing."""
    return remembered.built > 0 or result.queued > 0


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

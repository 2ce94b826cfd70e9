"""The daemon's Prometheus metrics, in a registry of its own (never the global one, so two
daemons in one test process do not share counters and no library's metrics leak in).

Goal metrics come from the latest evaluation, kept as one immutable snapshot that a custom
collector reads at scrape time: a goal removed from the catalog disappears from /metrics at
the next evaluation instead of lingering as a stale series.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from tracker.core.verdict import Status
from tracker.store.models import Actual

if TYPE_CHECKING:
    from sqlmodel import Session

    from tracker.core.verdict import Evaluation


@dataclass(frozen=True)
class Snapshot:
    """What the last evaluation found; replaced whole, never mutated."""

    evaluations: tuple[Evaluation, ...] = ()
    last_actuals: Mapping[str, datetime] = field(default_factory=dict)


class GoalCollector(Collector):
    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snapshot = self.snapshot  # one read: a scrape never mixes two evaluations
        attainment = GaugeMetricFamily(
            "tracker_goal_attainment", "Actual over target (or progress over the whole way).", labels=["goal"]
        )
        projected = GaugeMetricFamily(
            "tracker_goal_projected_attainment", "Projected value at period end over target.", labels=["goal"]
        )
        status = GaugeMetricFamily(
            "tracker_goal_status", "1 for the goal's current status, 0 for the others.", labels=["goal", "status"]
        )
        for item in snapshot.evaluations:
            if item.attainment is not None:
                attainment.add_metric([item.goal], item.attainment)
            if item.projected_attainment is not None:
                projected.add_metric([item.goal], item.projected_attainment)
            for value in Status:
                status.add_metric([item.goal, value.value], 1.0 if item.status == value else 0.0)
        last = GaugeMetricFamily(
            "tracker_metric_last_actual_timestamp_seconds",
            "When the newest actual of the metric was recorded (unix seconds).",
            labels=["metric"],
        )
        for metric, when in sorted(snapshot.last_actuals.items()):
            last.add_metric([metric], when.timestamp())
        yield from (attainment, projected, status, last)


class DaemonMetrics:
    """Every metric the daemon exposes, registered in `self.registry`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.goals = GoalCollector()
        self.registry.register(self.goals)
        reg = self.registry
        self.evaluation_seconds = Histogram(
            "tracker_evaluation_duration_seconds", "Time one evaluation cycle took.", registry=reg,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        by_receiver = {"labelnames": ["receiver"], "registry": reg}
        self.sent = Counter("tracker_notifications_sent", "Notifications a receiver accepted.", **by_receiver)
        self.failed = Counter("tracker_notifications_failed", "Attempts that failed, to be retried.", **by_receiver)
        self.dead = Counter("tracker_notifications_dead", "Notifications given up after the last try.", **by_receiver)
        self.outbox_depth = Gauge("tracker_outbox_depth", "Notifications queued for delivery.", registry=reg)
        by_job = {"labelnames": ["job"], "registry": reg}
        self.job_runs = Counter(
            "tracker_job_runs", "Scheduled job runs by outcome.", labelnames=["job", "outcome"], registry=reg
        )
        self.job_missed = Counter("tracker_job_missed", "Runs skipped (the previous still running).", **by_job)
        self.job_last_success = Gauge(
            "tracker_job_last_success_timestamp_seconds", "When the job last finished without error.", **by_job
        )
        self.leader = Gauge(
            "tracker_leader", "1 while this replica holds the evaluation lease (always 1 on SQLite).", registry=reg
        )
        self.collections = Counter(
            "tracker_collections", "Collector runs by source and outcome (ok, failed).",
            labelnames=["source", "outcome"], registry=reg,
        )
        self.reloads = Counter(
            "tracker_catalog_reloads", "Catalog reloads on SIGHUP by outcome.", labelnames=["outcome"], registry=reg
        )

    def observe_evaluation(
        self, evaluations: Iterable[Evaluation], last_actuals: Mapping[str, datetime]
    ) -> None:
        self.goals.snapshot = Snapshot(tuple(evaluations), dict(last_actuals))

    def observe_delivery(self, per_receiver: Mapping[str, Mapping[str, int]], depth: int | None) -> None:
        """`per_receiver` maps a receiver to counts under "sent", "failed" and "dead"."""
        for receiver, counts in per_receiver.items():
            for name, counter in (("sent", self.sent), ("failed", self.failed), ("dead", self.dead)):
                counter.labels(receiver=receiver).inc(counts.get(name, 0))
        if depth is not None:
            self.outbox_depth.set(depth)


def last_actuals(session: Session) -> dict[str, datetime]:
    """When each metric's newest actual was recorded: one grouped query."""
    rows: Any = session.execute(select(Actual.metric, func.max(Actual.recorded_at)).group_by(Actual.metric))
    return {metric: when for metric, when in rows if when is not None}

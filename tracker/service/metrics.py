"""The daemon's Prometheus metrics, in registries of its own (never the global one, so two
daemons in one test process do not share counters and no library's metrics leak in).

Two parts, joined at scrape time:
- the goal series (`tracker_goal_*`, `tracker_metric_last_actual_timestamp_seconds`) describe
  the last evaluation. They are rendered once per cycle, by prometheus-client's own encoders,
  into bytes (and a gzip stream paused after them), so a scrape at 10,000 goals costs a
  copy, never a rendering or an evaluation. A goal removed from the catalog disappears at
  the next evaluation instead of lingering as a stale series.
- everything else (counters, the process, the build, the last reload) is live: rendered per
  scrape from `registry`, a few kilobytes.
The last cycle's `/api/status` JSON is rendered beside the goal series, for the same reason.
"""

from __future__ import annotations

import json
import platform
import re
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.exposition import choose_encoder, gzip_accepted
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from tracker import __version__
from tracker.store.models import Actual

if TYPE_CHECKING:
    from sqlmodel import Session

    from tracker.core.verdict import Evaluation

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_OPENMETRICS_END = b"# EOF\n"
# What Prometheus 2.x sends: its scrapes get OpenMetrics, rendered with the cycle like the text format.
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


class Snapshot:
    """What one evaluation found, with its renderings; replaced whole, never changed after
    it is built (the renderings are filled once each, under a lock)."""

    def __init__(
        self,
        evaluations: Iterable[Evaluation] = (),
        last_actuals: Mapping[str, datetime] | None = None,
        *,
        evaluated: bool = False,
    ) -> None:
        self.evaluations = tuple(evaluations)
        self.last_actuals = dict(last_actuals or {})
        self.evaluated = evaluated  # False before the first cycle, and on a replica that follows
        self._lock = threading.Lock()
        self._bodies: dict[str, Body] = {}
        self._status: Body | None = None

    def families(self) -> Iterator[Metric]:
        """The goal families, only the series that carry a value: a goal's status is one
        series (its status as a label), never one per status value."""
        kinds = {
            "attainment": "Actual over target (or progress over the whole way).",
            "projected_attainment": "Projected value at period end over target.",
            "probability": "Forecast probability of meeting the target at the period's end (0..1).",
        }
        values = {name: GaugeMetricFamily(f"tracker_goal_{name}", text, labels=["goal"]) for name, text in kinds.items()}
        status = GaugeMetricFamily(
            "tracker_goal_status", "1, with the goal's current status as the status label.", labels=["goal", "status"]
        )
        info = InfoMetricFamily("tracker_goal", "The goal's catalog labels.", labels=["goal"])
        for item in self.evaluations:
            for name, family in values.items():
                value = getattr(item, name)
                if value is not None:
                    family.add_metric([item.goal], value)
            status.add_metric([item.goal, str(item.status)], 1.0)
            info.add_metric([item.goal], prometheus_labels(item.labels))
        last = GaugeMetricFamily(
            "tracker_metric_last_actual_timestamp_seconds",
            "When the newest actual of the metric was recorded (unix seconds).",
            labels=["metric"],
        )
        for metric, when in sorted(self.last_actuals.items()):
            last.add_metric([metric], when.timestamp())
        yield from (*values.values(), status, info, last)

    def body(self, content_type: str, encoder: Callable[[Any], bytes]) -> Body:
        """The goal series in one exposition format, rendered on first use."""
        with self._lock:
            found = self._bodies.get(content_type)
            if found is None:
                found = self._bodies[content_type] = Body(encoder(_Families(self)).removesuffix(_OPENMETRICS_END))
            return found

    def status_json(self) -> bytes:
        """The JSON of `tracker status --json` for this evaluation."""
        return self.status_body().data

    def status_body(self) -> Body:
        """status_json's bytes, rendered on first use."""
        with self._lock:
            if self._status is None:
                items = [item.json_view() for item in self.evaluations]  # JSON's values already, never changed here
                self._status = Body(json.dumps(items, ensure_ascii=False).encode("utf-8") + b"\n")
            return self._status


class Body:
    """Rendered bytes kept as the start of a gzip stream, which a scrape continues with its
    live part (a copy of the paused compressor): one gzip member, compressed once. The plain
    bytes are inflated on request: kept plain as well, the bodies of 10,000 goals were 16 MB of
    an idle daemon (9.2 MB of status JSON inflates in 17 ms; it is 0.9 MB compressed)."""

    def __init__(self, data: bytes) -> None:
        self._gzip = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        self.gzip_start = self._gzip.compress(data) + self._gzip.flush(zlib.Z_SYNC_FLUSH)

    @property
    def data(self) -> bytes:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(self.gzip_start)

    def gzip_with(self, tail: bytes) -> bytes:
        rest = self._gzip.copy()
        return self.gzip_start + rest.compress(tail) + rest.flush()


class _Families(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        return self.snapshot.families()


def prometheus_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """A goal's catalog labels as Prometheus label names: other characters become `_`;
    `goal` and names Prometheus reserves (`__*`) are left out."""
    named = {(key if _LABEL_NAME.match(key) else re.sub(r"\W", "_", key)): str(value) for key, value in labels.items()}
    return {key: value for key, value in named.items() if key != "goal" and not key.startswith("__")
            and _LABEL_NAME.match(key)}


class DaemonMetrics:
    """Every metric the daemon exposes: the live ones in `self.registry`, the goal series in
    `self.snapshot` (see `exposition`)."""

    def __init__(self) -> None:
        self.registry = reg = CollectorRegistry(auto_describe=True)
        self.snapshot = Snapshot()
        self.goal_registry = CollectorRegistry(auto_describe=False)  # for tests and introspection
        self.goal_registry.register(_LatestFamilies(self))
        ProcessCollector(registry=reg)
        PlatformCollector(registry=reg)
        Info("tracker_build", "The running kpi-tracker's version and Python.", registry=reg).info(
            {"version": __version__, "python": platform.python_version(),
             "implementation": platform.python_implementation()}
        )
        self.evaluation_seconds = Histogram(
            "tracker_evaluation_duration_seconds", "Time one evaluation cycle took.", registry=reg,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        by_receiver = {"labelnames": ["receiver"], "registry": reg}
        self.sent = Counter("tracker_notifications_sent", "Notifications a receiver accepted.", **by_receiver)
        self.failed = Counter("tracker_notifications_failed", "Attempts that failed, to be retried.", **by_receiver)
        self.dead = Counter("tracker_notifications_dead", "Notifications given up after the last try.", **by_receiver)
        self.outbox_depth = Gauge("tracker_outbox_depth", "Notifications queued for delivery.", registry=reg)
        # `task`, not `job`: Prometheus sets `job` on every scraped series (ours would become `exported_job`).
        by_task = {"labelnames": ["task"], "registry": reg}
        self.job_runs = Counter(
            "tracker_job_runs", "Scheduled job runs by task and outcome.", labelnames=["task", "outcome"], registry=reg
        )
        self.job_missed = Counter("tracker_job_missed", "Runs skipped (the previous still running).", **by_task)
        self.job_last_success = Gauge(
            "tracker_job_last_success_timestamp_seconds", "When the task last finished without error.", **by_task
        )
        self.leader = Gauge(
            "tracker_leader", "1 while this replica holds the evaluation lease (always 1 on SQLite).", registry=reg
        )
        self.collections = Counter(
            "tracker_collections", "Collector runs by source and outcome (ok, failed).",
            labelnames=["source", "outcome"], registry=reg,
        )
        self.reloads = Counter(
            "tracker_catalog_reloads", "Catalog reloads (SIGHUP, POST /-/reload) by outcome.", labelnames=["outcome"],
            registry=reg,
        )
        self.reload_ok = Gauge(
            "tracker_config_last_reload_successful", "Whether the last catalog (re)load succeeded.", registry=reg
        )
        self.reload_time = Gauge(
            "tracker_config_last_reload_success_timestamp_seconds", "When the catalog was last loaded successfully.",
            registry=reg,
        )

    def observe_reload(self, ok: bool, when: datetime) -> None:
        self.reload_ok.set(1 if ok else 0)
        if ok:
            self.reload_time.set(when.timestamp())

    def observe_evaluation(self, evaluations: Iterable[Evaluation], last_actuals: Mapping[str, datetime]) -> None:
        """Keeps the cycle's findings and renders them (text exposition and status JSON) now,
        on the cycle's thread, so that no request pays for it."""
        snapshot = Snapshot(evaluations, last_actuals, evaluated=True)
        for accept in ("", PROMETHEUS_ACCEPT):
            encoder, content_type = choose_encoder(accept)
            snapshot.body(content_type, encoder)
        snapshot.status_body()
        self.snapshot = snapshot  # one reference swap: a scrape never mixes two evaluations

    def forget_evaluation(self) -> None:
        """A replica that follows: the leader exposes the goal series, never a stale copy here."""
        self.snapshot = Snapshot()

    def exposition(self, accept: str, accept_encoding: str) -> tuple[bytes, dict[str, str]]:
        """A scrape's body and headers: the goal series as rendered by the cycle, then the
        live registry, in the format the scraper asked for."""
        encoder, content_type = choose_encoder(accept)
        goals = self.snapshot.body(content_type, encoder)
        live = encoder(self.registry)
        headers = {"Content-Type": content_type}
        if gzip_accepted(accept_encoding):
            headers["Content-Encoding"] = "gzip"
            return goals.gzip_with(live), headers
        return goals.data + live, headers

    def observe_delivery(self, per_receiver: Mapping[str, Mapping[str, int]], depth: int | None) -> None:
        """`per_receiver` maps a receiver to counts under "sent", "failed" and "dead"."""
        for receiver, counts in per_receiver.items():
            for name, counter in (("sent", self.sent), ("failed", self.failed), ("dead", self.dead)):
                counter.labels(receiver=receiver).inc(counts.get(name, 0))
        if depth is not None:
            self.outbox_depth.set(depth)

    def sample(self, name: str, labels: Mapping[str, str] | None = None) -> float | None:
        """One sample's value, live or from the last evaluation (None when absent)."""
        found = self.registry.get_sample_value(name, dict(labels or {}))
        return found if found is not None else self.goal_registry.get_sample_value(name, dict(labels or {}))


class _LatestFamilies(Collector):
    def __init__(self, metrics: DaemonMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return self.metrics.snapshot.families()


def last_actuals(session: Session) -> dict[str, datetime]:
    """When each metric's newest actual was recorded: one grouped query."""
    rows: Any = session.execute(select(Actual.metric, func.max(Actual.recorded_at)).group_by(Actual.metric))
    return {metric: when for metric, when in rows if when is not None}

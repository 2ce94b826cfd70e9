"""`tracker test`: a catalog's unit tests, run as the daemon would run the catalog, in memory.

Each test file gets its own in-memory SQLite database, built by the same migrations as
production, and a fake clock. The clock steps through the evaluation times (`start`, then
every `interval`, and every test's `at`); at each one the production evaluation cycle
(tracker.alerting.cycle.evaluate_cycle) judges every goal from the database and moves the
alerts through their lifecycle, and its dispatcher groups, silences, inhibits and queues
notifications. Between cycles the dispatcher runs again whenever a group can come due (the
end of a group_wait or group_interval, a repeat, a silence's end), as the daemon's delivery
passes do. Inputs are recorded with the production `record` when the clock reaches their
known-since time; silences and collector runs likewise.

Notifications are what the dispatcher queued in the outbox, with the body rendered for the
receiver's format: nothing is delivered, no receiver is called and no secret is read. The
settings of the environment are not used (a test means the same on every machine), and the
configured database is never opened.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from tracker.alerting.cycle import evaluate_cycle
from tracker.alerting.dispatch import dispatch_pass
from tracker.catalog.model import plan_for
from tracker.catalog.settings import DeliverSettings, EvaluateSettings, Settings
from tracker.catalog.testspecs import (
    Case,
    InputSpec,
    SilenceSpec,
    TestFile,
    TestFileError,
)
from tracker.collectors import journal
from tracker.core import expectations as ex
from tracker.core.errors import BadInput
from tracker.store import actuals, db, silences
from tracker.store.alert_tables import AlertGroup, OutboxRow
from tracker.store.runtime import Runtime
from tracker.views.alert_view import alert_items

if TYPE_CHECKING:
    from tracker.catalog.model import Catalog
    from tracker.catalog.routing import Plan
    from tracker.core.verdict import Evaluation

IN_MEMORY = "sqlite://"  # each test file's own database, gone when the run ends
AUTHOR = "tracker test"


@dataclass(frozen=True)
class Failure:
    line: int
    at: datetime
    subject: str  # "goal ev-deliveries-2026, field probability", "alert at-risk {...}", ...
    expected: str
    actual: str


@dataclass
class CaseResult:
    case: Case
    failures: list[Failure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class FileResult:
    spec: TestFile
    cases: list[CaseResult]
    seconds: float

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cases)


@dataclass(frozen=True)
class Notification:
    """One notification the dispatcher queued: to whom, about which group, and when."""

    at: datetime
    receiver: str
    event: str  # alert.firing or alert.resolved
    reason: str
    group: dict[str, str]
    body: bytes


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class SandboxRuntime(Runtime):
    """A Runtime on the in-memory database with a catalog given, not read from the settings."""

    given: Catalog | None = None

    @cached_property
    def catalog(self) -> Catalog:  # type: ignore[override]
        assert self.given is not None
        return self.given


def sandbox_settings(spec: TestFile) -> Settings:
    """Settings of the daemon's defaults, in memory; `webhook_url` of the file stands for
    TRACKER_WEBHOOK_URL (the `default` receiver)."""
    return Settings(
        database_url=IN_MEMORY, config=spec.catalog.path, webhook_url=spec.webhook_url, webhook_secret=None,
        external_url=None, http_host="127.0.0.1", http_port=9464,
        evaluate=EvaluateSettings(interval_seconds=spec.interval.total_seconds()), deliver=DeliverSettings(),
    )


def offline(catalog: Catalog) -> Catalog:
    """The catalog without the receivers' signing secrets: nothing is signed or sent, so a
    test needs none of them in its environment."""
    receivers = tuple(r.model_copy(update={"secret_env": None}) for r in catalog.receivers)
    return catalog.model_copy(update={"receivers": receivers})


def run_file(spec: TestFile) -> FileResult:
    started = time.perf_counter()
    clock = FakeClock(spec.start)
    runtime = SandboxRuntime(sandbox_settings(spec), clock=clock, ephemeral=True, given=offline(spec.catalog))
    plan = plan_for(runtime.catalog, runtime.settings)
    _check_receivers(spec, plan)
    try:
        results = _Simulation(spec, runtime, clock, plan).run()
    finally:
        runtime.engine.dispose()
    return FileResult(spec, results, time.perf_counter() - started)


def _check_receivers(spec: TestFile, plan: Plan) -> None:
    for case in spec.cases:
        for expected in case.notifications:
            if expected.receiver not in plan.targets:
                names = ", ".join(sorted(plan.targets))
                raise TestFileError(f"{spec.where(expected.line)}: [[test.notification]]: receiver "
                                    f"{expected.receiver!r} gets nothing with this catalog (its receivers: {names})")


# What happens at one instant, in this order: the file's events, a dispatch, a cycle.
_EVENT, _DISPATCH, _CYCLE = 0, 1, 2


class _Simulation:
    def __init__(self, spec: TestFile, runtime: SandboxRuntime, clock: FakeClock, plan: Plan) -> None:
        self.spec, self.runtime, self.clock, self.plan = spec, runtime, clock, plan
        self.queue: list[tuple[datetime, int, int, Any]] = []
        self.order = 0
        self.scheduled: set[tuple[datetime, int]] = set()
        self.notifications: list[Notification] = []
        self.group_labels: dict[str, dict[str, str]] = {}
        self.last_outbox = 0
        self.end = spec.cases[-1].at
        self.evaluations: list[Evaluation] = []  # the latest cycle's

    def push(self, when: datetime, kind: int, payload: Any = None) -> None:
        if when > self.end or (kind != _EVENT and (when, kind) in self.scheduled):
            return
        if kind != _EVENT:
            self.scheduled.add((when, kind))
        self.order += 1
        heapq.heappush(self.queue, (when, kind, self.order, payload))

    def run(self) -> list[CaseResult]:
        for spec in sorted(self.spec.inputs, key=lambda i: i.known_since):
            self.push(spec.known_since, _EVENT, spec)
        for silence in self.spec.silences:
            self.push(silence.starts, _EVENT, silence)
            self.push(silence.ends, _DISPATCH)  # what it held back goes out when it ends
        for collection in self.spec.collections:
            self.push(collection.at, _EVENT, collection)
        at = self.spec.start
        while at <= self.end:
            self.push(at, _CYCLE)
            at += self.spec.interval
        for case in self.spec.cases:
            self.push(case.at, _CYCLE)
        results: list[CaseResult] = []
        while self.queue:
            when, kind, _, payload = heapq.heappop(self.queue)
            self.clock.now = when
            if kind == _EVENT:
                self._apply(payload, when)
            elif kind == _CYCLE or (when, _CYCLE) not in self.scheduled:  # a cycle dispatches too
                self._step(when, cycle=kind == _CYCLE)
            if kind == _CYCLE:  # each test sees the state right after its own cycle
                results += [self._check(case, self.evaluations) for case in self.spec.cases if case.at == when]
        return results

    def _apply(self, spec: Any, when: datetime) -> None:
        """Records an input, a silence or a collector run at its own time, as production does."""
        try:
            with db.session(self.runtime.engine, write=True) as session:
                if isinstance(spec, InputSpec):
                    known = spec.known_since.isoformat() if spec.explicit_known_since else None
                    actuals.record(session, catalog=self.runtime.catalog, metric=spec.metric, period=spec.period,
                                   value=spec.value, now=when, source=spec.source or AUTHOR, note=spec.note,
                                   force=spec.force, known_since=known)
                elif isinstance(spec, SilenceSpec):
                    silences.add_silence(session, matchers=spec.matchers, until=spec.ends, comment=spec.comment,
                                         author=AUTHOR, now=when)
                else:
                    journal.add(session, source=spec.source, at=when, outcome=spec.outcome, rows=0,
                                error=spec.error)
        except BadInput as problem:
            raise TestFileError(f"{self.spec.where(spec.line)}: {problem}") from None

    def _step(self, when: datetime, *, cycle: bool) -> None:
        if cycle:
            result = evaluate_cycle(self.runtime, now=when)
            self.evaluations = result.evaluations
            due = result.next_due
        else:
            due = dispatch_pass(self.runtime, now=when).next_due
        if due is not None and due > when:
            self.push(due, _DISPATCH)
        self._collect()

    def _collect(self) -> None:
        """The notifications queued since the last look, and when repeats could come due."""
        with db.session(self.runtime.engine) as session:
            for group in session.execute(select(AlertGroup)).scalars():
                self.group_labels[group.group_id] = dict(group.labels)
                for route in self.plan.routes:
                    if route.receiver == group.receiver:
                        self.push(group.notified_at + self.plan.timing(route).repeat_interval, _DISPATCH)
            query = select(OutboxRow).where(OutboxRow.id > self.last_outbox).order_by(OutboxRow.id)
            for row in session.execute(query).scalars():
                self.last_outbox = max(self.last_outbox, row.id or 0)
                self.notifications.append(Notification(row.created_at, row.receiver, row.event, row.reason,
                                                       self.group_labels.get(row.fingerprint, {}), row.body))

    def _check(self, case: Case, judged: list[Evaluation]) -> CaseResult:
        result = CaseResult(case)
        evaluations = {e.goal: e for e in judged}
        for expected in case.goals:
            observed = evaluations[expected.goal].to_json()
            for check in expected.fields:
                actual = observed.get(check.name)
                if not check.check.holds(actual):
                    result.failures.append(Failure(check.line, case.at, f"goal {expected.goal}, field {check.name}",
                                                   str(check.check), ex.show(actual)))
        if case.alerts:
            self._check_alerts(case, result)
        for expected in case.notifications:
            self._check_notifications(case, expected, result)
        return result

    def _check_alerts(self, case: Case, result: CaseResult) -> None:
        # Alerts as of the case's own cycle: `tracker alerts` would list these then.
        with db.session(self.runtime.engine) as session:
            items = alert_items(session, now=case.at, catalog=self.runtime.catalog)
        for expected in case.alerts:
            seen = [ex.AlertSeen(item["state"], item["muted"]) for item in items
                    if item["rule"] == expected.rule and all(m.matches(item["labels"]) for m in expected.matchers)]
            if not ex.alert_state_holds(expected.state, seen):
                labels = " {" + ", ".join(str(m) for m in expected.matchers) + "}" if expected.matchers else ""
                result.failures.append(Failure(expected.state_line, case.at, f"alert {expected.rule}{labels}",
                                               expected.state, ex.describe_alerts(seen)))

    def _check_notifications(self, case: Case, expected: Any, result: CaseResult) -> None:
        earlier = [c.at for c in self.spec.cases if c.at < case.at]
        since = max(earlier) if earlier else None
        window = [n for n in self.notifications if (since is None or n.at > since) and n.at <= case.at]
        chosen = [n for n in window if n.receiver == expected.receiver
                  and (expected.group is None or n.group == expected.group)
                  and (expected.event is None or n.event == f"alert.{expected.event}")]
        subject = _notification_subject(expected)
        target = self.plan.targets[expected.receiver]
        if expected.format is not None and target.format != expected.format:
            result.failures.append(Failure(expected.format_line, case.at, f"{subject}, format", expected.format,
                                           target.format))
        count = len(chosen)
        wanted = expected.count
        if (wanted is None and count == 0) or (wanted is not None and count != wanted):
            shown = "; ".join(describe(n, self.spec.catalog) for n in window) or "nothing"
            line = expected.count_line if wanted is not None else expected.line
            result.failures.append(Failure(line, case.at, subject, _how_many(wanted),
                                           f"{count} (queued since the previous test: {shown})"))


def _how_many(wanted: int | None) -> str:
    if wanted is None:
        return "at least 1 notification"
    return f"{wanted} notification{'s' * (wanted != 1)}"


def _notification_subject(expected: Any) -> str:
    group = "" if expected.group is None else " group {" + ", ".join(
        f'{k}="{v}"' for k, v in sorted(expected.group.items())) + "}"
    event = f" {expected.event}" if expected.event else ""
    return f"notification to {expected.receiver}{group}{event}"


def describe(note: Notification, catalog: Catalog) -> str:
    labels = ", ".join(f'{k}="{v}"' for k, v in sorted(note.group.items()))
    event = note.event.removeprefix("alert.")
    return f"{note.receiver} {{{labels}}} {event} at {note.at.astimezone(catalog.timezone).isoformat()}"


def when(result: FileResult, case: CaseResult) -> str:
    return case.case.at.astimezone(result.spec.catalog.timezone).isoformat()


def failure_text(result: FileResult, case: CaseResult, failure: Failure) -> str:
    """`FILE:LINE: at TIME (NAME): SUBJECT: expected E, got A`, one line."""
    named = f" ({case.case.name})" if case.case.named else ""
    at = failure.at.astimezone(result.spec.catalog.timezone).isoformat()
    return (f"{result.spec.where(failure.line)}: at {at}{named}: {failure.subject}: "
            f"expected {failure.expected}, got {failure.actual}")

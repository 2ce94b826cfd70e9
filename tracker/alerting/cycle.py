"""One evaluation cycle: judge every goal, move each alert through its lifecycle, and queue
the group notifications that are due (tracker.alerting.dispatch).

Judging reads the database without a lock: it is most of a cycle's time, and a concurrent
`tracker record` must not wait for it (SQLite has one writer). The alerts' changes are
worked out from the rows as read then (AlertPlan), and so are the notifications, bodies
rendered (dispatch.draft); both are written in one short write transaction at the end: the
plan applies when no other cycle has written alerts since (`alerts_version`), else the
transaction steps the rows it reads itself, and the draft when, besides, no dispatch wrote
what receivers were told and the silences are the same, else it is drafted again inside.
A crash leaves either the whole cycle or none of it, and a queued notification is never
lost; the leader's fence is checked last inside the transaction.

A daemon's cycle remembers its last write (_Memory, kept on store.judging.Remembered) while
no other cycle writes alerts: a verdict judging reused keeps its matches, and an alert held
by the match its row was written from keeps its content (title, summary, labels, the
goal's status object): only last_held_at, updated_at and the reason move, and only once
in the row: it is then marked `held`, and while cycles hold it again with that reason
they write no row of it, only alerts_held.at, the instant readers see as its last_held_at
and updated_at (store.alert_tables.as_held). An alert that stops holding gets its instants
written back as they read. So the stored status object's `evaluated_at` is when the
verdict was judged from its inputs; the alert's last_held_at is when it last held, and a
notification carries the object with that instant (notice.held_object), as the row would
say had it been rewritten. A cycle with no such memory (a restarted daemon, `tracker
evaluate`, a plan made again after another cycle's write) tells by each row's digest of what
it says (alerts.content_digest) whether its match says the same, and keeps such a row's
content too: a restart writes no row of an alert whose verdict it took from the store.
Dispatch's groups are carried over, and its last decisions stand (dispatch.Settled) while
no alert moved in anything grouping reads and no group's time has come.

The decisions are the pure functions of `tracker.core.lifecycle`; this module reads and writes
the rows around them in bulk (one statement per kind of change, not an object per alert), and
logs each alert that starts or stops firing (the first hundred of a cycle's; counts of the
rest), and one summary per cycle.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from tracker.alerting.dispatch import Prepared, Settled, dispatch, draft, mark_later, prepare
from tracker.alerting.muting import inhibition
from tracker.catalog.model import plan_for
from tracker.collectors.health import failing_sources
from tracker.core.heap import collector_paused
from tracker.core.inhibition import InhibitRule
from tracker.core.lifecycle import FIRING, INACTIVE, PENDING, RESOLVED, AlertState, step, still
from tracker.core.rules import Match, Rule, SourceHealth, goal_matches, source_matches
from tracker.core.verdict import Evaluation
from tracker.store import db, judging
from tracker.store.alert_tables import AlertContent, AlertRow, AlertsHeld, as_held, content_digest
from tracker.store.dbtypes import utc_to_db
from tracker.store.models import StoreMeta

if TYPE_CHECKING:
    from tracker.store.leadership import Fence
    from tracker.store.runtime import Runtime

log = structlog.get_logger("tracker.alerts")
Judge = Callable[..., list[Evaluation]]
_CHUNK = 500  # fingerprints per IN list
_LOGGED = (FIRING, RESOLVED)  # a change people act on; pending and back is the summary's


@dataclass
class CycleResult:
    evaluations: list[Evaluation]
    pending: int = 0
    firing: int = 0
    resolved: int = 0  # alerts that resolved in this cycle
    queued: int = 0  # group notifications queued in this cycle
    waiting: int = 0  # groups waiting out group_wait or group_interval
    next_due: datetime | None = None  # when the first waiting group can go
    suppressed: dict[str, int] = field(default_factory=dict)  # firing alerts muted: {"silenced": 2, "inhibited": 1}
    write_seconds: float = 0.0  # how long the cycle's write transaction held the database


# A cycle builds what the next one keeps (verdicts, matches, every alert as it will be, its
# groups): with the collector running, a restart's cycle at 10,000 goals spent ~0.3 s in a
# full collection set off while 13,624 alerts were made. The daemon collects once, after it.
@collector_paused()
def evaluate_cycle(
    runtime: Runtime,
    *,
    now: datetime,
    sources: Sequence[SourceHealth] | None = None,
    judge: Judge | None = None,
    fence: Fence | None = None,
) -> CycleResult:
    """Evaluates every goal as of `now` and updates alerts and the outbox. `sources` (the
    collectors' health) drives `source_failing` alerts; None reads it from the collections
    table. `fence` (replicas on PostgreSQL): checked last, inside the write transaction,
    with the lease row locked until commit; when this replica no longer holds the lease it
    raises LeaseLost and the whole cycle's writes are rolled back."""
    catalog = runtime.catalog
    rules = catalog.effective_rules()
    memory = _recall(runtime, judge)  # out of reach until this cycle has committed
    with db.session(runtime.engine) as session:  # reads only: writers go on meanwhile
        if sources is None:
            sources = failing_sources(session, catalog=catalog)
        caps = {goal.id: goal.severity for goal in catalog.goals}
        kept: dict[str, tuple[Evaluation, list[Match]]] = {}
        if judge is None:
            remembered = runtime.remembered
            evaluations = judging.evaluate_from_db(session, catalog=catalog, now=now, remembered=remembered)
            matches = _goal_matches(evaluations, rules, caps, remembered, memory, kept)
        else:
            evaluations = judge(session, catalog=catalog, now=now)
            matches = goal_matches(evaluations, rules, caps)
        matches += source_matches(sources, rules)
        planned = plan_alerts(session, matches=matches, rules=rules, now=now, known=memory)
        routing, inhibit_rules = plan_for(catalog, runtime.settings), catalog.effective_inhibit_rules()
        carried = _carry(memory, planned, inhibit_rules=inhibit_rules)
        if carried is None:
            alerts = _after(_alert_rows(session), planned)
            prepared = prepare(alerts.values(), plan=routing, inhibit_rules=inhibit_rules)
        else:
            alerts, prepared = memory.alerts, carried  # type: ignore[union-attr]
        # The last dispatch's decisions stand while nothing grouping reads has moved.
        settled = memory.settled if carried is not None and not planned.regroups else None
        # Decided and rendered here, so that the write transaction only writes (a group's
        # first notification can carry every alert).
        drafted = draft(session, plan=routing, inhibit_rules=inhibit_rules, now=now, prepared=prepared,
                        settled=settled, planned=_PlannedColumns(planned))
    result = CycleResult(evaluations=list(evaluations))
    _write_ahead(runtime.engine, planned)
    began = time.monotonic()
    with db.session(runtime.engine, write=True) as session:
        done = update_alerts(session, matches=matches, rules=rules, now=now, result=result, planned=planned)
        current = done is planned
        sent = dispatch(session, plan=routing, inhibit_rules=inhibit_rules, now=now,
                        prepared=prepared if current else None, drafted=drafted if current else None)
        result.queued, result.waiting, result.next_due, result.suppressed = (
            sent.queued, sent.waiting, sent.next_due, sent.muted
        )
        if fence is not None:
            fence.check(session, now=runtime.now())
    result.write_seconds = time.monotonic() - began
    mark_later(runtime.engine, sent)
    if judge is None:  # this cycle's write stands: the next may build on it
        runtime.remembered.alerting = _Memory(
            catalog=catalog, version=done.version + 1, matches=kept, content={m.fingerprint: m for m in matches},
            alerts=alerts if current else None, prepared=prepared if current else None,
            settled=sent.settled if current else None, plan=done if _holds_only(done) else None)
        runtime.remembered.save(runtime.engine)  # after the alerts' transaction: the verdicts table is a cache
    log_changes(done.said)
    log.info("alerts evaluated", goals=len(evaluations), matched=len(matches), written=done.written,
             pending=result.pending, firing=result.firing, resolved=result.resolved, queued=result.queued,
             dispatched=settled is None or sent.settled is not settled, write_seconds=round(result.write_seconds, 3))
    return result


# Alert changes a cycle logs a line each; the rest go in one line of counts. journald keeps
# 10,000 lines per 30 s of a service by default (RateLimitBurst), and a first cycle at 10,000
# goals had 13,624 alerts start firing: journald would drop the lines past the burst, the
# cycle's summary and whatever went wrong next among them.
LOGGED_ONE_BY_ONE = 100


def log_changes(said: Sequence[dict[str, Any]]) -> None:
    """A line for each alert that started firing or resolved, up to LOGGED_ONE_BY_ONE, then
    one with how many more did, by event and by rule (`tracker alerts` lists them all)."""
    for line in said[:LOGGED_ONE_BY_ONE]:
        log.info(**line)
    rest = said[LOGGED_ONE_BY_ONE:]
    if rest:
        events, rules = Counter(line["event"] for line in rest), Counter(line["alert"] for line in rest)
        log.info("more alert changes", count=len(rest), firing=events["alert firing"],
                 resolved=events["alert resolved"], rules=dict(sorted(rules.items())))


@dataclass
class _Memory:
    """What this process's last cycle wrote, for the next one while no other cycle writes
    alerts in between (`version`): which match each alert row's content was written from,
    every alert row as it was left (`alerts`), dispatch's groups of them and the decisions
    of its last dispatch. A verdict that judging reused (store.judging.Remembered) is the
    same object cycle after cycle, and so are the matches made from it: an alert whose
    match is the one its row was written from keeps its content, and only its state moves."""

    catalog: Any
    version: int  # alerts_version after the write
    matches: dict[str, tuple[Evaluation, list[Match]]]  # by goal: the verdict as judged, its matches
    content: dict[str, Match]  # by fingerprint: the match the row's content is from
    alerts: dict[str, _Alert] | None  # by fingerprint: every alert row, its state and grouping columns
    prepared: Prepared | None
    settled: Settled | None
    plan: AlertPlan | None = None  # the plan the write applied, when it only held alerts again


def _recall(runtime: Runtime, judge: Judge | None) -> _Memory | None:
    """The last cycle's memory, taken away: it is given back only once this cycle has
    committed, so a cycle that fails leaves the next to read everything afresh."""
    if judge is not None:
        return None
    remembered = runtime.remembered
    memory, remembered.alerting = remembered.alerting, None
    if not isinstance(memory, _Memory) or memory.catalog is not runtime.catalog:
        return None
    return memory


def _goal_matches(evaluations: Sequence[Evaluation], rules: Sequence[Rule], caps: dict[str, str | None],
                  remembered: judging.Remembered, memory: _Memory | None,
                  kept: dict[str, tuple[Evaluation, list[Match]]]) -> list[Match]:
    """Every goal's matches, made from each verdict as judged (`Remembered.verdict`, so a
    stored status object's `evaluated_at` is when the verdict was judged from its inputs);
    a reused verdict's are the ones made from it before. `kept` is filled for the next cycle."""
    before = memory.matches if memory is not None else {}
    found: list[Match] = []
    for evaluation in evaluations:
        verdict = remembered.verdict(evaluation.goal) or evaluation
        known = before.get(evaluation.goal)
        if known is None or known[0] is not verdict:
            known = (verdict, goal_matches([verdict], rules, caps))
        kept[evaluation.goal] = known
        found += known[1]
    return found


class _Alert:
    """An alert row as it will be once a plan is written: what stepping, grouping and
    muting read of it (not its title, summary or evaluation)."""

    __slots__ = ("fingerprint", "subject", "rule", "severity", "state", "labels", "starts_at", "ends_at",
                 "updated_at", "active_since", "last_held_at", "reason", "held")

    def __init__(self, values: dict[str, Any]) -> None:
        for name in self.__slots__:
            setattr(self, name, values.get(name))

    def move(self, values: dict[str, Any]) -> None:
        for name in _ALERT_FIELDS.intersection(values):
            setattr(self, name, values[name])


_ALERT_FIELDS = frozenset(_Alert.__slots__)
# What grouping and muting read (dispatch._GROUPING) and stepping (_STATE_COLUMNS).
_READ = ("fingerprint", "subject", "rule", "severity", "state", "labels", "starts_at", "ends_at", "updated_at",
         "active_since", "last_held_at", "reason", "held")


def _alert_rows(session: Session) -> list[Any]:
    return list(session.execute(select(*as_held(*_READ))))


def _after(rows: Sequence[Any], plan: AlertPlan) -> dict[str, _Alert]:
    """The alert rows as read, with the plan's changes: what the write transaction will
    hold when the plan is still current there."""
    found = {r.fingerprint: _Alert(r._mapping) for r in rows}
    for values in plan.changed():
        alert = found.get(values["fp"])
        if alert is None:
            alert = found[values["fp"]] = _Alert({"fingerprint": values["fp"]})
        alert.move(values)
    _hold(found, plan)
    return found


def _hold(alerts: dict[str, _Alert], plan: AlertPlan) -> None:
    """The alerts held again, as the plan leaves them (written or following alerts_held)."""
    for (reason, _), fps in (*plan.touched.items(), *plan.holding.items()):
        for fp in fps:
            alert = alerts[fp]
            alert.updated_at = alert.last_held_at = plan.now
            alert.reason, alert.held = reason, plan.marks


class _PlannedColumns:
    """What the plan writes over each alert row it changes, by fingerprint (the columns'
    names), for notifications drafted before it is written; indexed on first use (most
    cycles notify nobody)."""

    def __init__(self, plan: AlertPlan) -> None:
        self.plan = plan
        self.index: dict[str, dict[str, Any]] | None = None

    def get(self, fp: str) -> dict[str, Any] | None:
        if self.index is None:
            plan, self.index = self.plan, {}
            for values in plan.changed():
                self.index[values["fp"]] = values  # its "fp" is the fingerprint: read by nobody
            for (reason, _), fps in (*plan.touched.items(), *plan.holding.items()):
                for one in fps:
                    self.index[one] = {"reason": reason, "updated_at": plan.now, "last_held_at": plan.now}
        return self.index.get(fp)


def _carry(memory: _Memory | None, plan: AlertPlan, *, inhibit_rules: Sequence[InhibitRule]) -> Prepared | None:
    """The last cycle's groups with this plan's changes, when the plan was made from the
    rows as the last cycle left them and moves no alert to another group (a new alert, new
    labels or severity); else None (group every row afresh). Inhibition is worked out again
    only when an alert's state moved."""
    if memory is None or memory.alerts is None or memory.prepared is None or plan.version != memory.version:
        return None
    if plan.created:
        return None
    alerts = memory.alerts
    for values in plan.changed():  # none created (above)
        alert = alerts.get(values["fp"])
        if alert is None or ("labels" in values and (values["labels"] != alert.labels
                                                     or values["severity"] != alert.severity)):
            return None
    for values in plan.changed():
        alerts[values["fp"]].move(values)
    _hold(alerts, plan)
    prepared = memory.prepared
    if plan.regroups and inhibit_rules:
        return Prepared(prepared.rows, prepared.groups, inhibition(prepared.rows, inhibit_rules))
    return prepared


# What stepping an alert reads of its row: not its labels, summary or evaluation, only the
# digest of them.
_STATE_COLUMNS = ("fingerprint", "subject", "rule", "severity", "state", "active_since", "starts_at", "ends_at",
                  "last_held_at", "updated_at", "reason", "held", "content_digest")


def _rows(session: Session, held: Iterable[str]) -> dict[str, Any]:
    """The alert rows a cycle steps: those its rules hold for now, and those pending or
    firing (which may clear); an inactive or resolved alert nothing holds stays as it is."""
    table = AlertRow.__table__
    columns = as_held(*_STATE_COLUMNS)
    found = {r.fingerprint: r for r in session.execute(select(*columns).where(table.c.state.in_((PENDING, FIRING))))}
    wanted = sorted(set(held) - found.keys())
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        found.update((r.fingerprint, r) for r in session.execute(select(*columns).where(table.c.fingerprint.in_(chunk))))
    return found


def _known_rows(alerts: dict[str, _Alert], held: Iterable[str]) -> dict[str, Any]:
    """_rows from the last cycle's memory of every row (no read)."""
    found = {fp: a for fp, a in alerts.items() if a.state == PENDING or a.state == FIRING}
    found.update((fp, alerts[fp]) for fp in held if fp in alerts)
    return found


@dataclass
class AlertPlan:
    """One cycle's alert changes, worked out from the rows as read at `version`: the write
    transaction applies them when the rows are still at that version (else it works them out
    again from the rows it reads itself)."""

    version: int
    now: datetime | None = None
    created: list[dict[str, Any]] = field(default_factory=list)
    refreshed: list[dict[str, Any]] = field(default_factory=list)  # matched: content and state
    moved_only: list[dict[str, Any]] = field(default_factory=list)  # content as stored, state moved
    # Held, content as stored, and nothing moved but last_held_at: by (reason, state), fingerprints;
    # `touched` are written (held and the reason set), `holding` were held by the last cycle with
    # this reason and move with alerts_held.at alone.
    touched: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    holding: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    released: list[dict[str, Any]] = field(default_factory=list)  # held before, not now, nothing else moved
    # Held alerts are marked `held`, except in a cycle as of an instant before the last one's
    # (`evaluate --at`): there every held alert's instants are written out.
    marks: bool = True
    regroups: bool = False  # an alert was added, or its state, labels or severity moved
    pending: int = 0
    firing: int = 0
    resolved: int = 0
    said: list[dict[str, Any]] = field(default_factory=list)  # the log lines, written after the commit
    stored: dict[str, list[tuple]] | None = None  # SQLite: the rows in stored form, made before the lock
    ahead: dict[Any, int] = field(default_factory=dict)  # SQLite: per kind or touched key, the first _write_ahead wrote

    def changed(self) -> Iterator[dict[str, Any]]:
        """The rows written with what they become (each `_ALERT_COLUMNS` kind's list)."""
        for kind in _ALERT_COLUMNS:
            yield from getattr(self, kind)

    @property
    def written(self) -> int:
        touched = sum(len(fps) for fps in self.touched.values())
        return sum(len(getattr(self, kind)) for kind in _ALERT_COLUMNS) + touched


def plan_alerts(session: Session, *, matches: Sequence[Match], rules: Sequence[Rule], now: datetime,
                known: _Memory | None = None) -> AlertPlan:
    """Steps every alert that is held or active (the pure lifecycle); nothing is written.
    `known`: the last cycle's memory, used when no other cycle wrote alerts since: the rows
    as it left them, and an alert held by the match its row's content came from keeps it.
    Without it, an alert keeps its content when its row's content digest is its match's."""
    version = alerts_version(session)
    last = session.execute(select(AlertsHeld.__table__.c.at)).scalar()
    marks = last is None or now >= last
    held = {m.fingerprint: m for m in matches}
    if known is not None and known.version == version and known.alerts is not None and marks:
        again = _again(known, held, version, now, sqlite=session.get_bind().dialect.name == "sqlite")
        if again is not None:
            return again
        rows, content = _known_rows(known.alerts, held.keys()), known.content
    else:
        rows, content = _rows(session, held.keys()), {}
    by_name = {r.name: r for r in rules}
    plan, texts = AlertPlan(version, now, marks=marks), _Texts()
    for fp in sorted(held.keys() | rows.keys()):
        row, match = rows.get(fp), held.get(fp)
        rule = by_name.get(match.rule if match else row.rule)
        for_ = rule.for_ if rule else timedelta(0)
        kept = row is not None and match is not None and (content.get(fp) is match or texts.same(row, match))
        reason = still(row.state, row.active_since, for_=for_, now=now) if kept else None
        if reason is not None:  # the steady case: held as before, content as stored
            same = marks and row.held and row.reason == reason  # nothing to write
            (plan.holding if same else plan.touched).setdefault((reason, row.state), []).append(fp)
            plan.pending += row.state == PENDING
            plan.firing += row.state == FIRING
            continue
        _step_one(plan, fp, row, match, rule, for_, kept, now, texts)
    if session.get_bind().dialect.name == "sqlite":
        plan.stored = {kind: [_stored(v, texts) for v in getattr(plan, kind)] for kind in _ALERT_COLUMNS}
    return plan


class _Texts:
    """The JSON text of each match's labels and evaluation (a goal's matches share its
    status object), dumped once a plan, and each match's content_digest."""

    def __init__(self) -> None:
        self.known: dict[int, tuple[Any, str]] = {}  # by id(), holding the object so the id stays its own

    def json(self, value: Any) -> str:
        found = self.known.get(id(value))
        if found is None:
            found = self.known[id(value)] = (value, json.dumps(value))
        return found[1]

    def digest(self, match: Match) -> str:
        found = self.known.get(id(match))
        if found is None:
            found = self.known[id(match)] = (match, content_digest(
                match.severity, match.condition, match.title, match.summary, self.json(match.labels),
                self.json(match.evaluation)))
        return found[1]

    def same(self, row: Any, match: Match) -> bool:
        """Whether the row says what the match says, by the digest written with it (a
        remembered alert row, _Alert, has none: memory knows its match instead)."""
        stored = getattr(row, "content_digest", None)
        return stored is not None and stored == self.digest(match)


def _again(known: _Memory, held: dict[str, Match], version: int, now: datetime, *, sqlite: bool) -> AlertPlan | None:
    """The last plan at `now`, when it was all alerts firing and holding again, and this
    cycle holds the same alerts by the same matches: then every active alert is one of
    them, firing (no pending one can come due), and each steps to "still firing" alone,
    which is the plan the full walk would make. None otherwise."""
    last, content = known.plan, known.content
    if last is None or not _holds_only(last):
        return None
    key = ("still firing", FIRING)
    if not last.marks or (last.touched.keys() | last.holding.keys()) - {key}:
        return None
    firing = last.holding.get(key, [])  # all marked held, "still firing"
    if last.touched.get(key):
        firing = sorted(firing + last.touched[key])
    if not len(held) == len(content) == len(firing) == last.firing:
        return None
    if any(content.get(fp) is not match for fp, match in held.items()):
        return None
    plan = AlertPlan(version, now, holding={key: firing}, firing=last.firing)
    if sqlite:
        plan.stored = {kind: [] for kind in _ALERT_COLUMNS}
    return plan


def _holds_only(plan: AlertPlan) -> bool:
    """Whether the plan only held alerts again: the one kind `_again` can repeat. Memory
    keeps no other plan (a first cycle's, with every row and its JSON, was 35 MB at 10,000
    goals, kept until the next cycle)."""
    return not (plan.pending or plan.created or plan.refreshed or plan.moved_only or plan.released)


def _step_one(plan: AlertPlan, fp: str, row: Any, match: Match | None, rule: Rule | None, for_: timedelta,
              kept: bool, now: datetime, texts: _Texts) -> None:
    """One alert through the lifecycle, into the plan; `kept`: its row holds this match's content."""
    before = row.state if row is not None else INACTIVE
    previous = AlertState() if row is None else AlertState(row.state, row.active_since, row.starts_at,
                                                            row.ends_at, row.last_held_at)
    moved = step(previous, holds=match is not None, for_=for_,
                 keep_firing_for=rule.keep_firing_for if rule else timedelta(0), now=now)
    new = moved.state
    plan.pending += new.state == PENDING
    plan.firing += new.state == FIRING
    plan.resolved += new.state == RESOLVED and before != RESOLVED
    if match is None and new == previous:  # nothing holds and nothing moved
        if row is not None and row.held:  # its instants as read, no longer alerts_held.at's
            plan.released.append({"fp": fp, "held": False, "last_held_at": row.last_held_at,
                                  "updated_at": row.updated_at})
        return
    values = {"fp": fp, "state": new.state, "reason": moved.reason, "updated_at": now,
              "active_since": new.active_since, "starts_at": new.starts_at, "ends_at": new.ends_at,
              "last_held_at": new.last_held_at, "held": plan.marks and match is not None}
    plan.regroups = plan.regroups or row is None or (new.state, new.starts_at, new.ends_at) != (
        previous.state, previous.starts_at, previous.ends_at)
    if match is not None and not kept:
        values.update(severity=match.severity, condition=match.condition, title=match.title,
                      summary=match.summary, labels=match.labels, evaluation=match.evaluation,
                      content_digest=texts.digest(match))
        if row is None:
            values.update(subject=match.subject, rule=match.rule)
        else:
            plan.regroups = plan.regroups or (match.severity, match.labels) != (row.severity, _labels(row))
        (plan.refreshed if row is not None else plan.created).append(values)
    else:
        plan.moved_only.append(values)
    if new.state != before and new.state in _LOGGED:
        plan.said.append({"event": "alert " + new.state, "alert": match.rule if match else row.rule,
                          "subject": match.subject if match else row.subject, "reason": moved.reason,
                          "severity": match.severity if match else row.severity, "previous": before})


def _labels(row: Any) -> Any:
    """A row's labels where they were read (the memory's rows; _rows does not read them)."""
    return getattr(row, "labels", None)


def update_alerts(
    db: Session,
    *,
    matches: Sequence[Match],
    rules: Sequence[Rule],
    now: datetime,
    result: CycleResult,
    planned: AlertPlan | None = None,
) -> AlertPlan:
    """Writes the alert changes in bulk, in the caller's write transaction: `planned`'s when
    no other cycle has written alerts since it was made, else worked out here."""
    version = alerts_version(db, lock=True)
    plan = planned if planned is not None and planned.version == version else None
    if plan is None:
        plan = plan_alerts(db, matches=matches, rules=rules, now=now)
    result.pending, result.firing, result.resolved = plan.pending, plan.firing, plan.resolved
    _write(db, plan)
    db.execute(update(AlertsHeld.__table__).values(at=plan.now))  # every alert marked held was held now
    db.merge(StoreMeta(key=_VERSION_KEY, value=str(version + 1)))
    db.flush()
    return plan


_VERSION_KEY = "alerts_version"  # bumped by every cycle that writes alerts


def alerts_version(session: Session, *, lock: bool = False) -> int:
    """How many cycles have written alerts; with `lock` (PostgreSQL), held until commit so
    that two cycles' writes queue."""
    query = select(StoreMeta.value).where(StoreMeta.key == _VERSION_KEY)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    found = session.execute(query).scalar()
    return int(found) if found is not None else 0


# By kind of change, which is also the name of AlertPlan's list of them: what each writes.
_ALERT_COLUMNS = {
    "created": ("fingerprint", "subject", "rule", "state", "reason", "updated_at", "active_since", "starts_at",
                "ends_at", "last_held_at", "held", "severity", "condition", "labels", "content_digest"),
    "refreshed": ("state", "reason", "updated_at", "active_since", "starts_at", "ends_at", "last_held_at", "held",
                  "severity", "condition", "labels", "content_digest"),
    "moved_only": ("state", "reason", "updated_at", "active_since", "starts_at", "ends_at", "last_held_at", "held"),
    "released": ("held", "last_held_at", "updated_at"),
}
_CONTENT_COLUMNS = ("title", "summary", "evaluation")  # alert_contents: written when an alert is created or refreshed
_INSTANTS = {"updated_at", "active_since", "starts_at", "ends_at", "last_held_at"}


def _stored(values: dict[str, Any], texts: _Texts) -> dict[str, Any]:
    """The values as SQLite stores them (what the column types would write), made before
    the write lock is taken: instants as fixed-width UTC text, JSON as text."""
    out = {}
    for name, value in values.items():
        if name in _INSTANTS:
            value = None if value is None else utc_to_db(value, "sqlite")
        elif name in ("labels", "evaluation"):
            value = texts.json(value)
        out[name] = value
    return out


def _write(db: Session, plan: AlertPlan) -> None:
    """One executemany per kind of change and table: no ORM object or flush per row. On
    SQLite the rows go to the driver already in stored form; PostgreSQL's through Core. The
    alerts that only held again are one UPDATE of the narrow `alerts` row per reason and
    chunk of fingerprints; what an alert says (alert_contents) is written only when it changed."""
    if plan.stored is not None:
        _write_sqlite(db, plan)
        return
    connection = db.connection()
    table, contents = AlertRow.__table__, AlertContent.__table__
    if plan.created:
        connection.execute(insert(table), [_part(c, _ALERT_COLUMNS["created"]) for c in plan.created])
        connection.execute(insert(contents), [_part(c, ("fingerprint", *_CONTENT_COLUMNS)) for c in plan.created])
    # The SET columns are the parameters' keys; the row is found by `fp`.
    if plan.refreshed:
        connection.execute(update(table).where(table.c.fingerprint == bindparam("fp")),
                           [_part(r, ("fp", *_ALERT_COLUMNS["refreshed"])) for r in plan.refreshed])
        connection.execute(update(contents).where(contents.c.fingerprint == bindparam("fp")),
                           [_part(r, ("fp", *_CONTENT_COLUMNS)) for r in plan.refreshed])
    for moved in (plan.moved_only, plan.released):
        if moved:
            connection.execute(update(table).where(table.c.fingerprint == bindparam("fp")), moved)
    for (reason, _), fps in plan.touched.items():
        for start in range(0, len(fps), _CHUNK):
            connection.execute(update(table).where(table.c.fingerprint.in_(fps[start : start + _CHUNK]))
                               .values(reason=reason, updated_at=plan.now, last_held_at=plan.now, held=plan.marks))


def _part(values: dict[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    """These columns of a planned row, which keeps its fingerprint under "fp"."""
    return {name: values["fp" if name == "fingerprint" else name] for name in columns}


def _write_sqlite(db: Session, plan: AlertPlan) -> None:
    cursor = db.connection().connection.driver_connection.cursor()
    _write_rows(cursor, {kind: rows[plan.ahead.get(kind, 0):] for kind, rows in plan.stored.items()})  # type: ignore[union-attr]
    _write_touched(cursor, plan, {key: fps[plan.ahead.get(key, 0):] for key, fps in plan.touched.items()})
    cursor.close()


def _write_touched(cursor: Any, plan: AlertPlan, touched: dict[tuple[str, str], list[str]]) -> None:
    """The alerts that only held again and are not yet marked held with this reason:
    last_held_at, updated_at, the reason and the mark move."""
    at = utc_to_db(plan.now, "sqlite") if plan.now is not None else None
    for (reason, _), fps in touched.items():
        for start in range(0, len(fps), _CHUNK):
            chunk = fps[start : start + _CHUNK]
            cursor.execute(f"UPDATE alerts SET reason = ?, updated_at = ?, last_held_at = ?, held = ?"
                           f" WHERE fingerprint IN ({', '.join('?' * len(chunk))})",
                           (reason, at, at, plan.marks, *chunk))


def _write_rows(cursor: Any, stored: dict[str, list[dict[str, Any]]]) -> None:
    """Created, refreshed and moved alerts in stored form, with what the first two say."""
    for kind, rows in stored.items():
        if not rows:
            continue
        columns = _ALERT_COLUMNS[kind]
        if kind == "created":
            _insert(cursor, "alerts", columns, rows)
            _insert(cursor, "alert_contents", ("fingerprint", *_CONTENT_COLUMNS), rows)
            continue
        _update(cursor, "alerts", columns, rows)
        if kind == "refreshed":
            _update(cursor, "alert_contents", _CONTENT_COLUMNS, rows)


# Alert rows per transaction written ahead (~1.2 KB each with what they say): tens of ms of lock.
_AHEAD_CHUNK = 5_000


def _write_ahead(engine: Any, plan: AlertPlan) -> None:
    """SQLite, a plan with more rows than one chunk (a first cycle, a new day, or a steady
    cycle at scale): its alert rows, with what created and refreshed ones say, are written a
    chunk per transaction before the cycle's own, so that no writer waits for the whole
    plan's hundreds of megabytes (136,000 new alerts at 100,000 goals), and the cycle's
    transaction is left with the dispatch. Each chunk does what a cycle's write does: it
    checks that no other cycle wrote alerts since the plan was made and bumps
    alerts_version; if one did, the chunks stop and the cycle's transaction plans the rest
    again from the rows, these included. Readers see the alerts move a chunk at a time, as
    alerts arriving over a few seconds. PostgreSQL writes the plan in the cycle's
    transaction: a replica that lost the lease must write nothing, and that transaction checks."""
    if plan.stored is None:
        return
    rows: list[tuple[Any, Any]] = [(kind, row) for kind in _ALERT_COLUMNS for row in plan.stored[kind]]
    rows += [(key, fp) for key, fps in plan.touched.items() for fp in fps]
    if len(rows) <= _AHEAD_CHUNK:
        return
    for start in range(0, len(rows), _AHEAD_CHUNK):
        with db.paced(engine):
            if not _write_chunk(engine, plan, rows[start : start + _AHEAD_CHUNK]):
                return


def _write_chunk(engine: Any, plan: AlertPlan, chunk: list[tuple[Any, Any]]) -> bool:
    """One chunk's transaction; False: another cycle wrote alerts since the plan was made.
    `chunk`: (kind, stored row) and ((reason, state), fingerprint) of touched alerts."""
    with db.session(engine, write=True) as session:
        if alerts_version(session) != plan.version:
            return False
        cursor = session.connection().connection.driver_connection.cursor()
        _write_rows(cursor, {kind: [row for k, row in chunk if k == kind] for kind in _ALERT_COLUMNS})
        _write_touched(cursor, plan, {key: [fp for k, fp in chunk if k == key] for key in plan.touched})
        cursor.close()
        session.merge(StoreMeta(key=_VERSION_KEY, value=str(plan.version + 1)))
    plan.version += 1
    for kind, _ in chunk:
        plan.ahead[kind] = plan.ahead.get(kind, 0) + 1
    return True


def _insert(cursor: Any, table: str, columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    cursor.executemany(sql, [tuple(r["fp" if c == "fingerprint" else c] for c in columns) for r in rows])


def _update(cursor: Any, table: str, columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
    sql = f"UPDATE {table} SET {', '.join(c + ' = ?' for c in columns)} WHERE fingerprint = ?"
    cursor.executemany(sql, [(*(r[c] for c in columns), r["fp"]) for r in rows])


def open_alerts(db: Session) -> list[Any]:
    """Alerts that are pending or firing, the oldest first: every column of the alert row
    and of what it says."""
    table, contents = AlertRow.__table__, AlertContent.__table__
    query = (select(*as_held(), *(contents.c[name] for name in _CONTENT_COLUMNS))
             .join(contents, contents.c.fingerprint == table.c.fingerprint, isouter=True)
             .where(table.c.state.in_((PENDING, FIRING))))
    return sorted(db.execute(query), key=lambda r: (r.state != FIRING, r.active_since or r.updated_at))

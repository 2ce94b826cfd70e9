"""One evaluation cycle: judge every goal, move each alert through its lifecycle, and queue
the group notifications that are due (tracker.alerting.dispatch).

Judging reads the database without a lock: it is most of a cycle's time, and a concurrent
`tracker record` must not wait for it (SQLite has one writer). The alerts' changes are
worked out from the rows as read then (AlertPlan), and written, and the notifications
queued, in one short write transaction at the end: the plan applies when no other cycle has
written alerts since (`alerts_version`), else the transaction steps the rows it reads itself.
A crash leaves either the whole cycle or none of it, and a queued notification is never
lost; the leader's fence is checked last inside the transaction.

The decisions are the pure functions of `tracker.core.lifecycle`; this module reads and writes
the rows around them in bulk (one statement per kind of change, not an object per alert), and
logs each alert that starts or stops firing, and one summary per cycle.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from tracker.alerting.dispatch import alert_rows, dispatch, prepare
from tracker.catalog.model import plan_for
from tracker.collectors.health import failing_sources
from tracker.core.lifecycle import FIRING, INACTIVE, PENDING, RESOLVED, AlertState, step
from tracker.core.rules import Match, Rule, SourceHealth, goal_matches, source_matches
from tracker.core.verdict import Evaluation
from tracker.store import db, judging
from tracker.store.alert_tables import AlertRow
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
    with db.session(runtime.engine) as session:  # reads only: writers go on meanwhile
        if sources is None:
            sources = failing_sources(session, catalog=catalog)
        if judge is None:
            evaluations = judging.evaluate_from_db(session, catalog=catalog, now=now, remembered=runtime.remembered)
        else:
            evaluations = judge(session, catalog=catalog, now=now)
        caps = {goal.id: goal.severity for goal in catalog.goals}
        matches = goal_matches(evaluations, rules, caps)
        matches += source_matches(sources, rules)
        planned = plan_alerts(session, matches=matches, rules=rules, now=now)
        routing, inhibit_rules = plan_for(catalog, runtime.settings), catalog.effective_inhibit_rules()
        prepared = prepare(_after(alert_rows(session), planned), plan=routing, inhibit_rules=inhibit_rules)
    result = CycleResult(evaluations=list(evaluations))
    began = time.monotonic()
    with db.session(runtime.engine, write=True) as session:
        done = update_alerts(session, matches=matches, rules=rules, now=now, result=result, planned=planned)
        sent = dispatch(session, plan=routing, inhibit_rules=inhibit_rules, now=now,
                        prepared=prepared if done is planned else None)
        result.queued, result.waiting, result.next_due, result.suppressed = (
            sent.queued, sent.waiting, sent.next_due, sent.muted
        )
        if fence is not None:
            fence.check(session, now=runtime.now())
    result.write_seconds = time.monotonic() - began
    if judge is None:  # after the alerts' transaction: the verdicts table is a cache
        runtime.remembered.save(runtime.engine)
    for said in done.said:
        log.info(**said)
    log.info("alerts evaluated", goals=len(evaluations), matched=len(matches), written=done.written,
             pending=result.pending, firing=result.firing, resolved=result.resolved, queued=result.queued,
             write_seconds=round(result.write_seconds, 3))
    return result


class _Alert:
    """An alert row as it will be once a plan is written (what dispatching reads)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _after(rows: Sequence[Any], plan: AlertPlan) -> list[_Alert]:
    """The alert rows as read, with the plan's changes: what the write transaction will
    hold when the plan is still current there."""
    found = {r.fingerprint: dict(r._mapping) for r in rows}
    for values in (*plan.created, *plan.refreshed, *plan.moved_only):
        alert = found.setdefault(values["fp"], {"fingerprint": values["fp"]})
        alert.update((k, v) for k, v in values.items() if k in _GROUPED)
    return [_Alert(v) for v in found.values()]


_GROUPED = frozenset(("subject", "rule", "severity", "state", "labels", "starts_at", "ends_at", "updated_at"))


# What stepping an alert reads of its row: not its labels, summary or evaluation.
_STATE_COLUMNS = ("fingerprint", "subject", "rule", "severity", "state", "active_since", "starts_at", "ends_at",
                  "last_held_at")


def _rows(session: Session, held: Iterable[str]) -> dict[str, Any]:
    """The alert rows a cycle steps: those its rules hold for now, and those pending or
    firing (which may clear); an inactive or resolved alert nothing holds stays as it is."""
    table = AlertRow.__table__
    columns = [table.c[name] for name in _STATE_COLUMNS]
    found = {r.fingerprint: r for r in session.execute(select(*columns).where(table.c.state.in_((PENDING, FIRING))))}
    wanted = sorted(set(held) - found.keys())
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        found.update((r.fingerprint, r) for r in session.execute(select(*columns).where(table.c.fingerprint.in_(chunk))))
    return found


@dataclass
class AlertPlan:
    """One cycle's alert changes, worked out from the rows as read at `version`: the write
    transaction applies them when the rows are still at that version (else it works them out
    again from the rows it reads itself)."""

    version: int
    created: list[dict[str, Any]] = field(default_factory=list)
    refreshed: list[dict[str, Any]] = field(default_factory=list)  # matched: content and state
    moved_only: list[dict[str, Any]] = field(default_factory=list)  # no longer matched, state moved
    pending: int = 0
    firing: int = 0
    resolved: int = 0
    said: list[dict[str, Any]] = field(default_factory=list)  # the log lines, written after the commit
    stored: dict[str, list[tuple]] | None = None  # SQLite: the rows in stored form, made before the lock

    @property
    def written(self) -> int:
        return len(self.created) + len(self.refreshed) + len(self.moved_only)


def plan_alerts(session: Session, *, matches: Sequence[Match], rules: Sequence[Rule], now: datetime) -> AlertPlan:
    """Steps every alert that is held or active (the pure lifecycle); nothing is written."""
    version = alerts_version(session)
    held = {m.fingerprint: m for m in matches}
    rows = _rows(session, held.keys())
    by_name = {r.name: r for r in rules}
    plan = AlertPlan(version)
    for fp in sorted(held.keys() | rows.keys()):
        row, match = rows.get(fp), held.get(fp)
        before = row.state if row is not None else INACTIVE
        rule = by_name.get(match.rule if match else row.rule)
        previous = AlertState() if row is None else AlertState(row.state, row.active_since, row.starts_at,
                                                                row.ends_at, row.last_held_at)
        moved = step(previous, holds=match is not None, for_=rule.for_ if rule else timedelta(0),
                     keep_firing_for=rule.keep_firing_for if rule else timedelta(0), now=now)
        new = moved.state
        plan.pending += new.state == PENDING
        plan.firing += new.state == FIRING
        plan.resolved += new.state == RESOLVED and before != RESOLVED
        if match is None and new == previous:
            continue  # nothing holds and nothing moved: no write
        values = {"fp": fp, "state": new.state, "reason": moved.reason, "updated_at": now,
                  "active_since": new.active_since, "starts_at": new.starts_at, "ends_at": new.ends_at,
                  "last_held_at": new.last_held_at}
        if match is not None:
            values.update(severity=match.severity, condition=match.condition, title=match.title,
                          summary=match.summary, labels=match.labels, evaluation=match.evaluation)
            if row is None:
                values.update(subject=match.subject, rule=match.rule)
            (plan.refreshed if row is not None else plan.created).append(values)
        else:
            plan.moved_only.append(values)
        if new.state != before and new.state in _LOGGED:
            plan.said.append({"event": "alert " + new.state, "alert": match.rule if match else row.rule,
                              "subject": match.subject if match else row.subject, "reason": moved.reason,
                              "severity": match.severity if match else row.severity, "previous": before})
    if session.get_bind().dialect.name == "sqlite":
        plan.stored = {name: [_stored(v) for v in batch] for name, batch in
                       (("created", plan.created), ("refreshed", plan.refreshed), ("moved_only", plan.moved_only))}
    return plan


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


_COLUMNS = {
    "created": ("fingerprint", "subject", "rule", "state", "reason", "updated_at", "active_since", "starts_at",
                "ends_at", "last_held_at", "severity", "condition", "title", "summary", "labels", "evaluation"),
    "refreshed": ("state", "reason", "updated_at", "active_since", "starts_at", "ends_at", "last_held_at",
                  "severity", "condition", "title", "summary", "labels", "evaluation"),
    "moved_only": ("state", "reason", "updated_at", "active_since", "starts_at", "ends_at", "last_held_at"),
}
_INSTANTS = {"updated_at", "active_since", "starts_at", "ends_at", "last_held_at"}


def _stored(values: dict[str, Any]) -> dict[str, Any]:
    """The values as SQLite stores them (what the column types would write), made before
    the write lock is taken: instants as fixed-width UTC text, JSON as text."""
    out = {}
    for name, value in values.items():
        if name in _INSTANTS:
            value = None if value is None else utc_to_db(value, "sqlite")
        elif name in ("labels", "evaluation"):
            value = json.dumps(value)
        out[name] = value
    return out


def _write(db: Session, plan: AlertPlan) -> None:
    """One executemany per kind of change: no ORM object or flush per row. On SQLite the
    rows go to the driver already in stored form; PostgreSQL's through Core."""
    table = AlertRow.__table__
    connection = db.connection()
    if plan.stored is not None:
        cursor = connection.connection.driver_connection.cursor()
        for kind, rows in plan.stored.items():
            if not rows:
                continue
            columns = _COLUMNS[kind]
            if kind == "created":
                sql = f"INSERT INTO alerts ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
                cursor.executemany(sql, [tuple(r["fp" if c == "fingerprint" else c] for c in columns) for r in rows])
            else:
                sql = f"UPDATE alerts SET {', '.join(c + ' = ?' for c in columns)} WHERE fingerprint = ?"
                cursor.executemany(sql, [(*(r[c] for c in columns), r["fp"]) for r in rows])
        cursor.close()
        return
    if plan.created:
        connection.execute(insert(table), [{("fingerprint" if k == "fp" else k): v for k, v in c.items()}
                                           for c in plan.created])
    # The SET columns are the parameters' keys; the row is found by `fp`.
    by_fingerprint = update(table).where(table.c.fingerprint == bindparam("fp"))
    for batch in (plan.refreshed, plan.moved_only):
        if batch:
            connection.execute(by_fingerprint, batch)


def open_alerts(db: Session) -> list[AlertRow]:
    """Alerts that are pending or firing, the oldest first."""
    query = select(AlertRow).where(AlertRow.state.in_((PENDING, FIRING)))
    return sorted(db.execute(query).scalars(), key=lambda r: (r.state != FIRING, r.active_since or r.updated_at))

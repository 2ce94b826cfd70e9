"""One evaluation cycle: judge every goal, move each alert through its lifecycle, and queue
the group notifications that are due (tracker.alerting.dispatch).

Judging reads the database without a lock: it is most of a cycle's time, and a concurrent
`tracker record` must not wait for it (SQLite has one writer). The alerts are then stepped
and written, and the notifications queued, in one short write transaction that reads the
alert rows it steps, so a crash leaves either the whole cycle or none of it, and a queued
notification is never lost; the leader's fence is checked last inside it.

The decisions are the pure functions of `tracker.core.lifecycle`; this module reads and writes
the rows around them in bulk (one statement per kind of change, not an object per alert), and
logs each alert that starts or stops firing, and one summary per cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from tracker.alerting.dispatch import dispatch
from tracker.catalog.model import plan_for
from tracker.collectors.health import failing_sources
from tracker.core.lifecycle import FIRING, INACTIVE, PENDING, RESOLVED, AlertState, step
from tracker.core.rules import Match, Rule, SourceHealth, goal_matches, source_matches
from tracker.core.verdict import Evaluation
from tracker.store import db, judging
from tracker.store.alert_tables import AlertRow

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
    with db.session(runtime.engine) as session:  # reads only: writers go on meanwhile
        if sources is None:
            sources = failing_sources(session, catalog=catalog)
        if judge is None:
            evaluations = judging.evaluate_from_db(session, catalog=catalog, now=now, remembered=runtime.remembered)
        else:
            evaluations = judge(session, catalog=catalog, now=now)
    rules = catalog.effective_rules()
    caps = {goal.id: goal.severity for goal in catalog.goals}
    matches = goal_matches(evaluations, rules, caps)
    matches += source_matches(sources, rules)
    result = CycleResult(evaluations=list(evaluations))
    plan = plan_for(catalog, runtime.settings)
    with db.session(runtime.engine, write=True) as session:
        changed = update_alerts(session, matches=matches, rules=rules, now=now, result=result)
        sent = dispatch(session, plan=plan, inhibit_rules=catalog.effective_inhibit_rules(), now=now)
        result.queued, result.waiting, result.next_due, result.suppressed = (
            sent.queued, sent.waiting, sent.next_due, sent.muted
        )
        if fence is not None:
            fence.check(session, now=runtime.now())
    log.info("alerts evaluated", goals=len(evaluations), matched=len(matches), written=changed,
             pending=result.pending, firing=result.firing, resolved=result.resolved, queued=result.queued)
    return result


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


def update_alerts(
    db: Session,
    *,
    matches: Sequence[Match],
    rules: Sequence[Rule],
    now: datetime,
    result: CycleResult,
) -> int:
    """Steps every alert that is held or active and writes those that are matched or moved,
    in bulk; returns how many rows were written."""
    held = {m.fingerprint: m for m in matches}
    rows = _rows(db, held.keys())
    by_name = {r.name: r for r in rules}
    created: list[dict[str, Any]] = []
    refreshed: list[dict[str, Any]] = []  # matched: content and state
    moved_only: list[dict[str, Any]] = []  # no longer matched, state moved
    for fp in sorted(held.keys() | rows.keys()):
        row, match = rows.get(fp), held.get(fp)
        before = row.state if row is not None else INACTIVE
        rule = by_name.get(match.rule if match else row.rule)
        previous = AlertState() if row is None else AlertState(row.state, row.active_since, row.starts_at,
                                                                row.ends_at, row.last_held_at)
        moved = step(previous, holds=match is not None, for_=rule.for_ if rule else timedelta(0),
                     keep_firing_for=rule.keep_firing_for if rule else timedelta(0), now=now)
        new = moved.state
        result.pending += new.state == PENDING
        result.firing += new.state == FIRING
        result.resolved += new.state == RESOLVED and before != RESOLVED
        if match is None and new == previous:
            continue  # nothing holds and nothing moved: no write
        values = {"fp": fp, "state": new.state, "reason": moved.reason, "updated_at": now,
                  "active_since": new.active_since, "starts_at": new.starts_at, "ends_at": new.ends_at,
                  "last_held_at": new.last_held_at}
        if match is not None:
            values.update(severity=match.severity, condition=match.condition, title=match.title,
                          summary=match.summary, labels=match.labels, evaluation=match.evaluation)
            (refreshed if row is not None else created).append(values)
            if row is None:
                values.update(subject=match.subject, rule=match.rule)
        else:
            moved_only.append(values)
        if new.state != before and new.state in _LOGGED:
            log.info("alert " + new.state, alert=match.rule if match else row.rule,
                     subject=match.subject if match else row.subject, reason=moved.reason,
                     severity=match.severity if match else row.severity, previous=before)
    _write(db, created, refreshed, moved_only)
    return len(created) + len(refreshed) + len(moved_only)


def _write(db: Session, created: list[dict[str, Any]], refreshed: list[dict[str, Any]],
           moved_only: list[dict[str, Any]]) -> None:
    """One executemany per kind of change, through Core: no ORM object or flush per row."""
    table = AlertRow.__table__
    if created:
        db.execute(insert(table), [{("fingerprint" if k == "fp" else k): v for k, v in c.items()} for c in created])
    # The SET columns are the parameters' keys; the row is found by `fp`.
    by_fingerprint = update(table).where(table.c.fingerprint == bindparam("fp"))
    for batch in (refreshed, moved_only):
        if batch:
            db.connection().execute(by_fingerprint, batch)


def open_alerts(db: Session) -> list[AlertRow]:
    """Alerts that are pending or firing, the oldest first."""
    query = select(AlertRow).where(AlertRow.state.in_((PENDING, FIRING)))
    return sorted(db.execute(query).scalars(), key=lambda r: (r.state != FIRING, r.active_since or r.updated_at))

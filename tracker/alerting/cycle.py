"""One evaluation cycle: judge every goal, move each alert through its lifecycle, and queue
the group notifications that are due (tracker.alerting.dispatch), all in one write
transaction (so a crash leaves either the whole cycle or none of it, and a queued
notification is never lost).

The decisions are the pure functions of `tracker.core.lifecycle`; this module reads and writes the
rows around them and logs each transition with its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import select
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
    from tracker.catalog.model import Catalog
    from tracker.store.leadership import Fence
    from tracker.store.runtime import Runtime

log = structlog.get_logger("tracker.alerts")
Judge = Callable[..., list[Evaluation]]


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
    table in the same transaction. `fence` (replicas on PostgreSQL): checked last, inside the
    write transaction, with the lease row locked until commit; when this replica no longer
    holds the lease it raises LeaseLost and the whole cycle is rolled back."""
    catalog = runtime.catalog
    with db.session(runtime.engine, write=True) as session:
        if sources is None:
            sources = failing_sources(session, catalog=catalog)
        evaluations = (judge or _judge_from_db)(session, catalog=catalog, now=now)
        rules = catalog.effective_rules()
        caps = {goal.id: goal.severity for goal in catalog.goals}
        matches = goal_matches(evaluations, rules, caps)
        matches += source_matches(sources, rules)
        result = CycleResult(evaluations=list(evaluations))
        update_alerts(session, matches=matches, rules=rules, now=now, result=result)
        sent = dispatch(session, plan=plan_for(catalog, runtime.settings),
                        inhibit_rules=catalog.effective_inhibit_rules(), now=now)
        result.queued, result.waiting, result.next_due, result.suppressed = (
            sent.queued, sent.waiting, sent.next_due, sent.muted
        )
        if fence is not None:
            fence.check(session, now=runtime.now())
    return result


def _judge_from_db(session: Session, *, catalog: Catalog, now: datetime) -> list[Evaluation]:
    return judging.evaluate_from_db(session, catalog=catalog, now=now)


def update_alerts(
    db: Session,
    *,
    matches: Sequence[Match],
    rules: Sequence[Rule],
    now: datetime,
    result: CycleResult,
) -> None:
    held = {m.fingerprint: m for m in matches}
    rows = {r.fingerprint: r for r in db.execute(select(AlertRow)).scalars()}
    by_name = {r.name: r for r in rules}
    for fp in sorted(held.keys() | rows.keys()):
        row, match = rows.get(fp), held.get(fp)
        before = row.state if row else INACTIVE
        row = _advance(db, row, match, by_name, now)
        result.pending += row.state == PENDING
        result.firing += row.state == FIRING
        result.resolved += row.state == RESOLVED and before != RESOLVED
    db.flush()  # the dispatcher reads the rows back


def _advance(db: Session, row: AlertRow | None, match: Match | None, rules: dict[str, Rule], now: datetime) -> AlertRow:
    """Steps one alert's lifecycle and writes the row (created on first match) when it is
    matched or its state moved."""
    rule = rules.get(match.rule if match else row.rule)  # type: ignore[union-attr]
    previous = AlertState() if row is None else _state(row)
    moved = step(
        previous,
        holds=match is not None,
        for_=rule.for_ if rule else timedelta(0),
        keep_firing_for=rule.keep_firing_for if rule else timedelta(0),
        now=now,
    )
    if row is not None and match is None and moved.state == previous:
        return row  # nothing holds and nothing moved: no write (old alerts cost a read, not an UPDATE)
    if row is None:
        assert match is not None
        row = AlertRow(fingerprint=match.fingerprint, subject=match.subject, rule=match.rule, state=INACTIVE,
                       condition=match.condition, severity=match.severity, reason="", updated_at=now)
    if match is not None:
        row.severity, row.condition, row.title = match.severity, match.condition, match.title
        row.summary, row.labels, row.evaluation = match.summary, match.labels, match.evaluation
    if moved.name != row.state:
        log.info("alert " + moved.name, alert=row.rule, subject=row.subject, reason=moved.reason,
                 severity=row.severity, previous=row.state)
    new = moved.state
    row.state, row.reason, row.updated_at = new.state, moved.reason, now
    row.active_since, row.starts_at, row.ends_at, row.last_held_at = (
        new.active_since, new.starts_at, new.ends_at, new.last_held_at
    )
    db.add(row)
    return row


def _state(row: AlertRow) -> AlertState:
    return AlertState(row.state, row.active_since, row.starts_at, row.ends_at, row.last_held_at)


def open_alerts(db: Session) -> list[AlertRow]:
    """Alerts that are pending or firing, the oldest first."""
    query = select(AlertRow).where(AlertRow.state.in_((PENDING, FIRING)))
    return sorted(db.execute(query).scalars(), key=lambda r: (r.state != FIRING, r.active_since or r.updated_at))

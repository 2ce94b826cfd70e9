"""One evaluation cycle: judge every goal, move each alert through its lifecycle, and queue
the notifications each receiver needs, all in one write transaction (so a crash leaves either
the whole cycle or none of it, and a queued notification is never lost).

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

from tracker.catalog.model import plan_for
from tracker.catalog.routing import Plan, Route
from tracker.collectors.health import failing_sources
from tracker.core.lifecycle import FIRING, INACTIVE, PENDING, RESOLVED, AlertState, Sent, needs_update, step
from tracker.core.rules import Match, Rule, SourceHealth, goal_matches, source_matches
from tracker.core.verdict import Evaluation
from tracker.delivery import outbox
from tracker.delivery.formats import Notice, render
from tracker.store import db, judging, silences
from tracker.store.alert_tables import AlertRow, NotifyLog

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
    queued: int = 0  # notifications queued in this cycle
    suppressed: dict[str, int] = field(default_factory=dict)  # e.g. {"silenced": 2}


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
        update_alerts(
            session, matches=matches, rules=rules, plan=plan_for(runtime.catalog, runtime.settings), now=now,
            result=result,
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
    plan: Plan,
    now: datetime,
    result: CycleResult,
) -> None:
    held = {m.fingerprint: m for m in matches}
    rows = {r.fingerprint: r for r in db.execute(select(AlertRow)).scalars()}
    by_name = {r.name: r for r in rules}
    muted = silences.active(db, now=now)
    sent = {(n.fingerprint, n.receiver): n for n in db.execute(select(NotifyLog)).scalars()}
    for fp in sorted(held.keys() | rows.keys()):
        row, match = rows.get(fp), held.get(fp)
        before = row.state if row else INACTIVE
        row = _advance(db, row, match, by_name, now)
        assert row is not None
        result.pending += row.state == PENDING
        result.firing += row.state == FIRING
        result.resolved += row.state == RESOLVED and before != RESOLVED
        if row.state in (FIRING, RESOLVED):
            for route in plan.routes_for(row.labels, row.severity):
                _maybe_notify(db, row, route, plan, sent, silenced=row.subject in muted, now=now, result=result)


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


def _maybe_notify(
    db: Session, row: AlertRow, route: Route, plan: Plan, sent: dict, *, silenced: bool, now: datetime,
    result: CycleResult,
) -> None:
    entry = sent.get((row.fingerprint, route.receiver))
    last = Sent(entry.state, entry.at) if entry else None
    repeat = timedelta(0) if plan.refreshes(route.receiver) else route.repeat_interval
    decision = needs_update(
        last, state=row.state, repeat_interval=repeat, send_resolved=route.send_resolved,
        silenced=silenced, now=now,
    )
    if not decision.remembers:
        if decision.reason == "silenced":
            result.suppressed["silenced"] = result.suppressed.get("silenced", 0) + 1
        return
    queued_id = None
    if decision.notify:
        queued_id = _queue(db, row, plan, route.receiver, decision.reason, now).id
        row.last_notified_at, row.last_notify_reason = now, decision.reason
        result.queued += 1
        log.info("notification queued", alert=row.rule, subject=row.subject, receiver=route.receiver,
                 reason=decision.reason)
    entry = entry or NotifyLog(fingerprint=row.fingerprint, receiver=route.receiver, state=row.state, at=now,
                               reason=decision.reason)
    entry.state, entry.at, entry.reason, entry.outbox_id = row.state, now, decision.reason, queued_id
    sent[(row.fingerprint, route.receiver)] = entry
    db.add(entry)


def _queue(db: Session, row: AlertRow, plan: Plan, receiver: str, reason: str, now: datetime):  # type: ignore[no-untyped-def]
    target = plan.targets[receiver]
    event = "alert.resolved" if row.state == RESOLVED else "alert.firing"
    notice = Notice(
        event=event, timestamp=now, receiver=receiver, fingerprint=row.fingerprint, rule=row.rule,
        severity=row.severity, subject=row.subject, title=row.title, state=row.state, reason=reason,
        summary=row.summary, labels=row.labels, evaluation=row.evaluation, starts_at=row.starts_at,
        ends_at=row.ends_at, expires_at=now + plan.alert_ttl, generator_url=plan.generator_url,
    )
    return outbox.enqueue(db, receiver=receiver, fingerprint=row.fingerprint, subject=row.subject, event=event,
                          reason=reason, body=render(target.format, notice), now=now)


def open_alerts(db: Session) -> list[AlertRow]:
    """Alerts that are pending or firing, the oldest first."""
    query = select(AlertRow).where(AlertRow.state.in_((PENDING, FIRING)))
    return sorted(db.execute(query).scalars(), key=lambda r: (r.state != FIRING, r.active_since or r.updated_at))

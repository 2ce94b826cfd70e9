"""The dispatcher: decide, for every group of every receiver, whether a notification goes
out now, and queue it (one outbox row carrying the whole group) in the caller's transaction.

It runs at the end of each evaluation cycle, inside the cycle's transaction, and again before
each delivery pass (a new group's group_wait usually ends between cycles). Replicas: only
the leader dispatches, under the evaluation fence, so a group is notified once; on SQLite
there is one daemon per file. Decisions are tracker.core.grouping's, with their reasons.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select, update
from sqlmodel import Session

from tracker.alerting.groups import Group, collect
from tracker.alerting.muting import inhibition, kind, with_silences
from tracker.catalog.model import plan_for
from tracker.catalog.routing import Plan
from tracker.core.grouping import GroupDecision, Members, Told, after_notify, needs_notify
from tracker.core.inhibition import InhibitRule
from tracker.core.lifecycle import FIRING
from tracker.delivery import outbox
from tracker.delivery.formats import Notice, NoticeAlert, alertmanager, render_for
from tracker.delivery.formats.notice import dump
from tracker.store import db, silences
from tracker.store.alert_tables import AlertGroup, AlertRow

if TYPE_CHECKING:
    from tracker.store.leadership import Fence
    from tracker.store.runtime import Runtime

log = structlog.get_logger("tracker.alerts")
# What grouping and muting read of every alert (not its title, summary or evaluation: those
# are read for the alerts a notification carries).
_GROUPING = ("fingerprint", "subject", "rule", "severity", "state", "labels", "starts_at", "ends_at", "updated_at")
_CHUNK = 500  # fingerprints per IN list


@dataclass
class DispatchResult:
    queued: int = 0  # group notifications queued
    waiting: int = 0  # groups waiting out group_wait or group_interval
    next_due: datetime | None = None  # the earliest a waiting group can go
    next_repeat: datetime | None = None  # the earliest an unchanged firing group repeats
    muted: dict[str, int] = field(default_factory=dict)  # firing alerts held back: {"silenced": 1}

    def wait_until(self, due: datetime | None) -> None:
        if due is not None:
            self.waiting += 1
            self.next_due = due if self.next_due is None else min(self.next_due, due)

    def repeat_at(self, due: datetime | None) -> None:
        if due is not None:
            self.next_repeat = due if self.next_repeat is None else min(self.next_repeat, due)


def dispatch_pass(runtime: Runtime, *, now: datetime, fence: Fence | None = None, wait: bool = True) -> DispatchResult:
    """One dispatch in its own write transaction; with a `fence`, only while this replica
    still leads (otherwise LeaseLost, and nothing is written)."""
    plan = plan_for(runtime.catalog, runtime.settings)
    with db.session(runtime.engine, write=True) as session:
        result = dispatch(session, plan=plan, inhibit_rules=runtime.catalog.effective_inhibit_rules(), now=now,
                          wait=wait)
        if fence is not None:
            fence.check(session, now=runtime.now())
    return result


@dataclass
class Prepared:
    """What dispatching works out from the alert rows alone (their groups, and which the
    firing ones inhibit), so that a cycle can do it before it takes the write lock."""

    rows: list[Any]
    groups: dict[tuple[str, str], Group]
    inhibited: dict[str, str]


def prepare(rows: Sequence[Any], *, plan: Plan, inhibit_rules: Sequence[InhibitRule]) -> Prepared:
    rows = list(rows)
    return Prepared(rows, collect(rows, plan), inhibition(rows, inhibit_rules))


def alert_rows(session: Session) -> list[Any]:
    """Every alert, the columns grouping and muting read."""
    table = AlertRow.__table__
    return list(session.execute(select(*[table.c[name] for name in _GROUPING])))


def dispatch(
    session: Session, *, plan: Plan, inhibit_rules: Sequence[InhibitRule], now: datetime, wait: bool = True,
    prepared: Prepared | None = None,
) -> DispatchResult:
    """Decides every group and queues the notifications due at `now`. `prepared`: the
    rows' groups and inhibitions as they stand in this transaction, worked out before it."""
    if prepared is None:
        prepared = prepare(alert_rows(session), plan=plan, inhibit_rules=inhibit_rules)
    rows, groups = prepared.rows, prepared.groups
    told = {(g.receiver, g.group_key): g for g in session.execute(select(AlertGroup)).scalars()}
    muted = with_silences(prepared.inhibited, rows, silences=silences.rules(session, now=now), now=now)
    result = DispatchResult()
    for row in rows:
        if row.state == FIRING and row.fingerprint in muted:
            name = kind(muted[row.fingerprint])
            result.muted[name] = result.muted.get(name, 0) + 1
    for where in sorted(told.keys() - groups.keys()):
        session.delete(told[where])  # its route or its alerts are gone: nobody is left to tell
    batches = Batches()
    for where, group in sorted(groups.items()):
        _decide(session, group, told.get(where), plan=plan, muted=muted, now=now, wait=wait, result=result,
                batches=batches)
    batches.queue(session, now=now)
    return result


BATCH_SIZE = 64  # alerts per POST to Alertmanager's API, as Prometheus's notifier sends them


@dataclass
class Batches:
    """alertmanager_api: every group due in this dispatch goes out in a few POSTs of up to
    BATCH_SIZE alerts (one outbox row each), not one POST per group."""

    notices: dict[str, list[Notice]] = field(default_factory=dict)
    waiting: dict[str, list[AlertGroup]] = field(default_factory=dict)  # rows told by a batch of the receiver

    def add(self, notice: Notice) -> None:
        self.notices.setdefault(notice.receiver, []).append(notice)

    def queue(self, session: Session, *, now: datetime) -> None:
        for receiver, notices in sorted(self.notices.items()):
            items = [(alert, notice) for notice in notices for alert in notice.alerts]
            chunks = [items[n:n + BATCH_SIZE] for n in range(0, len(items), BATCH_SIZE)]
            reasons = sorted({notice.reason for notice in notices})
            rows = [self._row(session, receiver, chunk, n, len(chunks), reasons, now) for n, chunk in
                    enumerate(chunks, 1)]
            for told in self.waiting.get(receiver, []):
                told.outbox_id = rows[-1].id
                session.add(told)

    @staticmethod
    def _row(session: Session, receiver: str, chunk: list, number: int, total: int, reasons: list[str],
             now: datetime):  # type: ignore[no-untyped-def]
        body = dump([item for alert, notice in chunk for item in alertmanager.pushed([alert], notice)])
        firing = any(alert.state == "firing" for alert, _ in chunk)
        key = hashlib.sha256(("\x00".join([receiver, *sorted(a.fingerprint for a, _ in chunk)])).encode())
        log.info("notification queued", receiver=receiver, batch=f"{number} of {total}", alerts=len(chunk))
        return outbox.enqueue(session, receiver=receiver, fingerprint=key.hexdigest()[:16],
                              subject=f"batch {number} of {total}", event="alert.firing" if firing else
                              "alert.resolved", reason=reasons[0] if len(reasons) == 1 else ", ".join(reasons)[:200],
                              body=body, now=now)


def _members(group: Group, told: AlertGroup | None, muted: dict[str, str]) -> Members:
    believed = set(told.firing) if told else set()
    firing = {fp for fp, r in group.alerts.items() if r.state == FIRING and fp not in muted}
    resolved = {fp for fp, r in group.alerts.items() if r.state != FIRING and fp in believed and fp not in muted}
    starts = [group.alerts[fp].starts_at for fp in firing if group.alerts[fp].starts_at is not None]
    return Members(frozenset(firing), frozenset(resolved), min(starts, default=None))


def _told(row: AlertGroup | None) -> Told | None:
    return None if row is None else Told(frozenset(row.firing), frozenset(row.resolved), row.notified_at)


def _decide(
    session: Session, group: Group, row: AlertGroup | None, *, plan: Plan, muted: dict[str, str], now: datetime,
    wait: bool, result: DispatchResult, batches: Batches,
) -> None:
    members = _members(group, row, muted)
    decision = needs_notify(_told(row), members, timing=plan.timing(group.route),
                            send_resolved=group.route.send_resolved, now=now, wait=wait)
    if not (decision.notify or decision.record):
        if decision.waiting:
            result.wait_until(decision.due)
        else:
            result.repeat_at(decision.due)
        return
    still_muted = frozenset(fp for fp, r in group.alerts.items() if r.state == FIRING and fp in muted)
    batched = decision.notify and plan.refreshes(group.receiver)
    notice = _notice(session, group, members, decision, plan, now) if decision.notify else None
    if batched:
        batches.add(notice)  # type: ignore[arg-type]
    queued = _enqueue(session, group, notice, plan, now) if notice is not None and not batched else None
    outbox_id = queued.id if queued is not None else None
    result.queued += decision.notify
    believed = after_notify(_told(row), members, still_muted, now)
    if not believed.firing:
        if row is not None:
            session.delete(row)  # the receiver believes nothing of it fires: the group is over
        return
    row = row or AlertGroup(receiver=group.receiver, group_key=group.key, group_id=group.id, first_notified_at=now,
                            notified_at=now, reason=decision.reason)
    row.labels, row.firing, row.resolved = group.labels, sorted(believed.firing), sorted(believed.resolved)
    row.notified_at, row.reason, row.outbox_id = now, decision.reason, outbox_id
    session.add(row)
    if batched:
        batches.waiting.setdefault(group.receiver, []).append(row)


def _notice(session: Session, group: Group, members: Members, decision: GroupDecision, plan: Plan,
            now: datetime) -> Notice:
    event = "alert.firing" if members.firing else "alert.resolved"
    told = sorted(members.firing | members.resolved, key=lambda fp: _order(group, fp))
    chosen = _full_rows(session, told)
    table = AlertRow.__table__
    for start in range(0, len(told), _CHUNK):
        session.execute(update(table).where(table.c.fingerprint.in_(told[start : start + _CHUNK]))
                        .values(last_notified_at=now, last_notify_reason=decision.reason))
    return Notice(
        event=event, timestamp=now, receiver=group.receiver, group_key=group.key, group_labels=group.labels,
        alerts=tuple(_notice_alert(alert, decision.reason, now) for alert in chosen), reason=decision.reason,
        expires_at=now + plan.alert_ttl, external_url=plan.external_url,
    )


def _enqueue(session: Session, group: Group, notice: Notice, plan: Plan, now: datetime):  # type: ignore[no-untyped-def]
    log.info("notification queued", receiver=group.receiver, group=group.key, reason=notice.reason,
             firing=sum(a.state == "firing" for a in notice.alerts),
             resolved=sum(a.state == "resolved" for a in notice.alerts))
    return outbox.enqueue(session, receiver=group.receiver, fingerprint=group.id, subject=group.key[:200],
                          event=notice.event, reason=notice.reason, body=render_for(plan.targets[group.receiver],
                                                                                     notice), now=now)


def _full_rows(session: Session, fingerprints: list[str]) -> list[Any]:
    """The whole rows of these alerts, in the order given."""
    table = AlertRow.__table__
    found: dict[str, Any] = {}
    for start in range(0, len(fingerprints), _CHUNK):
        chunk = fingerprints[start : start + _CHUNK]
        found.update((r.fingerprint, r) for r in session.execute(select(table).where(table.c.fingerprint.in_(chunk))))
    return [found[fp] for fp in fingerprints]


def _order(group: Group, fp: str) -> tuple:
    """Firing before resolved, then the oldest first: the order a reader scans a group in."""
    row = group.alerts[fp]
    return (row.state != FIRING, row.starts_at or row.updated_at, row.subject, row.rule)


def _notice_alert(row: Any, reason: str, now: datetime) -> NoticeAlert:
    firing = row.state == FIRING
    return NoticeAlert(
        fingerprint=row.fingerprint, rule=row.rule, severity=row.severity, subject=row.subject, title=row.title,
        state="firing" if firing else "resolved", reason=reason if firing else "resolved", summary=row.summary,
        labels=row.labels, evaluation=row.evaluation, starts_at=row.starts_at,
        ends_at=None if firing else (row.ends_at or now),
    )

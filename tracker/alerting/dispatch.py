"""The dispatcher: decide, for every group of every receiver, whether a notification goes
out now, and queue it (one outbox row carrying the whole group) in the caller's transaction.

It runs at the end of each evaluation cycle, inside the cycle's transaction, and again before
each delivery pass (a new group's group_wait usually ends between cycles). Replicas: only
the leader dispatches, under the evaluation fence, so a group is notified once; on SQLite
there is one daemon per file. Decisions are tracker.core.grouping's, with their reasons.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import Text, cast, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
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
from tracker.delivery.formats.notice import StoredObject, dump, held_object
from tracker.store import db, silences
from tracker.store.alert_tables import AlertContent, AlertGroup, AlertRow, OutboxRow, as_held
from tracker.store.dbtypes import pack_body, utc_to_db
from tracker.store.models import StoreMeta

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
    settled: Settled | None = field(default=None, repr=False, compare=False)  # what a next dispatch may reuse
    # (fingerprints, reason, when) told whose last_notified_at is written after the commit (mark_later)
    later: list[tuple[list[str], str, datetime]] = field(default_factory=list, repr=False, compare=False)

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
    mark_later(runtime.engine, result)
    return result


@dataclass(frozen=True)
class Settled:
    """A dispatch's decisions, for as long as they stand: while the groups' alerts stay as
    they were (the caller knows), what receivers were told stays as it was (`told`: a token
    every dispatch that writes replaces), the same silences are in force, and no group's
    time comes (`until`: the earliest group_wait, group_interval or repeat_interval end;
    None when no group has one), a dispatch decides the same and writes nothing."""

    told: str | None
    silences: tuple
    at: datetime  # when it was decided: an earlier instant is decided afresh
    until: datetime | None
    result: DispatchResult

    def stands(self, told: str | None, silences: tuple, now: datetime) -> bool:
        return (self.told == told and self.silences == silences and self.at <= now
                and (self.until is None or now < self.until))


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
    return list(session.execute(select(*as_held(*_GROUPING))))


def dispatch(
    session: Session, *, plan: Plan, inhibit_rules: Sequence[InhibitRule], now: datetime, wait: bool = True,
    prepared: Prepared | None = None, settled: Settled | None = None, drafted: Draft | None = None,
) -> DispatchResult:
    """Decides every group and queues the notifications due at `now`. `prepared`: the
    rows' groups and inhibitions as they stand in this transaction, worked out before it.
    `settled`: the last dispatch's decisions, given when the caller knows that no alert
    moved since in anything grouping reads; they are returned again, and nothing is read
    or written, when they still stand (Settled.stands). `drafted`: this dispatch worked
    out before the transaction (`draft`, from the rows as they stand in it); it is written
    as it is when what receivers were told and the silences are still as it read them."""
    if drafted is not None and drafted.stands(session):
        return drafted.write(session)
    return draft(session, plan=plan, inhibit_rules=inhibit_rules, now=now, wait=wait, prepared=prepared,
                 settled=settled, lock=True).write(session)


def draft(
    session: Session, *, plan: Plan, inhibit_rules: Sequence[InhibitRule], now: datetime, wait: bool = True,
    prepared: Prepared | None = None, settled: Settled | None = None, planned: Any = None,
    lock: bool = False,
) -> Draft:
    """Every group's decision at `now` and what follows from it, notification bodies
    rendered, nothing written. `planned`: alert columns by fingerprint that a write not yet
    made will give the rows (a cycle drafts before its write transaction); `lock`: inside
    the transaction that writes it (PostgreSQL: dispatches queue on the told token)."""
    told_token = _told_token(session, lock=lock)
    rules = silences.rules(session, now=now)
    in_force = tuple(sorted((r.id, r.ends_at, repr(r.matchers)) for r in rules))
    out = Draft(told_token, in_force, now)
    if settled is not None and settled.stands(told_token, in_force, now):
        out.result = replace(settled.result, muted=dict(settled.result.muted), settled=settled)
        return out
    if prepared is None:
        prepared = prepare(alert_rows(session), plan=plan, inhibit_rules=inhibit_rules)
    rows, groups = prepared.rows, prepared.groups
    told = {(g.receiver, g.group_key): g for g in session.execute(select(AlertGroup.__table__))}
    muted = with_silences(prepared.inhibited, rows, silences=rules, now=now)
    result = out.result
    for row in rows:
        if row.state == FIRING and row.fingerprint in muted:
            name = kind(muted[row.fingerprint])
            result.muted[name] = result.muted.get(name, 0) + 1
    out.gone = sorted(told.keys() - groups.keys())  # their route or alerts are gone: nobody is left to tell
    decided = [(group, told.get(where), _decision(group, told.get(where), plan=plan, muted=muted, now=now, wait=wait))
               for where, group in sorted(groups.items())]
    chosen = _full_rows(session, sorted({fp for _, _, (d, m) in decided if d.notify for fp in m.firing | m.resolved}),
                        planned or {})
    batches = Batches()
    until: datetime | None = None
    for group, row, (decision, members) in decided:
        if decision.notify or decision.record:
            _follow(out, group, row, decision, members, plan=plan, muted=muted, chosen=chosen, batches=batches)
        else:
            if decision.waiting:
                result.wait_until(decision.due)
            else:
                result.repeat_at(decision.due)
            if decision.due is not None:
                until = decision.due if until is None else min(until, decision.due)
    batches.queue(out, now=now)
    if not out.writes:
        result.settled = Settled(told_token, in_force, now, until, replace(result, muted=dict(result.muted)))
    return out


@dataclass
class _Queue:
    """One outbox row to insert, its body rendered."""

    receiver: str
    fingerprint: str
    subject: str
    event: str
    reason: str
    body: bytes  # in stored form (dbtypes.pack_body): packed before the write lock
    said: dict[str, Any]


@dataclass
class _Tell:
    """What one receiver now believes of one group: its alert_groups row to write."""

    receiver: str
    group_key: str
    group_id: str
    labels: dict[str, str]
    firing: list[str]
    resolved: list[str]
    reason: str
    exists: bool
    outbox: int | str | None  # the index of its _Queue, or the receiver whose last batch told it


@dataclass
class Draft:
    """A dispatch worked out and not yet written (`draft`), with what it read."""

    told_token: str | None
    in_force: tuple
    now: datetime
    result: DispatchResult = field(default_factory=DispatchResult)
    gone: list[tuple[str, str]] = field(default_factory=list)  # alert_groups rows to delete
    tell: list[_Tell] = field(default_factory=list)
    notified: list[tuple[list[str], str]] = field(default_factory=list)  # alerts sent, with the reason
    queue: list[_Queue] = field(default_factory=list)

    @property
    def writes(self) -> bool:
        return bool(self.gone or self.tell or self.notified or self.queue)

    def stands(self, session: Session) -> bool:
        """Whether what it read is still so in this (write) transaction: the alert rows are
        the caller's to know; what receivers were told, and the silences in force."""
        if _told_token(session, lock=True) != self.told_token:
            return False
        rules = silences.rules(session, now=self.now)
        return tuple(sorted((r.id, r.ends_at, repr(r.matchers)) for r in rules)) == self.in_force

    def write(self, session: Session) -> DispatchResult:
        """Everything in a few statements: no ORM object or flush per row."""
        if not self.writes:
            return self.result
        now, groups = self.now, AlertGroup.__table__
        for receiver, key in self.gone:
            session.execute(delete(groups).where(groups.c.receiver == receiver, groups.c.group_key == key))
        ids = _insert_outbox(session, self.queue, now)
        last = {q.receiver: ids[n] for n, q in enumerate(self.queue)}
        sqlite = session.get_bind().dialect.name == "sqlite"
        for fps, reason in self.notified:
            if sqlite and len(fps) > MARK_LATER:
                self.result.later.append((fps, reason, now))
            else:
                _mark_notified(session, fps, reason, now)
        for tell in self.tell:
            outbox_id = ids[tell.outbox] if isinstance(tell.outbox, int) else last.get(tell.outbox or "")
            values = {"labels": tell.labels, "firing": tell.firing, "resolved": tell.resolved, "notified_at": now,
                      "reason": tell.reason, "outbox_id": outbox_id}
            if tell.exists:
                session.execute(update(groups).where(groups.c.receiver == tell.receiver,
                                                     groups.c.group_key == tell.group_key).values(**values))
            else:
                session.execute(insert(groups).values(receiver=tell.receiver, group_key=tell.group_key,
                                                      group_id=tell.group_id, first_notified_at=now, **values))
        _new_told_token(session)  # and the next dispatch decides afresh
        return self.result


# Past this many alerts told by one notification, SQLite gets their last_notified_at after
# the commit, in transactions of this many: a group's first notification at 100,000 goals
# rewrote every alert row inside the write lock. The column only informs (`tracker alerts`):
# what receivers were told is in alert_groups, written in the transaction.
MARK_LATER = 5_000


def mark_later(engine: Any, result: DispatchResult) -> None:
    """The last_notified_at a dispatch left for after its commit (DispatchResult.later);
    a crash before it leaves those alerts showing their previous notification."""
    for fps, reason, at in result.later:
        for start in range(0, len(fps), MARK_LATER):
            with db.paced(engine), db.session(engine, write=True) as session:
                _mark_notified(session, fps[start : start + MARK_LATER], reason, at)
    result.later = []


def _mark_notified(session: Session, fps: list[str], reason: str, now: datetime) -> None:
    """last_notified_at and its reason on every alert a notification told; on SQLite through
    the driver (a group's first notification can tell 100,000 alerts, and SQLAlchemy's
    statement per 500 of them costs more than SQLite's work, inside the write lock)."""
    if session.get_bind().dialect.name == "sqlite":
        cursor = session.connection().connection.driver_connection.cursor()
        at = utc_to_db(now, "sqlite")
        for start in range(0, len(fps), _CHUNK):
            chunk = fps[start : start + _CHUNK]
            cursor.execute(f"UPDATE alerts SET last_notified_at = ?, last_notify_reason = ?"
                           f" WHERE fingerprint IN ({', '.join('?' * len(chunk))})", (at, reason, *chunk))
        cursor.close()
        return
    alerts = AlertRow.__table__
    for start in range(0, len(fps), _CHUNK):
        session.execute(update(alerts).where(alerts.c.fingerprint.in_(fps[start : start + _CHUNK]))
                        .values(last_notified_at=now, last_notify_reason=reason))


def _insert_outbox(session: Session, queue: list[_Queue], now: datetime) -> list[int]:
    """The outbox rows in one INSERT, their ids in order."""
    if not queue:
        return []
    for item in queue:
        log.info("notification queued", **item.said)
    table = OutboxRow.__table__
    rows = [{"webhook_id": outbox.new_webhook_id(), "receiver": q.receiver, "fingerprint": q.fingerprint,
             "subject": q.subject, "event": q.event, "reason": q.reason, "body": q.body, "created_at": now,
             "next_attempt_at": now, "attempts": 0, "state": outbox.QUEUED} for q in queue]
    found = session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return [r.id for r in found]


_TOLD_KEY = "told_token"  # replaced by every dispatch that writes what receivers were told


def _told_token(session: Session, *, lock: bool) -> str | None:
    query = select(StoreMeta.value).where(StoreMeta.key == _TOLD_KEY)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()  # dispatches queue, so a settled one saw every write before it
    return session.execute(query).scalar()


def _new_told_token(session: Session) -> None:
    token = uuid.uuid4().hex
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = upsert(StoreMeta.__table__).values(key=_TOLD_KEY, value=token)
    session.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": token}))


BATCH_SIZE = 64  # alerts per POST to Alertmanager's API, as Prometheus's notifier sends them


@dataclass
class Batches:
    """alertmanager_api: every group due in this dispatch goes out in a few POSTs of up to
    BATCH_SIZE alerts (one outbox row each), not one POST per group."""

    notices: dict[str, list[Notice]] = field(default_factory=dict)

    def add(self, notice: Notice) -> None:
        self.notices.setdefault(notice.receiver, []).append(notice)

    def queue(self, out: Draft, *, now: datetime) -> None:
        for receiver, notices in sorted(self.notices.items()):
            items = [(alert, notice) for notice in notices for alert in notice.alerts]
            chunks = [items[n:n + BATCH_SIZE] for n in range(0, len(items), BATCH_SIZE)]
            reasons = sorted({notice.reason for notice in notices})
            out.queue += [self._row(receiver, chunk, n, len(chunks), reasons) for n, chunk in enumerate(chunks, 1)]

    @staticmethod
    def _row(receiver: str, chunk: list, number: int, total: int, reasons: list[str]) -> _Queue:
        body = pack_body(dump([item for alert, notice in chunk for item in alertmanager.pushed([alert], notice)]))
        firing = any(alert.state == "firing" for alert, _ in chunk)
        key = hashlib.sha256(("\x00".join([receiver, *sorted(a.fingerprint for a, _ in chunk)])).encode())
        return _Queue(receiver, key.hexdigest()[:16], f"batch {number} of {total}",
                      "alert.firing" if firing else "alert.resolved",
                      reasons[0] if len(reasons) == 1 else ", ".join(reasons)[:200], body,
                      {"receiver": receiver, "batch": f"{number} of {total}", "alerts": len(chunk)})


def _members(group: Group, told: Any, muted: dict[str, str]) -> Members:
    believed = set(told.firing) if told else set()
    firing = {fp for fp, r in group.alerts.items() if r.state == FIRING and fp not in muted}
    resolved = {fp for fp, r in group.alerts.items() if r.state != FIRING and fp in believed and fp not in muted}
    starts = [group.alerts[fp].starts_at for fp in firing if group.alerts[fp].starts_at is not None]
    return Members(frozenset(firing), frozenset(resolved), min(starts, default=None))


def _told(row: Any) -> Told | None:
    return None if row is None else Told(frozenset(row.firing), frozenset(row.resolved), row.notified_at)


def _decision(group: Group, row: Any, *, plan: Plan, muted: dict[str, str], now: datetime,
              wait: bool) -> tuple[GroupDecision, Members]:
    members = _members(group, row, muted)
    return needs_notify(_told(row), members, timing=plan.timing(group.route), send_resolved=group.route.send_resolved,
                        now=now, wait=wait), members


def _follow(out: Draft, group: Group, row: Any, decision: GroupDecision, members: Members, *, plan: Plan,
            muted: dict[str, str], chosen: dict[str, Any], batches: Batches) -> None:
    """What a group's notification (or its record, send_resolved off) writes, into the draft."""
    still_muted = frozenset(fp for fp, r in group.alerts.items() if r.state == FIRING and fp in muted)
    batched = decision.notify and plan.refreshes(group.receiver)
    outbox_at: int | str | None = None
    if decision.notify:
        notice = _notice(out, group, members, decision, plan, chosen)
        if batched:
            batches.add(notice)
            outbox_at = group.receiver
        else:
            out.queue.append(_queued(group, notice, plan))
            outbox_at = len(out.queue) - 1
        out.result.queued += 1
    believed = after_notify(_told(row), members, still_muted, out.now)
    if not believed.firing:
        if row is not None:
            out.gone.append((group.receiver, group.key))  # the receiver believes nothing of it fires: over
        return
    out.tell.append(_Tell(group.receiver, group.key, group.id, group.labels, sorted(believed.firing),
                          sorted(believed.resolved), decision.reason, row is not None, outbox_at))


def _notice(out: Draft, group: Group, members: Members, decision: GroupDecision, plan: Plan,
            chosen: dict[str, Any]) -> Notice:
    now = out.now
    event = "alert.firing" if members.firing else "alert.resolved"
    told = sorted(members.firing | members.resolved, key=lambda fp: _order(group, fp))
    out.notified.append((told, decision.reason))
    return Notice(
        event=event, timestamp=now, receiver=group.receiver, group_key=group.key, group_labels=group.labels,
        alerts=tuple(_notice_alert(chosen[fp], decision.reason, now) for fp in told), reason=decision.reason,
        expires_at=now + plan.alert_ttl, external_url=plan.external_url,
    )


def _queued(group: Group, notice: Notice, plan: Plan) -> _Queue:
    said = {"receiver": group.receiver, "group": group.key, "reason": notice.reason,
            "firing": sum(a.state == "firing" for a in notice.alerts),
            "resolved": sum(a.state == "resolved" for a in notice.alerts)}
    return _Queue(group.receiver, group.id, group.key[:200], notice.event, notice.reason,
                  pack_body(render_for(plan.targets[group.receiver], notice)), said)


class _Planned:
    """An alert row as a not yet written plan leaves it: the plan's columns, else the row's
    as read (none for an alert the plan creates)."""

    def __init__(self, fingerprint: str, row: Any, changes: dict[str, Any]) -> None:
        self.fingerprint, self._row, self._changes = fingerprint, row, changes

    def __getattr__(self, name: str) -> Any:
        changes = self.__dict__["_changes"]
        if name in changes:
            return changes[name]
        return getattr(self.__dict__["_row"], name)


def _full_rows(session: Session, fingerprints: list[str], planned: Any) -> dict[str, Any]:
    """The whole rows of these alerts by fingerprint, with what `planned` will write over them."""
    table, contents = AlertRow.__table__, AlertContent.__table__
    # The status object as its text (StoredObject): decoded only as each alert is rendered.
    evaluation = cast(contents.c.evaluation, Text).label("evaluation")
    query = select(*as_held(), contents.c.title, contents.c.summary, evaluation).join(
        contents, contents.c.fingerprint == table.c.fingerprint, isouter=True)
    found: dict[str, Any] = {}
    for start in range(0, len(fingerprints), _CHUNK):
        chunk = fingerprints[start : start + _CHUNK]
        found.update((r.fingerprint, r) for r in session.execute(query.where(table.c.fingerprint.in_(chunk))))
    for fp in fingerprints:
        changes = planned.get(fp)
        if changes is not None:
            found[fp] = _Planned(fp, found.get(fp), changes)
    return found


def _order(group: Group, fp: str) -> tuple:
    """Firing before resolved, then the oldest first: the order a reader scans a group in."""
    row = group.alerts[fp]
    return (row.state != FIRING, row.starts_at or row.updated_at, row.subject, row.rule)


def _notice_alert(row: Any, reason: str, now: datetime) -> NoticeAlert:
    firing = row.state == FIRING
    return NoticeAlert(
        fingerprint=row.fingerprint, rule=row.rule, severity=row.severity, subject=row.subject, title=row.title,
        state="firing" if firing else "resolved", reason=reason if firing else "resolved", summary=row.summary,
        labels=row.labels, evaluation=_status_object(row.evaluation, row.last_held_at), starts_at=row.starts_at,
        ends_at=None if firing else (row.ends_at or now),
    )


def _status_object(evaluation: Any, held: datetime | None) -> Any:
    """What a notification carries of the row's status object: as it last held
    (notice.held_object), kept as its stored text when it was read from the database."""
    if isinstance(evaluation, str):
        return StoredObject(evaluation, held)
    return held_object(evaluation, held)

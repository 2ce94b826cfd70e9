"""The durable outbox: one row per notification per receiver. Session first, keyword-only;
the caller's session owns the transaction.

Claiming is a compare-and-set, one row at a time, just before it is sent: a worker picks the
earliest due row of a receiver (on PostgreSQL `FOR UPDATE SKIP LOCKED`, so replicas pick
different ones), then sets its claim token and pushes `next_attempt_at` to the end of a lease,
but only where the row is still queued and due. A worker killed mid-send leaves that row to
come due again when its lease ends. Finishing checks the token too, so a worker whose claim
was taken over records nothing, and its caller counts only what the database accepted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from tracker.store.alert_tables import OutboxRow, ReceiverState

QUEUED, SENT, DEAD, MUTED, SUPERSEDED = "queued", "sent", "dead", "muted", "superseded"


def new_webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def enqueue(
    db: Session, *, receiver: str, fingerprint: str, subject: str, event: str, reason: str, body: bytes, now: datetime
) -> OutboxRow:
    row = OutboxRow(
        webhook_id=new_webhook_id(),
        receiver=receiver,
        fingerprint=fingerprint,
        subject=subject,
        event=event,
        reason=reason,
        body=body,
        created_at=now,
        next_attempt_at=now,
    )
    db.add(row)
    db.flush()
    return row


def depth(db: Session) -> int:
    """Notifications still to deliver (queued, including those waiting for a retry)."""
    return db.execute(select(func.count()).select_from(OutboxRow).where(OutboxRow.state == QUEUED)).scalar_one()


def due_counts(db: Session, *, now: datetime) -> dict[str, int]:
    """Receivers with notifications due at `now`, and how many each."""
    query = (
        select(OutboxRow.receiver, func.count())
        .where(OutboxRow.state == QUEUED, OutboxRow.next_attempt_at <= now)
        .group_by(OutboxRow.receiver)
    )
    return dict(db.execute(query).all())  # type: ignore[arg-type]


@dataclass(frozen=True)
class Claimed:
    """A row this worker holds: what sending it and recording the outcome need."""

    id: int
    webhook_id: str
    receiver: str
    fingerprint: str
    subject: str
    event: str
    body: bytes
    attempts: int
    next_attempt_at: datetime
    claim_token: str


def claim_next(db: Session, *, receiver: str, now: datetime, until: datetime, token: str) -> Claimed | None:
    """Claims the receiver's earliest due row for this worker until `until` (its lease), or
    None when none is due. One UPDATE ... WHERE id = (the earliest due) RETURNING: the
    compare-and-set and the read in a single statement (on PostgreSQL the inner SELECT takes
    `FOR UPDATE SKIP LOCKED`, so replicas pick different rows and never wait for each other)."""
    due = (
        select(OutboxRow.id)
        .where(OutboxRow.receiver == receiver, OutboxRow.state == QUEUED, OutboxRow.next_attempt_at <= now)
        .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
        .limit(1)
    )
    if db.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    table = OutboxRow.__table__
    claim = (
        update(table)
        .where(table.c.id == due.scalar_subquery(), table.c.state == QUEUED)
        .values(claim_token=token, next_attempt_at=until)
        .returning(*table.c)
    )
    found = db.connection().execute(claim).mappings().first()  # Core: no ORM bookkeeping per row
    return Claimed(**{name: found[name] for name in Claimed.__dataclass_fields__}) if found else None


def release(db: Session, *, ids: Iterable[int], token: str, now: datetime) -> int:
    """Gives claimed rows back, due at `now`, where this worker still holds them."""
    ids = list(ids)
    if not ids:
        return 0
    return db.execute(
        update(OutboxRow)
        .where(OutboxRow.id.in_(ids), OutboxRow.claim_token == token, OutboxRow.state == QUEUED)
        .values(claim_token=None, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount


def latest_sent(db: Session, *, rows: Sequence[OutboxRow | Claimed]) -> dict[tuple[str, str], int]:
    """For the receivers and alerts of `rows`: the id of the newest notification delivered."""
    fingerprints = {row.fingerprint for row in rows}
    if not fingerprints:
        return {}
    table = OutboxRow.__table__
    query = (
        select(table.c.receiver, table.c.fingerprint, func.max(table.c.id))
        .where(table.c.state == SENT, table.c.fingerprint.in_(fingerprints) if len(fingerprints) > 1
               else table.c.fingerprint == next(iter(fingerprints)))
        .group_by(table.c.receiver, table.c.fingerprint)
    )
    return {(receiver, fp): newest for receiver, fp, newest in db.connection().execute(query)}


def finish(db: Session, *, ids: Iterable[int], token: str, **values: object) -> int:
    """Sets `values` on this worker's claimed rows and releases them; returns how many it
    still held (a row re-claimed after the lease ended is another worker's now)."""
    ids = list(ids)
    if not ids:
        return 0
    table = OutboxRow.__table__
    # one row (the usual case) as `id = ?`: an IN list is rendered afresh on every call
    which = table.c.id == ids[0] if len(ids) == 1 else table.c.id.in_(ids)
    statement = update(table).where(which, table.c.claim_token == token)
    return db.connection().execute(statement.values(claim_token=None, **values)).rowcount


def replay_dead(db: Session, *, now: datetime, receiver: str | None = None) -> int:
    """Queues dead rows again from their first attempt, and re-enables their receivers."""
    where = [OutboxRow.state == DEAD] + ([OutboxRow.receiver == receiver] if receiver else [])
    names = set(db.execute(select(OutboxRow.receiver).where(*where).distinct()).scalars())
    count = db.execute(
        update(OutboxRow)
        .where(*where)
        .values(state=QUEUED, attempts=0, next_attempt_at=now, claim_token=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if names:
        db.execute(
            update(ReceiverState)
            .where(ReceiverState.name.in_(names))
            .values(disabled_at=None, disabled_reason=None, consecutive_failures=0)
            .execution_options(synchronize_session=False)
        )
    return count


def counts_by_receiver(db: Session) -> dict[str, dict[str, int]]:
    """Rows per receiver and state (sent rows included), for `tracker alerts`."""
    query = select(OutboxRow.receiver, OutboxRow.state, func.count()).group_by(OutboxRow.receiver, OutboxRow.state)
    found: dict[str, dict[str, int]] = {}
    for receiver, state, count in db.execute(query):
        found.setdefault(receiver, {})[state] = count
    return found


def prune(db: Session, *, before: datetime) -> int:
    """Deletes finished rows (sent, muted, superseded) created before `before`; queued and
    dead rows stay. The daemon's daily `prune` job calls it (tracker.service.jobs.OUTBOX_RETENTION)."""
    done = (SENT, MUTED, SUPERSEDED)
    return db.execute(
        delete(OutboxRow).where(OutboxRow.state.in_(done), OutboxRow.created_at < before)
        .execution_options(synchronize_session=False)
    ).rowcount

"""The alerting tables: alert instances, what each receiver was told (per alert, and per
group), the outbox of notifications, receivers' health and silences. Kept apart from `models` so that commands
that only record actuals do not build them (~25 ms of every `tracker record`)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, and_, case, false, select, type_coerce
from sqlmodel import Field, SQLModel

from tracker.store import models  # noqa: F401  sets the constraint naming convention first
from tracker.store.dbtypes import BodyBytes, UTCDateTime


class AlertRow(SQLModel, table=True):
    """One alert: a rule about a subject (`goal:<id>` or `source:<name>`), with its lifecycle
    state and the last notification queued for it; what it says is its AlertContent."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_state", "state"),)

    fingerprint: str = Field(primary_key=True, max_length=32)
    subject: str = Field(max_length=200)
    rule: str = Field(max_length=100)
    condition: str = Field(max_length=32)
    severity: str = Field(max_length=16)
    state: str = Field(max_length=16, description="inactive, pending, firing or resolved")
    reason: str = Field(max_length=200, description="why the last cycle left it in this state")
    active_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    starts_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_held_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    held: bool = Field(default=False, sa_column_kwargs={"server_default": false()}, description=(
        "held by the cycle that last wrote alerts (alerts_held.at): read through as_held, last_held_at and "
        "updated_at are that cycle's instant, without a write per held alert"))
    labels: dict = Field(default_factory=dict, sa_type=JSON)
    last_notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_notify_reason: str | None = Field(default=None, max_length=200)
    content_digest: str | None = Field(default=None, max_length=32, description=(
        "content_digest() of what the alert says as written (severity, condition, labels and its "
        "alert_contents row): a cycle with no memory of the match it was written from (a restarted daemon, "
        "`tracker evaluate`) keeps a row whose content is unchanged instead of rewriting it; NULL is a miss"))


class AlertsHeld(SQLModel, table=True):
    """One row: the instant of the last cycle that wrote alerts. Every alert it held has
    `held` set and was last held then; a steady cycle moves this row, not one per alert
    (136,000 UPDATEs a cycle at 100,000 goals, a quarter of its time with the pauses that
    let other writers in)."""

    __tablename__ = "alerts_held"

    id: int = Field(default=1, primary_key=True)
    at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def content_digest(severity: str, condition: str, title: str, summary: str, labels: str, evaluation: str) -> str:
    """A digest of what an alert says, labels and evaluation as their JSON text: equal
    digests, equal content (each part length-prefixed, so no two splits of one text agree)."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (severity, condition, title, summary, labels, evaluation):
        data = part.encode()
        digest.update(b"%d:" % len(data))
        digest.update(data)
    return digest.hexdigest()


_AS_HELD = ("last_held_at", "updated_at")


def as_held(*names: str) -> list[Any]:
    """These columns of `alerts` (all of them when none is named) as a reader must see them:
    last_held_at and updated_at of an alert the last cycle held are that cycle's instant.
    The stored value wins when it is later: a plan written ahead in chunks (SQLite) marks
    rows held, with the new instant, before its transaction moves alerts_held.at."""
    table = AlertRow.__table__
    at = select(AlertsHeld.__table__.c.at).where(AlertsHeld.__table__.c.id == 1).scalar_subquery()

    def one(name: str) -> Any:
        column = table.c[name]
        if name not in _AS_HELD:
            return column
        return type_coerce(case((and_(table.c.held, at > column), at), else_=column), UTCDateTime).label(name)

    return [one(name) for name in (names or table.c.keys())]


class AlertContent(SQLModel, table=True):
    """What an alert says: its title, summary and the goal's status object, one row per
    alert row. Apart from `alerts` because a cycle moves every held alert's state and
    last_held_at, and SQLite rewrites a whole row to change a column: with the ~2 KB status
    object in it, a steady cycle at 100,000 goals wrote ~560 MB to the WAL (1.8 s holding
    the write lock), and ~8 MB without."""

    __tablename__ = "alert_contents"

    fingerprint: str = Field(primary_key=True, max_length=32)
    title: str = Field(default="", max_length=300)
    summary: str = Field(default="", max_length=2000)
    evaluation: dict = Field(default_factory=dict, sa_type=JSON, description=(
        "the goal's status object (status --json) as its verdict was judged; `evaluated_at` is when it was "
        "judged from its inputs, and stays while the verdict is reused (alerts.last_held_at says when it last "
        "held; notifications carry the object as of last_held_at)"))


class NotifyLog(SQLModel, table=True):
    """What each receiver was last told about each alert (alertmanager's notification log)."""

    __tablename__ = "notify_log"

    fingerprint: str = Field(primary_key=True, max_length=32)
    receiver: str = Field(primary_key=True, max_length=100)
    state: str = Field(max_length=16, description="firing or resolved")
    at: datetime = Field(sa_type=UTCDateTime)
    reason: str = Field(max_length=200)
    outbox_id: int | None = None


class OutboxRow(SQLModel, table=True):
    """One notification to one receiver: the exact body bytes, and where its delivery stands.
    `webhook_id` is the same on every attempt. A claimed row has `claim_token` set and
    `next_attempt_at` pushed to the end of its lease, so a crashed worker's rows come due again."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_outbox_fingerprint_receiver", "fingerprint", "receiver"),
    )

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: str = Field(max_length=64, unique=True)
    receiver: str = Field(max_length=100)
    fingerprint: str = Field(max_length=32)
    subject: str = Field(max_length=200)
    event: str = Field(max_length=32, description="alert.firing or alert.resolved")
    reason: str = Field(max_length=200)
    body: bytes = Field(sa_type=BodyBytes)  # compressed at rest from 1 MiB (dbtypes.pack_body)
    created_at: datetime = Field(sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = 0
    state: str = Field(default="queued", max_length=16, description="queued, sent, dead, muted or superseded")
    claim_token: str | None = Field(default=None, max_length=64)
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=1000)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReceiverState(SQLModel, table=True):
    """How a receiver has been doing: failures in a row, and whether a 410 disabled it."""

    __tablename__ = "receiver_state"

    name: str = Field(primary_key=True, max_length=100)
    consecutive_failures: int = 0
    last_error: str | None = Field(default=None, max_length=1000)
    last_failure_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_reason: str | None = Field(default=None, max_length=200)


class AlertGroup(SQLModel, table=True):
    """One receiver's group of alerts (a route's `group_by` values) and what the receiver was
    last told about it: alertmanager's notification log, per group. A group without a row
    has never been notified; the row goes once the receiver believes nothing in it fires."""

    __tablename__ = "alert_groups"

    receiver: str = Field(primary_key=True, max_length=100)
    group_key: str = Field(primary_key=True, max_length=1000)
    group_id: str = Field(max_length=32, unique=True)
    labels: dict = Field(default_factory=dict, sa_type=JSON)
    firing: list = Field(default_factory=list, sa_type=JSON, description="fingerprints told firing")
    resolved: list = Field(default_factory=list, sa_type=JSON, description="fingerprints told resolved")
    first_notified_at: datetime = Field(sa_type=UTCDateTime)
    notified_at: datetime = Field(sa_type=UTCDateTime)
    reason: str = Field(max_length=200)
    outbox_id: int | None = None


class Silence(SQLModel, table=True):
    """Mutes every alert whose labels match all `matchers` (Alertmanager's string form) from
    `starts_at` until `ends_at`. Ending one early sets `ends_at`: expired silences stay
    listed."""

    __tablename__ = "silences"
    __table_args__ = (Index("ix_silences_ends_at", "ends_at"),)

    id: str = Field(primary_key=True, max_length=36)
    matchers: list = Field(default_factory=list, sa_type=JSON)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    comment: str | None = Field(default=None, max_length=2000)
    created_by: str = Field(default="", max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)

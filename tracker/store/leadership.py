"""Leadership among replicas: a lease row in the database.

Several `tracker run` processes may share one PostgreSQL database; exactly one of them
evaluates at a time. The leader holds a named lease with an expiry and renews it; when it
dies, another replica takes the lease once it has expired, so a dead leader is replaced
within the TTL. Each change of holder increments `term`, a fencing token: the evaluation
cycle checks, in its own transaction, that its term is still the current one before it
writes (`holds`), so a leader that was paused past its TTL cannot overwrite its successor.

Expiry is compared with the `now` the caller passes: replicas' clocks are assumed to be
NTP-synchronised to well within the TTL (seconds against a TTL of tens of seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select
from sqlmodel import Field, Session, SQLModel

from tracker.store import models  # noqa: F401  sets the constraint naming convention first
from tracker.store.dbtypes import UTCDateTime

EVALUATOR = "evaluator"


class Lease(SQLModel, table=True):
    __tablename__ = "leases"

    name: str = Field(primary_key=True, max_length=100)
    holder: str = Field(max_length=200)
    term: int = Field(default=1)
    acquired_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


def _upsert(dialect: str):  # type: ignore[no-untyped-def]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # per dialect
    else:
        from sqlalchemy.dialects.sqlite import insert  # per dialect
    return insert


def acquire(session: Session, *, name: str, holder: str, ttl: timedelta, now: datetime) -> int | None:
    """Takes or renews the lease; returns the term held, or None when another holder's
    lease has not expired. One statement, so two replicas racing cannot both win."""
    insert = _upsert(session.get_bind().dialect.name)
    table = Lease.__table__
    statement = insert(table).values(name=name, holder=holder, term=1, acquired_at=now, expires_at=now + ttl)
    renewing = table.c.holder == statement.excluded.holder
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.name],
        set_={
            "holder": statement.excluded.holder,
            "expires_at": statement.excluded.expires_at,
            "term": _case(renewing, table.c.term, table.c.term + 1),
            "acquired_at": _case(renewing, table.c.acquired_at, statement.excluded.acquired_at),
        },
        where=renewing | (table.c.expires_at <= now),
    ).returning(table.c.term)
    return session.execute(statement).scalar()


def _case(condition, when_true, when_false):  # type: ignore[no-untyped-def]

    return case((condition, when_true), else_=when_false)


def holds(session: Session, *, name: str, holder: str, term: int, now: datetime) -> bool:
    """Whether `holder` still holds lease `name` at `term`; on PostgreSQL the row is locked
    until the caller's transaction ends, so the lease cannot change hands under a write."""
    query = select(Lease).where(Lease.name == name, Lease.holder == holder, Lease.term == term, Lease.expires_at > now)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.execute(query).first() is not None


def release(session: Session, *, name: str, holder: str) -> None:
    """Gives the lease up at once (on a clean shutdown), so a successor need not wait."""
    session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


class LeaseLost(Exception):
    """The evaluation's fence failed: another replica leads now; the cycle is abandoned."""


@dataclass(frozen=True)
class Fence:
    """What an evaluation cycle checks inside its write transaction before it commits."""

    name: str
    holder: str
    term: int

    def check(self, session: Session, *, now: datetime) -> None:
        if not holds(session, name=self.name, holder=self.holder, term=self.term, now=now):
            raise LeaseLost(f"lease {self.name!r} term {self.term} is no longer held by {self.holder}")

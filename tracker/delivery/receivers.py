"""Receivers' health, one attempt at a time: failures in a row, last success, 410 Gone.

Several delivery threads (and replicas) note attempts of the same receiver at once, so each
note is one atomic upsert that adds to the counter in the database, never a read-modify-write
in Python that two transactions could interleave.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from tracker.store.alert_tables import ReceiverState


def disabled(session: Session) -> frozenset[str]:
    query = select(ReceiverState.name).where(ReceiverState.disabled_at.is_not(None))
    return frozenset(session.execute(query).scalars())


def note(session: Session, *, name: str, error: str | None, now: datetime, disable: bool = False) -> int:
    """Records one attempt's result (error None: it succeeded); returns the failures in a row."""
    table = ReceiverState.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    if error is None:
        values: dict[str, object] = {"consecutive_failures": 0, "last_success_at": now}
        changes: dict[str, object] = dict(values)
    else:
        values = {"consecutive_failures": 1, "last_error": error[:1000], "last_failure_at": now}
        changes = {**values, "consecutive_failures": table.c.consecutive_failures + 1}
    if disable:
        values.update(disabled_at=now, disabled_reason="answered 410 Gone")
        changes.update(disabled_at=now, disabled_reason="answered 410 Gone")
    statement = (
        dialect.insert(table)
        .values(name=name, **values)
        .on_conflict_do_update(index_elements=["name"], set_=changes)
        .returning(table.c.consecutive_failures)
    )
    return session.execute(statement).scalar_one()

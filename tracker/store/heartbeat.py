"""A daemon's heartbeat row: /readyz writes it to prove the database takes a write (a full
disk or a read-only replica answers `SELECT 1` and still refuses every job's write)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from tracker.store import models  # noqa: F401  sets the constraint naming convention first
from tracker.store.dbtypes import UTCDateTime

WAIT_SECONDS = 2  # a probe waits this long for a lock at most: a busy database is not a dead one


class Heartbeat(SQLModel, table=True):
    __tablename__ = "heartbeats"

    holder: str = Field(primary_key=True, max_length=200)
    beat_at: datetime = Field(sa_type=UTCDateTime)


def beat(engine: Engine, *, holder: str, now: datetime) -> None:
    """Writes this holder's heartbeat in a short transaction of its own; raises when the
    database refuses the write or is locked longer than WAIT_SECONDS."""
    postgres = engine.dialect.name == "postgresql"
    dialect = postgresql if postgres else sqlite
    table = Heartbeat.__table__
    upsert = dialect.insert(table).values(holder=holder, beat_at=now)
    upsert = upsert.on_conflict_do_update(index_elements=["holder"], set_={"beat_at": now})
    with engine.connect() as connection:
        if not postgres:
            # on the raw connection, outside any transaction; restored below for the pool
            connection.connection.driver_connection.execute(f"PRAGMA busy_timeout={WAIT_SECONDS * 1000}")
        try:
            with connection.begin():
                if postgres:
                    connection.execute(text(f"SET LOCAL lock_timeout = '{WAIT_SECONDS}s'"))
                    connection.execute(text(f"SET LOCAL statement_timeout = '{WAIT_SECONDS}s'"))
                connection.execute(upsert)
        finally:
            if not postgres:
                connection.connection.driver_connection.execute("PRAGMA busy_timeout=30000")

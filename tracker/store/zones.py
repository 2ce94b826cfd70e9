"""Stored period bounds follow the catalog's time zone.

Each actual stores its period's bounds as instants (so windows are one indexed range
query), derived in the catalog's time zone when it was recorded. `store_meta` remembers
that zone; when the catalog names another, every bound is derived again from its period
label in one write transaction, so no figure silently drops out of a window.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select, text, update
from sqlalchemy.engine import Engine

from tracker.core.periods import Period
from tracker.store import db
from tracker.store.models import Actual, StoreMeta

ZONE_KEY = "period_bounds_zone"
_ZONE_LOCK = 7_263_002  # PostgreSQL advisory lock key: one process re-derives bounds at a time


def stored_zone(engine: Engine) -> str | None:
    with db.session(engine) as session:
        row = session.get(StoreMeta, ZONE_KEY)
        return None if row is None else row.value


def follow_zone(engine: Engine, tz: ZoneInfo) -> int:
    """Re-derives the stored bounds when they were made in another zone (or before the zone
    was remembered); returns how many periods were re-derived."""
    if stored_zone(engine) == str(tz):
        return 0
    with db.session(engine, write=True) as session:
        if session.get_bind().dialect.name == "postgresql":
            # Replicas start together; READ COMMITTED locks no missing row, so both would
            # insert the key (SQLite's BEGIN IMMEDIATE already queues them).
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ZONE_LOCK})
        row = session.get(StoreMeta, ZONE_KEY)
        if row is not None and row.value == str(tz):  # another process got here first
            return 0
        labels = session.execute(select(Actual.period).distinct()).scalars().all()
        for label in labels:
            start, end = Period.parse(label).bounds(tz)
            session.execute(update(Actual).where(Actual.period == label).values(period_start=start, period_end=end))
        session.merge(StoreMeta(key=ZONE_KEY, value=str(tz)))
    return len(labels)

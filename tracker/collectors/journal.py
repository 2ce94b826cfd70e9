"""The collections table: one row per collector run. Session first, keyword-only, no commits.

Runs are ordered by id, not by `collected_at`: the clock is injected and two runs may carry
the same instant, but ids grow in the order the runs were written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from tracker.collectors.table import Collection

OK = "ok"
FAILED = "failed"
_ERROR_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class Streak:
    """The failed runs of a source since its last good one."""

    failures: int
    since: datetime | None
    last_error: str | None


def add(db: Session, *, source: str, at: datetime, outcome: str, rows: int, error: str | None) -> Collection:
    row = Collection(
        source=source,
        collected_at=at,
        outcome=outcome,
        rows_recorded=rows,
        error=error[:_ERROR_LENGTH] if error else None,
    )
    db.add(row)
    db.flush()
    return row


def last_runs(db: Session) -> dict[str, Collection]:
    """The newest run of every source that has run."""
    newest = select(func.max(Collection.id)).group_by(Collection.source)
    query = select(Collection).where(Collection.id.in_(newest))
    return {row.source: row for row in db.execute(query).scalars()}


def streaks(db: Session) -> dict[str, Streak]:
    """Sources whose newest runs failed: how many in a row, since when, and the last error."""
    last_ok = (
        select(Collection.source, func.max(Collection.id).label("ok_id"))
        .where(Collection.outcome == OK)
        .group_by(Collection.source)
        .subquery()
    )
    query = (
        select(Collection.source, func.count(), func.min(Collection.collected_at), func.max(Collection.id))
        .select_from(Collection)
        .outerjoin(last_ok, last_ok.c.source == Collection.source)
        .where(Collection.outcome == FAILED, Collection.id > func.coalesce(last_ok.c.ok_id, 0))
        .group_by(Collection.source)
    )
    found = db.execute(query).all()
    last_ids = [row[3] for row in found]
    errors = dict(db.execute(select(Collection.id, Collection.error).where(Collection.id.in_(last_ids))).all())
    return {source: Streak(count, since, errors.get(last_id)) for source, count, since, last_id in found}

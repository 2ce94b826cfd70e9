"""Silences: mute every notification about a goal until a given time. Session first,
keyword-only; the caller's session owns the transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlmodel import Session

from tracker.catalog.model import Catalog
from tracker.core.errors import BadInput, NotFound
from tracker.core.rules import goal_subject
from tracker.store.alert_tables import Silence


def _known_goal(catalog: Catalog, goal: str) -> str:
    try:
        return catalog.goal(goal).id
    except KeyError:
        raise NotFound(f"goal {goal!r} is not in the catalog (see 'tracker goals')") from None


def set_silence(
    db: Session, *, catalog: Catalog, goal: str, until: datetime, comment: str | None, now: datetime
) -> Silence:
    """Silences a goal until `until` (replacing an earlier silence of it)."""
    subject = goal_subject(_known_goal(catalog, goal))
    if until <= now:
        raise BadInput(f"--until {until.isoformat()} is not in the future")
    silence = db.get(Silence, subject) or Silence(subject=subject, ends_at=until, created_at=now)
    silence.ends_at, silence.comment, silence.created_at = until, comment, now
    db.add(silence)
    db.flush()
    return silence


def remove_silence(db: Session, *, catalog: Catalog, goal: str) -> bool:
    """Ends a goal's silence; False when it had none."""
    subject = goal_subject(_known_goal(catalog, goal))
    return db.execute(delete(Silence).where(Silence.subject == subject)).rowcount > 0


def active(db: Session, *, now: datetime) -> dict[str, datetime]:
    """Subjects silenced at `now`, with the end of their silence."""
    rows = db.execute(select(Silence.subject, Silence.ends_at).where(Silence.ends_at > now))
    return {subject: ends for subject, ends in rows}

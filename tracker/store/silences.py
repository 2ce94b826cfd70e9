"""Silences: mute every alert whose labels match a set of matchers, until a given time.
Session first, keyword-only; the caller's session owns the transaction.

A goal's silence is the matcher silence `goal="<id>"`. Ending a silence early expires it
(its end becomes now): `tracker silences` keeps listing it, as Alertmanager does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from tracker.catalog.model import Catalog
from tracker.core.errors import BadInput, NotFound
from tracker.core.inhibition import SilenceRule
from tracker.core.matchers import Matcher, parse, parse_all
from tracker.core.rules import goal_subject
from tracker.store.alert_tables import Silence


def _known_goal(catalog: Catalog, goal: str) -> str:
    try:
        return catalog.goal(goal).id
    except KeyError:
        raise NotFound(f"goal {goal!r} is not in the catalog (see 'tracker goals')") from None


def goal_matchers(goal: str) -> list[str]:
    return [f"goal={json.dumps(goal)}"]


def parse_matchers(texts: Sequence[str]) -> tuple[Matcher, ...]:
    """`--match` arguments; a bad one is BadInput naming it."""
    try:
        return tuple(parse(text) for text in texts)
    except ValueError as problem:
        raise BadInput(f"--match {problem}") from None


def add_silence(
    db: Session, *, matchers: Sequence[Matcher], until: datetime, comment: str | None, author: str, now: datetime
) -> Silence:
    """A new silence from now until `until`."""
    if not matchers:
        raise BadInput("a silence needs at least one matcher (--match 'business=\"ev\"')")
    if until <= now:
        raise BadInput(f"--until {until.isoformat()} is not in the future")
    silence = Silence(id=str(uuid.uuid4()), matchers=[str(m) for m in matchers], starts_at=now, ends_at=until,
                      comment=comment, created_by=author, created_at=now)
    db.add(silence)
    db.flush()
    return silence


def set_silence(
    db: Session, *, catalog: Catalog, goal: str, until: datetime, comment: str | None, now: datetime, author: str = ""
) -> Silence:
    """Silences a goal until `until`, replacing its earlier goal silence."""
    goal = _known_goal(catalog, goal)
    matchers = parse_all(goal_matchers(goal))
    if until <= now:
        raise BadInput(f"--until {until.isoformat()} is not in the future")
    _expire_goal(db, goal, now)
    return add_silence(db, matchers=matchers, until=until, comment=comment, author=author, now=now)


def remove_silence(db: Session, *, catalog: Catalog, goal: str, now: datetime) -> bool:
    """Ends a goal's silence; False when it had none."""
    return _expire_goal(db, _known_goal(catalog, goal), now) > 0


def _expire_goal(db: Session, goal: str, now: datetime) -> int:
    """Ends the goal's active goal silences (compared here: PostgreSQL's JSON has no `=`)."""
    wanted = goal_matchers(goal)
    active = db.execute(select(Silence.id, Silence.matchers).where(Silence.ends_at > now)).all()
    ids = [silence_id for silence_id, matchers in active if matchers == wanted]
    if not ids:
        return 0
    query = update(Silence).where(Silence.id.in_(ids)).values(ends_at=now)
    return db.execute(query.execution_options(synchronize_session=False)).rowcount


def expire(db: Session, *, silence_id: str, now: datetime) -> Silence:
    """Ends a silence by id now; an unknown id is NotFound, an expired one is left as it is."""
    silence = db.get(Silence, silence_id)
    if silence is None:
        raise NotFound(f"no goal or silence {silence_id!r} (see 'tracker goals' and 'tracker silences')")
    if silence.ends_at > now:
        silence.ends_at = now
        db.add(silence)
    return silence


def listing(db: Session) -> list[Silence]:
    """Every silence, the latest to end first."""
    return list(db.execute(select(Silence).order_by(Silence.ends_at.desc(), Silence.id)).scalars())


def rules(db: Session, *, now: datetime) -> list[SilenceRule]:
    """Silences active at `now`, as matching sees them."""
    query = select(Silence).where(Silence.ends_at > now, Silence.starts_at <= now)
    return [SilenceRule(s.id, parse_all(s.matchers), s.ends_at, s.starts_at) for s in db.execute(query).scalars()]


def active(db: Session, *, now: datetime) -> dict[str, datetime]:
    """Goals silenced as a whole at `now` (one `goal="<id>"` matcher), by subject, with the
    end: what the delivery pipeline's mute stage checks a queued notification's subject
    against (alert groups are muted when they are dispatched, tracker.alerting.dispatch)."""
    found: dict[str, datetime] = {}
    for rule in rules(db, now=now):
        if len(rule.matchers) == 1 and rule.matchers[0].name == "goal" and rule.matchers[0].op == "=":
            subject = goal_subject(rule.matchers[0].value)
            found[subject] = max(found.get(subject, rule.ends_at), rule.ends_at)
    return found

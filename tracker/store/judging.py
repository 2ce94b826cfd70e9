"""The one place evaluation touches the database: read the readings every goal judged as of
`now` may look at (its windows, the ones before for baselines and the forecast's history)
and judge them. The alert cycle, the daemon, /metrics and `tracker status` call it; the
report reads the same readings to draw, so its charts show exactly what its verdicts saw."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from tracker.catalog.model import Catalog
from tracker.core.evaluation import earliest_start, evaluate_all
from tracker.core.readings import Reading
from tracker.core.verdict import Evaluation
from tracker.store.actuals import readings_until


def readings_for(
    session: Session, *, catalog: Catalog, now: datetime, known_at: datetime | None = None
) -> dict[str, list[Reading]]:
    metrics = {name for goal in catalog.goals for name in goal.metrics}
    return readings_until(session, metrics=metrics, until=now, since=earliest_start(catalog, now), known_at=known_at)


def evaluate_from_db(
    session: Session, *, catalog: Catalog, now: datetime, known_at: datetime | None = None
) -> list[Evaluation]:
    readings = readings_for(session, catalog=catalog, now=now, known_at=known_at)
    return evaluate_all(catalog, readings, now, known_at=known_at)

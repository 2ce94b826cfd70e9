"""The one place evaluation touches the database: read the readings as of `now`, judge
every goal. The alert cycle, the daemon, /metrics, the report and `tracker status` call it."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from tracker import store
from tracker.catalog import Catalog
from tracker.evaluation import evaluate_all
from tracker.verdict import Evaluation


def evaluate_from_db(session: Session, *, catalog: Catalog, now: datetime) -> list[Evaluation]:
    metrics = {name for goal in catalog.goals for name in goal.metrics}
    readings = store.readings_until(session, metrics=metrics, until=now)
    return evaluate_all(catalog, readings, now)

"""The one place evaluation touches the database: aggregate the actuals as of `now` in SQL,
one row per metric and window, and judge every goal from those. The alert cycle, the daemon,
/metrics and `tracker status` call it. The report judges the readings it draws with
`evaluation.evaluate_all` instead, so its charts show exactly what its verdicts saw."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from tracker.catalog.model import Catalog
from tracker.core.evaluation import evaluate_aggregated, requests_for
from tracker.core.verdict import Evaluation
from tracker.store.aggregate_sql import aggregates_until


def evaluate_from_db(session: Session, *, catalog: Catalog, now: datetime) -> list[Evaluation]:
    requests = requests_for(catalog, now)
    found = aggregates_until(session, requests=requests, tz=catalog.timezone, until=now)
    return evaluate_aggregated(catalog, found, now)

"""Building a Runtime over the test engine and a catalog with the given [[sources]]."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.conftest import CATALOG


def catalog_with(sources: list[dict[str, Any]], path: Path):
    from tracker.catalog.model import parse_catalog

    data = tomllib.loads(CATALOG.read_text(encoding="utf-8"))
    return parse_catalog({**data, "sources": sources}, path)


def runtime_for(engine, catalog):
    from tracker.catalog.settings import Settings
    from tracker.store.runtime import Runtime

    runtime = Runtime(Settings(database_url=str(engine.url), config=catalog.path))
    # cached properties: the test's migrated engine and catalog stand in for the settings'
    runtime.__dict__["engine"] = engine
    runtime.__dict__["catalog"] = catalog
    return runtime


def actuals(engine, metric: str = "ev_deliveries") -> list[tuple[str, str, int, bool, str | None]]:
    """(period, value, revision, current, source) of every row of a metric."""
    from tracker.store import db
    from tracker.store.models import Actual

    with db.session(engine) as session:
        rows = session.execute(select(Actual).where(Actual.metric == metric).order_by(Actual.id)).scalars()
        return [(r.period, str(r.value), r.revision, r.is_current, r.source) for r in rows]


def collections(engine) -> list[tuple[str, str, int, str | None]]:
    """(source, outcome, rows recorded, error) of every run, oldest first."""
    from tracker.collectors.table import Collection
    from tracker.store import db

    with db.session(engine) as session:
        rows = session.execute(select(Collection).order_by(Collection.id)).scalars()
        return [(r.source, r.outcome, r.rows_recorded, r.error) for r in rows]

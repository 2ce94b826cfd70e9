"""Running one collection: read the source, record what it carries in one write
transaction together with the run's row in collections, and log the outcome."""

from __future__ import annotations

from datetime import datetime

import httpx
import structlog
from sqlmodel import Session

from tracker.catalog.sources import SourceConfig
from tracker.collectors import csv_dir, http_json
from tracker.collectors.outcome import CollectionFailed, CollectionResult, failed, finish
from tracker.core.errors import BadInput
from tracker.store import actuals as store
from tracker.store.actuals import RowInput
from tracker.store.runtime import Runtime


def collect(
    runtime: Runtime, source: SourceConfig, *, now: datetime, client: httpx.Client | None = None
) -> CollectionResult:
    """Runs one collection of `source` now and records it; commits its own write transaction.
    Never raises for a bad source: the failure is the result (and a row in collections)."""
    log = structlog.get_logger().bind(source=source.name, kind=source.kind)
    if source.kind == "http_json":
        result = _http(runtime, source, now, client)
    else:
        result = csv_dir.collect(runtime, source, now=now, log=log)
    if result.ok:
        log.info("collected", recorded=result.recorded)
    else:
        log.warning("collection failed", recorded=result.recorded, error=result.error)
    return result


def _http(runtime: Runtime, source: SourceConfig, now: datetime, client: httpx.Client | None) -> CollectionResult:
    try:
        if client is None:
            with httpx.Client(follow_redirects=True) as own:
                document = http_json.fetch(own, source)
        else:
            document = http_json.fetch(client, source)
        rows = http_json.extract(source, document, now=now, catalog=runtime.catalog)
    except CollectionFailed as problem:
        return finish(runtime, source, now, failed(str(problem)))
    return finish(runtime, source, now, lambda session: (_record(session, runtime, rows, now), None))


def _record(session: Session, runtime: Runtime, rows: list[RowInput], now: datetime) -> int:
    """Every row as `tracker record` would, or none: the first refused value raises."""
    recorded = 0
    for row in rows:
        try:
            written = store.record(
                session, catalog=runtime.catalog, metric=row.metric, period=row.period, value=row.value,
                source=row.source, now=now, skip_unchanged=True,
            )
        except BadInput as problem:
            raise BadInput(f"record {row.line}: {problem}" if len(rows) > 1 else str(problem)) from None
        recorded += written is not None
    return recorded


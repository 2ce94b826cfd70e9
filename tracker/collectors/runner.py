"""Running one collection: read the source, record what it carries in one write
transaction together with the run's row in collections, and log the outcome."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx
import structlog
from sqlmodel import Session

from tracker import db, store
from tracker.collectors import CollectionFailed, CollectionResult, journal
from tracker.collectors.config import SourceConfig
from tracker.errors import BadInput
from tracker.runtime import Runtime
from tracker.store import RowInput

# Records what it can into the open session and returns (actuals recorded, error or None);
# raising BadInput or CollectionFailed means nothing of this run is kept.
Apply = Callable[[Session], tuple[int, str | None]]


def run(runtime: Runtime, source: SourceConfig, *, now: datetime, client: httpx.Client | None) -> CollectionResult:
    log = structlog.get_logger().bind(source=source.name, kind=source.kind)
    if source.kind == "http_json":
        result = _http(runtime, source, now, client)
    else:
        from tracker.collectors import csv_dir

        result = csv_dir.collect(runtime, source, now=now, log=log)
    if result.ok:
        log.info("collected", recorded=result.recorded)
    else:
        log.warning("collection failed", recorded=result.recorded, error=result.error)
    return result


def finish(runtime: Runtime, source: SourceConfig, now: datetime, apply: Apply) -> CollectionResult:
    """Applies the collection under a savepoint, so that a refused value undoes only the
    collection's own writes, then writes the run's row; one commit for both."""
    with db.session(runtime.engine, write=True) as session:
        try:
            with session.begin_nested():
                recorded, error = apply(session)
        except (BadInput, CollectionFailed) as problem:
            recorded, error = 0, str(problem)
        outcome = journal.FAILED if error else journal.OK
        journal.add(session, source=source.name, at=now, outcome=outcome, rows=recorded, error=error)
    return CollectionResult(source.name, now, outcome, recorded, error)


def failed(message: str) -> Apply:
    def apply(_session: Session) -> tuple[int, str | None]:
        raise CollectionFailed(message)

    return apply


def _http(runtime: Runtime, source: SourceConfig, now: datetime, client: httpx.Client | None) -> CollectionResult:
    from tracker.collectors import http_json

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


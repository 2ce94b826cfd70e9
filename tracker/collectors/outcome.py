"""What one collection comes to: the result, the error that fails it, and the journalled
write that records it (the actuals and the collections row in one commit)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from tracker.catalog.sources import SourceConfig
from tracker.collectors import journal
from tracker.core.errors import BadInput, TrackerError
from tracker.store import db
from tracker.store.runtime import Runtime


class CollectionFailed(TrackerError):
    """A source could not be read (network, HTTP status, malformed data, missing folder)."""


@dataclass(frozen=True, slots=True)
class CollectionResult:
    source: str
    collected_at: datetime
    outcome: str  # "ok" or "failed", as stored in the collections table
    recorded: int  # actuals recorded (unchanged values are not counted)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


# Records what it can into the open session and returns (actuals recorded, error or None);
# raising BadInput or CollectionFailed means nothing of this run is kept.
Apply = Callable[[Session], tuple[int, str | None]]


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

"""Collectors: sources that record actuals on a schedule, as `tracker record` would.

`collect` is the daemon's unit of work for one source. This package is imported by the
catalog (for SourceConfig), so it stays light: the work is imported when a collection runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tracker.errors import TrackerError

if TYPE_CHECKING:
    import httpx

    from tracker.collectors.config import SourceConfig
    from tracker.runtime import Runtime


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


def collect(
    runtime: Runtime, source: SourceConfig, *, now: datetime, client: httpx.Client | None = None
) -> CollectionResult:
    """Runs one collection of `source` now and records it; commits its own write transaction.
    Never raises for a bad source: the failure is the result (and a row in collections)."""
    from tracker.collectors.runner import run

    return run(runtime, source, now=now, client=client)

"""How the sources are doing, read from the collections table: for the alert cycle (a
source_failing alert once failures reach the source's threshold). The daemon counts runs
for /metrics itself (tracker_collections_total)."""

from __future__ import annotations

from sqlmodel import Session

from tracker.catalog.model import Catalog
from tracker.collectors import journal
from tracker.core.rules import SourceHealth


def failing_sources(session: Session, *, catalog: Catalog) -> list[SourceHealth]:
    """Every catalog source whose newest run failed (at least one failure in a row), by name;
    `alerting` says which have reached their threshold. Sources no longer in the catalog are
    left out: their old runs must not raise alerts."""
    streaks = journal.streaks(session)
    out = []
    for source in sorted(catalog.sources, key=lambda s: s.name):
        streak = streaks.get(source.name)
        if streak is not None:
            out.append(
                SourceHealth(
                    source.name, streak.failures, source.failures_before_alert, streak.last_error, streak.since,
                    source.metric,
                )
            )
    return out

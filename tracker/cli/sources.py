"""Commands for collector sources: sources (with their health) and collect (one run now)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tracker.cli.actuals import JsonFlag
from tracker.cli.alerts import Verbose
from tracker.store.runtime import Runtime


def sources(as_json: JsonFlag = False) -> None:
    """List the catalog's collector sources with their last run and consecutive failures."""
    from tracker.cli.output import print_json  # start-up speed
    from tracker.collectors import journal  # start-up speed
    from tracker.store import db  # start-up speed

    runtime = Runtime.from_env()
    with db.session(runtime.engine) as session:
        runs = journal.last_runs(session)
        streaks = journal.streaks(session)
    items = [_row(source, runs.get(source.name), streaks.get(source.name)) for source in runtime.catalog.sources]
    if as_json:
        print_json(items)
        return
    if not items:
        print("no sources in the catalog (see [[sources]] in the catalog's comments)")
        return
    from tracker.cli.listings import print_sources  # start-up speed

    print_sources(items, runtime.catalog.timezone)


def _row(source: Any, run: Any, streak: Any) -> dict[str, Any]:
    return {
        "source": source.name,
        "kind": source.kind,
        "schedule": source.schedule,
        "metric": source.metric,
        "last_run": run.collected_at if run else None,
        "outcome": run.outcome if run else None,
        "rows_recorded": run.rows_recorded if run else None,
        "last_error": streak.last_error if streak else None,
        "consecutive_failures": streak.failures if streak else 0,
        "failing_since": streak.since if streak else None,
        "failures_before_alert": source.failures_before_alert,
    }


def collect(
    name: Annotated[str, typer.Argument(help="source name from the catalog's [[sources]]")],
    verbose: Verbose = 0,
) -> None:
    """Run one collection of a source now, as the daemon would on its schedule."""
    from tracker.collectors.runner import collect as run  # start-up speed
    from tracker.core.errors import NotFound, TrackerError  # start-up speed

    runtime = Runtime.from_env()
    catalog = runtime.catalog
    source = next((s for s in catalog.sources if s.name == name), None)
    if source is None:
        known = ", ".join(s.name for s in catalog.sources) or "none"
        raise NotFound(f"unknown source {name!r}; the catalog has: {known}")
    from tracker.service import logs  # start-up speed

    logs.setup(runtime, command=True, verbose=verbose)  # secrets (header tokens too) masked
    result = run(runtime, source, now=runtime.now())
    if not result.ok:
        raise TrackerError(f"source {name}: {result.error}")
    print(f"collected {name}: {result.recorded} actual(s) recorded")

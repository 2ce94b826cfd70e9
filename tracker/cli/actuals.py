"""Commands for the catalog and actuals: record, import, actuals, goals, check-config, info, db."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from tracker.store.runtime import Runtime

JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]
_NEGATIVE = re.compile(r"-[\d.]")


class NumbersAsArguments(TyperCommand):
    """A command whose arguments may be negative numbers as users type them (`-500`).

    Click reads every word that starts with a dash as an option, and has no setting for
    numbers; `ignore_unknown_options` would also turn a misspelt `--frce` into an argument.
    So the words are sorted before Click parses them: options (with the values of those that
    take one) first, then `--`, then the arguments in their order. Click then parses as ever:
    `--help`, unknown options and missing arguments are reported as before. The command must
    have no option that looks like a number."""

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        takes_value = {
            name
            for param in self.get_params(ctx)
            if param.param_type_name == "option" and not getattr(param, "is_flag", False)
            for name in param.opts
        }
        return super().parse_args(ctx, _numbers_last(args, takes_value))


def _numbers_last(args: list[str], takes_value: set[str]) -> list[str]:
    if not any(_NEGATIVE.match(arg) for arg in args):
        return args  # nothing to move: Click sees exactly what was typed
    options: list[str] = []
    arguments: list[str] = []
    words = iter(args)
    for word in words:
        if word == "--":
            arguments.extend(words)
        elif word.startswith("-") and len(word) > 1 and not _NEGATIVE.match(word):
            options.append(word)
            value = next(words, None) if word in takes_value else None
            if value is not None:
                options.append(value)
        else:
            arguments.append(word)
    return [*options, "--", *arguments]


def record(
    metric: Annotated[str, typer.Argument(help="metric name from the catalog, e.g. ev_deliveries")],
    period: Annotated[str, typer.Argument(help="2026, 2026-H1, 2026-Q3, 2026-03 or 2026-03-15")],
    value: Annotated[str, typer.Argument(help="decimal number, e.g. 41200, -500 or 1.5E3 (kept as 1500)")],
    source: Annotated[str | None, typer.Option(help="where the figure comes from")] = None,
    note: Annotated[str | None, typer.Option(help="free text kept with the figure")] = None,
    known_since: Annotated[
        str | None, typer.Option("--known-since", help="when the figure became known, ISO 8601 (default: now)")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="accept a tenfold jump from the previous period")] = False,
) -> None:
    """Record one actual. Recording a metric and period again is a revision; all are kept."""
    from tracker.core.validation import plain  # start-up speed
    from tracker.store import actuals as store  # start-up speed
    from tracker.store import db  # start-up speed

    runtime = Runtime.from_env()
    catalog = runtime.metrics_catalog  # its metrics, not every goal
    with db.session(runtime.engine, write=True) as session:
        row = store.record(
            session,
            catalog=catalog,
            metric=metric,
            period=period,
            value=value,
            source=source,
            note=note,
            force=force,
            now=runtime.now(),
            known_since=known_since,
        )
    assert row is not None
    unit = catalog.metrics[row.metric].unit
    revised = f" (revision {row.revision})" if row.revision > 1 else ""
    print(f"recorded {row.metric} {row.period} = {plain(row.value)} {unit}{revised}")


def import_(
    file: Annotated[Path, typer.Argument(help="CSV with header metric,period,value[,known_since,source,note]")],
    force: Annotated[bool, typer.Option("--force", help="accept tenfold jumps from the previous period")] = False,
) -> None:
    """Record many actuals from CSV: all rows or none; rows equal to the current value are skipped."""
    from tracker.store import db  # start-up speed
    from tracker.store.importer import import_file  # start-up speed

    runtime = Runtime.from_env()
    catalog = runtime.metrics_catalog  # its metrics, not every goal
    with db.session(runtime.engine, write=True) as session, _Bar.on_terminal() as bar:
        done = import_file(session, catalog=catalog, path=file, now=runtime.now(), force=force, progress=bar)
    unchanged = f"; {done.unchanged} unchanged, skipped" if done.unchanged else ""
    print(f"imported {done.recorded} actuals from {file}{unchanged}")


class _Bar:
    """rich's progress bar on stderr when it is a terminal: rows, percentage, rate and time
    left, for reading the file and for writing it; nothing at all otherwise."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.task: Any = None

    @classmethod
    @contextmanager
    def on_terminal(cls) -> Iterator[_Bar | None]:
        if not sys.stderr.isatty():
            yield None
            return
        from rich.console import Console  # start-up speed
        from rich import progress as bars  # start-up speed

        columns = (bars.TextColumn("{task.description:8}"), bars.BarColumn(bar_width=16), bars.MofNCompleteColumn(),
                   bars.TaskProgressColumn(), bars.TextColumn("{task.fields[rate]:>11}"), bars.TimeRemainingColumn())
        with bars.Progress(*columns, console=Console(stderr=True), transient=True) as progress:
            yield cls(progress)

    def phase(self, name: str, total: int | None) -> None:
        if self.task is not None:
            self.progress.update(self.task, visible=False)
        self.task = self.progress.add_task(name, total=total, rate="")

    def advance(self, count: int) -> None:
        self.progress.advance(self.task, count)
        task = next(task for task in self.progress.tasks if task.id == self.task)
        # rows over the phase's time so far: rich's own speed needs several samples in a window
        rate = task.completed / task.elapsed if task.elapsed else 0
        self.progress.update(self.task, rate=f"{rate:,.0f} rows/s" if rate else "")


def actuals(
    metric: Annotated[str, typer.Argument(help="metric name from the catalog")],
    as_json: JsonFlag = False,
) -> None:
    """List a metric's actuals, revisions included."""
    from tracker.cli.output import print_json  # start-up speed
    from tracker.core.validation import find_metric  # start-up speed
    from tracker.store import actuals as store  # start-up speed
    from tracker.store import db  # start-up speed

    runtime = Runtime.from_env()
    spec = find_metric(runtime.catalog.metrics, metric)
    with db.session(runtime.engine) as session:
        rows = store.history(session, metric=spec.name)
    items = [
        {
            "metric": r.metric,
            "period": r.period,
            "value": r.value,
            "unit": spec.unit,
            "revision": r.revision,
            "current": r.is_current,
            "source": r.source,
            "note": r.note,
            "recorded_at": r.recorded_at,
        }
        for r in rows
    ]
    if as_json:
        print_json(items)
        return
    if not items:
        print(f"no actuals recorded for {spec.name} yet")
        return
    from tracker.cli.listings import print_actuals  # start-up speed

    print_actuals(f"{spec.title} ({spec.unit}, by {spec.granularity})", items, runtime.catalog.timezone)


def goals(as_json: JsonFlag = False) -> None:
    """List the catalog: goals, their kind, period, target and source."""
    from tracker.cli.listings import print_goals  # start-up speed
    from tracker.cli.output import print_json  # start-up speed
    from tracker.views.catalog_view import goal_rows  # start-up speed

    catalog = Runtime.from_env().catalog
    if as_json:
        print_json(goal_rows(catalog))
    else:
        print_goals(catalog)


def check_config() -> None:
    """Validate the catalog and settings as `tracker run` would, pointing at what is wrong."""
    from tracker.cli.daemon import preflight, unknown_settings  # start-up speed
    from tracker.cli.output import warn  # start-up speed

    runtime = Runtime.from_env()
    catalog = runtime.catalog
    for warning in unknown_settings(runtime):
        warn(warning)
    preflight(runtime)  # schedules, receivers' secrets, HTTP address, database URL
    print(
        f"{catalog.path}: OK ({len(catalog.goals)} goals, {len(catalog.metrics)} metrics, "
        f"{len(catalog.effective_rules())} rules, {len(catalog.receivers)} receivers, "
        f"{len(catalog.sources)} sources)"
    )


def info(as_json: JsonFlag = False) -> None:
    """Show the version, settings in effect (secrets masked), database location and revision,
    and the catalog file in use with how it was found."""
    from tracker.catalog.locate import locate  # start-up speed
    from tracker.cli.output import print_json, version  # start-up speed
    from tracker.core.urls import redact_url  # start-up speed
    from tracker.store import db  # start-up speed

    runtime = Runtime.from_env()
    settings = runtime.settings.model_dump(mode="json")
    engine = db.make_engine(runtime.settings.database_url)
    settings["database_url"] = db.describe_url(engine)
    settings["webhook_url"] = redact_url(settings["webhook_url"])
    catalog = locate(runtime.settings)
    details = {
        "version": version(),
        "python": sys.version.split()[0],
        "database": settings["database_url"],
        "revision": db.current_revision(engine),
        "head_revision": db.head_revision(),
        "config": str(catalog.absolute),
        "config_found": catalog.found,
        "settings": settings,
    }
    if as_json:
        print_json(details)
        return
    for key, value in details.items():
        if key == "config_found":
            continue
        shown = value if value is not None else "(not migrated yet)"
        print(f"{key:14} {shown} ({catalog.found})" if key == "config" else f"{key:14} {shown}")
    print("settings")
    for key, value in settings.items():
        print(f"  {key:20} {value}")


def db_upgrade() -> None:
    """Apply the Alembic migrations to the database in TRACKER_DATABASE_URL."""
    from tracker.store import db  # start-up speed

    runtime = Runtime.from_env()
    engine = db.make_engine(runtime.settings.database_url)
    before = db.current_revision(engine)
    after = db.upgrade(engine)
    print(f"{db.describe_url(engine)}: {before or 'empty'} -> {after}")

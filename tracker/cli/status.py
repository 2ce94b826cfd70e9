"""`tracker status [--at TIME] [--known-at TIME] [--json]`: every goal judged, read-only, as of
now or TIME, with everything recorded or only what was known at a time."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from functools import partial
from typing import IO, TYPE_CHECKING, Annotated

import typer

from tracker.store.runtime import Runtime

if TYPE_CHECKING:
    from tracker.cli.tables import Cell, Column
    from tracker.core.verdict import Evaluation

_STYLE = {
    "on_track": "green",
    "achieved": "bold green",
    "at_risk": "yellow",
    "off_track": "red",
    "missed": "bold red",
    "no_data": "dim",
}


def status(
    at: Annotated[str | None, typer.Option("--at", help="judge as of this ISO 8601 time (catalog time zone)")] = None,
    known_at: Annotated[
        str | None, typer.Option("--known-at", help="use only what was known at this time (and judge as of it)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for scripts")] = False,
) -> None:
    """Evaluate every goal, read-only, as of now or --at TIME."""
    from tracker.cli.tables import print_table  # start-up speed
    from tracker.core.heap import collector_paused  # start-up speed
    from tracker.core.instants import format_instant  # start-up speed
    from tracker.core.periods import parse_instant  # start-up speed
    from tracker.store import db  # start-up speed
    from tracker.store.judging import Remembered, evaluate_from_db, views_from_db  # start-up speed

    # One bounded answer, and the process ends: the cyclic collector would only walk the
    # catalog and the verdicts again and again (10,000 goals beside a daemon: 77 of the
    # process's 251 collections, ~0.08 s of 2 s; the same peak RSS).
    with collector_paused():
        runtime = Runtime.from_env()
        catalog = runtime.catalog
        known = parse_instant(known_at, catalog.timezone) if known_at else None
        now = parse_instant(at, catalog.timezone) if at else known or runtime.now()
        with db.session(runtime.engine) as session:
            # Verdicts a daemon stored for these very inputs are taken as they are; nothing is written.
            if as_json:
                texts = views_from_db(session, catalog=catalog, now=now, known_at=known)
            else:
                evaluations = evaluate_from_db(session, catalog=catalog, now=now, known_at=known, remembered=Remembered())
        if as_json:
            write_json(texts, sys.stdout)
        else:
            edges = {g.id: (catalog.bands_for(g).off_track, catalog.bands_for(g).on_track) for g in catalog.goals}
            print_table(f"Goals as of {format_instant(now, catalog.timezone)}", *status_rows(evaluations, edges))


def write_json(texts: Iterable[str], out: IO[str]) -> None:
    """The JSON array of the goals' objects (tracker.store.verdicts.view_text), one per line,
    never the whole answer in memory as one string."""
    out.write("[")
    count = 0
    for count, text in enumerate(texts, 1):
        out.write(",\n" if count > 1 else "\n")
        out.write(text)
    out.write("\n]\n" if count else "]\n")


def status_rows(
    evaluations: Sequence[Evaluation], edges: dict[str, tuple[float, float]]
) -> tuple[list[Column], list[list[Cell]]]:
    """The columns and one row per goal. `edges`: each goal's band edges, so that a probability
    is never rounded across one. On a narrow terminal the bar goes first, then the rate still
    needed, the projection, the actual against the plan and the progress; goal, status and
    date stay."""
    from tracker.cli.tables import Choice, Column  # start-up speed
    from tracker.core.summary import likelihood, number  # start-up speed

    columns = [
        Column("goal"), Column("status"), Column("progress", narrow=0, drop=4), Column("actual / expected", drop=3),
        Column("projected", right=True, drop=2), Column("needs", right=True, drop=1), Column("data through"),
    ]
    rows: list[list[Cell]] = []
    for e in evaluations:
        show = partial(number, display=e.display)
        name = str(e.status)
        odds = f" {likelihood(e.probability, edges.get(e.goal, ()))}" if e.probability is not None and 0 < e.probability < 1 else ""
        status = ((name.replace("_", " "), _STYLE[name]), (odds, None)) + (
            ((" (deadline near)", "yellow"),) if e.deadline_near else ()
        )
        through = ((e.data_through.isoformat() if e.data_through else "-", None),) + (
            ((" STALE", "bold red"),) if e.stale else ()
        )
        rows.append([
            e.goal,
            status,
            Choice(((_bar(e.attainment), None),), ((_percent(e.attainment), None),)),
            f"{show(e.actual)} / {show(e.expected)}" if e.actual is not None else "-",
            show(e.projected) if e.projected is not None else "-",
            f"{show(e.required_rate)}/{e.rate_unit}" if e.required_rate is not None else "",
            through,
        ])
    return columns, rows


def _percent(share: float | None) -> str:
    return "" if share is None else f"{share:.0%}"


def _bar(share: float | None, width: int = 10) -> str:
    """A small progress bar with the percentage: ██████░░░░ 60%."""
    if share is None:
        return ""
    filled = max(0, min(width, round(share * width)))
    return "█" * filled + "░" * (width - filled) + f" {share:.0%}"

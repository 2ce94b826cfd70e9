"""`tracker backtest`: each goal's status and probability at a series of dates, as known then,
and whether the verdict was right where the window has closed since."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from tracker.store.runtime import Runtime


class Every(StrEnum):
    MONTH = "month"
    WEEK = "week"
    DAY = "day"


_MOST_DATES = 10_000  # a backtest of every day for 27 years; beyond that a typo is likelier


def backtest(
    start: Annotated[str, typer.Option("--from", metavar="DATE", help="first date (ISO 8601, catalog time zone)")],
    end: Annotated[str, typer.Option("--to", metavar="DATE", help="last date, included")],
    every: Annotated[Every, typer.Option("--every", help="step between dates")] = Every.MONTH,
    goal: Annotated[str | None, typer.Option("--goal", metavar="ID", help="only this goal")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for scripts")] = False,
) -> None:
    """Judge the catalog at each date with only what was known then; score closed windows."""
    from tracker.cli.listings import print_verdicts  # start-up speed
    from tracker.cli.output import print_json  # start-up speed
    from tracker.core.backtest import backtest as run  # start-up speed
    from tracker.core.backtest import dates  # start-up speed
    from tracker.core.errors import BadInput, NotFound  # start-up speed
    from tracker.core.periods import parse_instant  # start-up speed
    from tracker.store import db  # start-up speed
    from tracker.store.actuals import revisions_until  # start-up speed

    runtime = Runtime.from_env()
    catalog = runtime.catalog
    tz = catalog.timezone
    first, last = (parse_instant(text, tz).astimezone(tz).date() for text in (start, end))
    if first > last:
        raise BadInput(f"--from {start} is after --to {end}")
    days = list(dates(first, last, str(every)))
    if len(days) > _MOST_DATES:
        raise BadInput(f"{len(days):,} dates from --from {start} to --to {end} by {every}; at most {_MOST_DATES:,}")
    if goal is not None:
        try:
            catalog = catalog.model_copy(update={"goals": (catalog.goal(goal),)})
        except KeyError:
            raise NotFound(f"goal {goal!r} is not in the catalog (see 'tracker goals')") from None
    now = runtime.now()
    with db.session(runtime.engine) as session:
        metrics = {name for g in catalog.goals for name in g.metrics}
        revisions = revisions_until(session, metrics=metrics, until=now)
    verdicts = run(catalog, revisions, days, now=now)
    if as_json:
        print_json([v.to_json() for v in verdicts])
        return
    print_verdicts(verdicts)
    scored = [v.right for v in verdicts if v.right is not None]
    print(f"{len(verdicts)} verdicts; {len(scored)} on windows now closed: {sum(scored)} right, "
          f"{len(scored) - sum(scored)} wrong (at risk and open windows are not scored)")

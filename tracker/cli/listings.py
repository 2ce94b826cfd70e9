"""The other listings as terminal tables (tracker.cli.tables): goals, a metric's actuals,
collector sources and backtest verdicts. Ids, periods and dates are single words, so they are
never cut; long text (titles, notes, errors) wraps at words and goes first when space is short."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracker.cli.tables import Cell, Column, print_table
from tracker.core.instants import format_instant


def print_goals(catalog: Any) -> None:
    from tracker.views.catalog_view import describe_target  # start-up speed

    columns = [Column("goal"), Column("title"), Column("kind", drop=2), Column("period"), Column("target"),
               Column("source", drop=1)]
    rows: list[Sequence[Cell]] = []
    for goal in catalog.goals:
        period = goal.period.label if goal.period else f"every {goal.recurs}"
        source = f"{goal.source.publisher} {goal.source.published:%Y-%m-%d}"
        rows.append([goal.id, ((goal.title, "dim"),), goal.kind.value, period, describe_target(goal), source])
    print_table(f"{len(catalog.goals)} goals ({catalog.timezone})", columns, rows)


def print_actuals(title: str, items: list[dict[str, Any]], zone: Any) -> None:
    columns = [Column("period"), Column("value", right=True), Column("rev", right=True), Column("current"),
               Column("source", drop=2), Column("note", drop=1), Column("recorded at")]
    rows = [
        [item["period"], f"{item['value']:,f}", str(item["revision"]), "yes" if item["current"] else "",
         item["source"] or "", item["note"] or "", format_instant(item["recorded_at"], zone)]
        for item in items
    ]
    print_table(title, columns, rows)


def print_sources(items: list[dict[str, Any]], zone: Any) -> None:
    columns = [Column("source"), Column("kind", drop=3), Column("schedule", drop=2), Column("last run"),
               Column("outcome"), Column("recorded", right=True, drop=1), Column("failures", right=True),
               Column("last error")]
    rows = []
    for item in items:
        last = item["last_run"]
        rows.append([
            item["source"], item["kind"], item["schedule"], format_instant(last, zone) if last else "never",
            item["outcome"] or "", str(item["rows_recorded"] if last else ""),
            f"{item['consecutive_failures']}/{item['failures_before_alert']}", item["last_error"] or "",
        ])
    print_table("Collector sources", columns, rows)


def print_verdicts(verdicts: Sequence[Any]) -> None:
    from tracker.core.summary import likelihood  # start-up speed

    columns = [Column("date"), Column("goal"), Column("status"), Column("probability", right=True),
               Column("outcome", drop=1), Column("right")]
    rows = []
    for v in verdicts:
        e = v.evaluation
        outcome = "-" if v.outcome is None else ("met" if v.outcome else "missed")
        right: Cell = "-" if v.right is None else ("yes" if v.right else (("no", "red"),))
        chance = likelihood(e.probability) if e.probability is not None else "-"
        rows.append([v.day.isoformat(), e.goal, str(e.status).replace("_", " "), chance, outcome, right])
    print_table("Backtest: each verdict as known at its date", columns, rows)

"""The HTML report: every goal's chart beside its status, grouped by label, worst first.

One self-contained page (styles inline, charts inline as SVG, no scripts, no fonts or
images fetched), so it opens from a file, a mail attachment or the daemon's `/` alike.
Pure: it takes the evaluations and readings and returns text; `render_from_db` gathers them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, select_autoescape

from tracker.core import evaluation as judge
from tracker.core.summary import number
from tracker.core.verdict import Evaluation, Status
from tracker.store.judging import readings_for

if TYPE_CHECKING:
    from sqlmodel import Session

    from tracker.catalog.model import Catalog
    from tracker.core.goals import Goal
    from tracker.core.readings import Reading
    from tracker.views.chartdata import Pace

GROUP_LABEL = "business"
OTHER_GROUP = "other"

# Worst first. A status is always shown in words, with a symbol; colour only repeats them.
STATUS_ORDER = (Status.MISSED, Status.OFF_TRACK, Status.AT_RISK, Status.NO_DATA, Status.ON_TRACK, Status.ACHIEVED)
STATUS_WORDS = {
    Status.MISSED: ("Missed", "✕"),
    Status.OFF_TRACK: ("Off track", "✕"),
    Status.AT_RISK: ("At risk", "!"),
    Status.NO_DATA: ("No data", "?"),
    Status.ON_TRACK: ("On track", "✓"),
    Status.ACHIEVED: ("Achieved", "★"),
}


@dataclass(frozen=True)
class Card:
    evaluation: Evaluation
    goal: Goal
    status_word: str
    status_symbol: str
    figures: tuple[tuple[str, str], ...]
    svg: str


@dataclass(frozen=True)
class Group:
    name: str
    cards: tuple[Card, ...]


def sort_key(evaluation: Evaluation) -> tuple[int, int, float, str]:
    """Worst status first; within one, stale before fresh, then lowest projected attainment."""
    attainment = evaluation.projected_attainment
    if attainment is None:
        attainment = evaluation.attainment if evaluation.attainment is not None else float("inf")
    return (STATUS_ORDER.index(evaluation.status), 0 if evaluation.stale else 1, attainment, evaluation.goal)


def group(evaluations: Sequence[Evaluation], label: str = GROUP_LABEL) -> list[tuple[str, list[Evaluation]]]:
    """Evaluations grouped by one label's value, the group holding the worst goal first."""
    groups: dict[str, list[Evaluation]] = {}
    for evaluation in sorted(evaluations, key=sort_key):
        groups.setdefault(evaluation.labels.get(label, OTHER_GROUP), []).append(evaluation)
    return sorted(groups.items(), key=lambda item: (sort_key(item[1][0])[:3], item[0]))


def render(
    catalog: Catalog,
    evaluations: Sequence[Evaluation],
    readings: Mapping[str, Sequence[Reading]],
    *,
    now: datetime,
    pace_for: Callable[[Goal], Pace],
) -> str:
    """The report page as HTML text."""
    from tracker.views.chartdata import chart_data  # heavy, on demand
    from tracker.views.charts import render_svg  # heavy, on demand

    goals = {goal.id: goal for goal in catalog.goals}  # catalog.goal() scans: n goals, n scans
    groups = []
    for name, members in group(evaluations):
        cards = []
        for evaluation in members:
            goal = goals[evaluation.goal]
            data = chart_data(goal, evaluation, readings, catalog.timezone, pace_for(goal))
            svg = render_svg(data, salt=goal.id, label=chart_label(evaluation))
            word, symbol = STATUS_WORDS[evaluation.status]
            cards.append(Card(evaluation, goal, word, symbol, figures(evaluation, goal), svg))
        groups.append(Group(name, tuple(cards)))
    return _template().render(
        groups=groups,
        label=GROUP_LABEL,
        as_of=now.astimezone(catalog.timezone),
        timezone=str(catalog.timezone),
        counts=status_counts(evaluations),
    )


def render_from_db(session: Session, *, catalog: Catalog, now: datetime, known_at: datetime | None = None) -> str:
    """The report as of `now`, from the database's current actuals (or those known at `known_at`)."""
    # what tracker.store.judging.evaluate_from_db reads: the charts draw what the verdicts saw
    readings = readings_for(session, catalog=catalog, now=now, known_at=known_at)
    evaluations = judge.evaluate_all(catalog, readings, now, known_at=known_at)

    def pace_for(goal: Goal) -> Pace:
        return lambda at: judge.pace(goal, catalog=catalog, at=at)

    return render(catalog, evaluations, readings, now=now, pace_for=pace_for)


def status_counts(evaluations: Sequence[Evaluation]) -> list[tuple[str, int, str]]:
    """(words, count, css class) for each status that occurs, worst first."""
    out = []
    for status in STATUS_ORDER:
        count = sum(1 for e in evaluations if e.status is status)
        if count:
            out.append((STATUS_WORDS[status][0], count, status.value))
    return out


def figures(e: Evaluation, goal: Goal) -> tuple[tuple[str, str], ...]:
    """The numbers beside a chart, in words a reader can use; rows that do not apply are left out."""
    rows = [
        ("Actual", fmt(e, e.actual)),
        ("Expected by now", fmt(e, e.expected)),
        ("Target", fmt(e, e.target)),
        ("Baseline", fmt(e, e.baseline)),
        ("Projected", fmt(e, e.projected)),
        ("Attainment", share(e.attainment)),
        ("Projected attainment", share(e.projected_attainment)),
        ("Required rate", rate(e)),
        ("Data through", e.data_through.isoformat() if e.data_through else ""),
        ("Period", f"{e.period_start.isoformat()} to {(e.period_end - timedelta(days=1)).isoformat()}"),
    ]
    if len(goal.targets) > 1:
        steps = " → ".join(f"{fmt(e, t.value)} from {t.effective.isoformat()}" for t in goal.targets)
        rows.append(("Target revisions", steps))
    if e.stale:
        late = ", ".join(e.stale_metrics) or "an input"
        rows.append(("Stale", f"yes: {late} is late"))
    return tuple((name, value) for name, value in rows if value)


def fmt(e: Evaluation, value: Decimal | None) -> str:
    """A figure as `tracker status` and the webhook summaries write it, with its unit."""
    if value is None:
        return ""
    text = number(value, e.display)
    return f"{text} {e.unit}" if e.unit and e.display != "percent" else text


def share(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def rate(e: Evaluation) -> str:
    if e.required_rate is None:
        return ""
    per = f" per {e.rate_unit}" if e.rate_unit else ""
    return f"{fmt(e, e.required_rate)}{per}"


def chart_label(e: Evaluation) -> str:
    """The chart's accessible name: what it shows, in one sentence."""
    word = STATUS_WORDS[e.status][0].lower()
    parts = [f"Chart of {e.title}: {word}"]
    if e.actual is not None:
        parts.append(f"actual {fmt(e, e.actual)}")
    if e.expected is not None:
        parts.append(f"expected by now {fmt(e, e.expected)}")
    if e.target is not None:
        parts.append(f"target {fmt(e, e.target)}")
    if e.projected is not None:
        parts.append(f"projected {fmt(e, e.projected)}")
    return ", ".join(parts) + "."


def _template():  # type: ignore[no-untyped-def]

    environment = Environment(loader=PackageLoader("tracker.views", "templates"), autoescape=select_autoescape(["html"]))
    return environment.get_template("report.html")

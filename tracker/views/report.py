"""The HTML report: every goal's status and summary, grouped by label, worst first, and
charts for the goals that need attention (at most CHART_CAP).

One self-contained page (styles inline, charts inline as SVG, no scripts, no fonts or
images fetched), so it opens from a file, a mail attachment or the daemon's `/` alike.
Pure: it takes the evaluations and readings (or drawn charts) and returns text; `render_from_db`
gathers them, reading actuals only for the goals it charts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, select_autoescape

from tracker.core import evaluation as judge
from tracker.core.summary import number
from tracker.core.verdict import Evaluation, Status
from tracker.store.judging import Remembered, evaluate_from_db, readings_for

if TYPE_CHECKING:
    from sqlmodel import Session

    from tracker.catalog.model import Catalog
    from tracker.core.goals import Goal
    from tracker.core.readings import Reading
    from tracker.views.chartdata import ChartData, Pace

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


# Charts are drawn for the goals that need attention, worst first, this many at most: a
# chart costs ~50 ms and ~25 KB, so a page of every goal's chart stops scaling in the hundreds.
CHART_CAP = 24
ATTENTION = frozenset({Status.MISSED, Status.OFF_TRACK, Status.AT_RISK})


@dataclass(frozen=True)
class Card:
    """A goal drawn in full: its chart beside its figures and source."""

    evaluation: Evaluation
    goal: Goal
    status_word: str
    status_symbol: str
    figures: tuple[tuple[str, str], ...]
    svg: str


@dataclass(frozen=True)
class Row:
    """A goal in the list of every goal: its status and summary, and where its chart is."""

    evaluation: Evaluation
    status_word: str
    status_symbol: str
    link: str | None  # an anchor on the page, the daemon's goal page, or none


@dataclass(frozen=True)
class Group:
    name: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Chart:
    """What one chart is drawn from; equal inputs give the same SVG, so it is the cache key."""

    data: ChartData
    salt: str
    label: str


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


def needs_attention(evaluation: Evaluation) -> bool:
    return evaluation.status in ATTENTION or evaluation.stale


def to_chart(evaluations: Sequence[Evaluation], cap: int = CHART_CAP) -> list[Evaluation]:
    """The goals whose charts the page draws: those that need attention, worst first, `cap` at most."""
    return sorted((e for e in evaluations if needs_attention(e)), key=sort_key)[:cap]


def charts_for(
    catalog: Catalog,
    evaluations: Sequence[Evaluation],
    readings: Mapping[str, Sequence[Reading]],
    pace_for: Callable[[Goal], Pace],
) -> dict[str, Chart]:
    """What each of these goals' charts is drawn from (cheap: numbers, no drawing)."""
    from tracker.views.chartdata import chart_data  # heavy, on demand

    goals = _goals(catalog)
    out = {}
    for e in evaluations:
        goal = goals.get(e.goal)
        if goal is not None:  # a goal gone from a reloaded catalog has nothing to draw
            data = chart_data(goal, e, readings, catalog.timezone, pace_for(goal))
            out[e.goal] = Chart(data, goal.id, chart_label(e))
    return out


def draw(chart: Chart) -> str:
    from tracker.views.charts import render_svg  # heavy, on demand

    return render_svg(chart.data, salt=chart.salt, label=chart.label)


def render(
    catalog: Catalog,
    evaluations: Sequence[Evaluation],
    readings: Mapping[str, Sequence[Reading]],
    *,
    now: datetime,
    pace_for: Callable[[Goal], Pace],
    cap: int = CHART_CAP,
) -> str:
    """The report page as HTML text: every goal listed, charts for those that need attention."""
    charts = charts_for(catalog, to_chart(evaluations, cap), readings, pace_for)
    return page(catalog, evaluations, {goal: draw(chart) for goal, chart in charts.items()}, now=now)


def page(
    catalog: Catalog,
    evaluations: Sequence[Evaluation],
    svgs: Mapping[str, str],
    *,
    now: datetime,
    goal_link: Callable[[str], str] | None = None,
    cap: int = CHART_CAP,
) -> str:
    """The page from drawn charts: cards for the goals in `svgs`, worst first, then every goal
    by group. `goal_link` names the page that draws a goal's chart on demand (the daemon's)."""
    goals = _goals(catalog)
    ordered = sorted(evaluations, key=sort_key)
    cards = [_card(e, goals[e.goal], svgs[e.goal]) for e in ordered if e.goal in svgs and e.goal in goals]

    def link(goal_id: str) -> str | None:
        if goal_id in svgs:
            return f"#goal-{goal_id}"
        return goal_link(goal_id) if goal_link else None

    groups = [
        Group(name, tuple(Row(e, *STATUS_WORDS[e.status], link(e.goal)) for e in members))
        for name, members in group(ordered)
    ]
    attention = sum(1 for e in evaluations if needs_attention(e))
    return _template().render(
        cards=cards,
        groups=groups,
        label=GROUP_LABEL,
        as_of=now.astimezone(catalog.timezone),
        timezone=str(catalog.timezone),
        counts=status_counts(evaluations),
        total=len(evaluations),
        attention=attention,
        cap=cap,
        live=goal_link is not None,
    )


def goal_page(catalog: Catalog, evaluation: Evaluation, svg: str, *, now: datetime) -> str:
    """One goal's card and chart alone: the daemon's `/goals/{id}`."""
    goal = catalog.goal(evaluation.goal)
    return _template().render(
        cards=[_card(evaluation, goal, svg)], groups=[], label=GROUP_LABEL, as_of=now.astimezone(catalog.timezone),
        timezone=str(catalog.timezone), counts=[], total=1, attention=0, cap=0, live=True, alone=True,
    )


def waiting_page(catalog: Catalog, *, now: datetime, message: str) -> str:
    """A page that says why there is nothing to show yet, and reloads itself."""
    return _template().render(cards=[], groups=[], label=GROUP_LABEL, as_of=now.astimezone(catalog.timezone),
                              timezone=str(catalog.timezone), counts=[], waiting=message)


def _card(e: Evaluation, goal: Goal, svg: str) -> Card:
    word, symbol = STATUS_WORDS[e.status]
    return Card(e, goal, word, symbol, figures(e, goal), svg)


def _goals(catalog: Catalog) -> dict[str, Goal]:
    return {goal.id: goal for goal in catalog.goals}  # catalog.goal() scans: n goals, n scans


def render_from_db(session: Session, *, catalog: Catalog, now: datetime, known_at: datetime | None = None) -> str:
    """The report as of `now`, from the database's current actuals (or those known at `known_at`)."""
    # Verdicts a daemon stored for these very inputs are taken as they are (nothing is written).
    evaluations = evaluate_from_db(session, catalog=catalog, now=now, known_at=known_at, remembered=Remembered())
    charts = charts_from_db(session, catalog=catalog, evaluations=to_chart(evaluations), now=now, known_at=known_at)
    return page(catalog, evaluations, {goal: draw(chart) for goal, chart in charts.items()}, now=now)


def charts_from_db(
    session: Session, *, catalog: Catalog, evaluations: Sequence[Evaluation], now: datetime,
    known_at: datetime | None = None,
) -> dict[str, Chart]:
    """The charts of these goals, from the readings their verdicts saw (those goals' alone:
    the rest of a large catalog's actuals are never read for a chart)."""
    goals = _goals(catalog)
    chosen = tuple(goals[e.goal] for e in evaluations if e.goal in goals)
    if not chosen:
        return {}
    alone = catalog.model_copy(update={"goals": chosen})
    readings = readings_for(session, catalog=alone, now=now, known_at=known_at)

    def pace_for(goal: Goal) -> Pace:
        return lambda at: judge.pace(goal, catalog=catalog, at=at)

    return charts_for(catalog, evaluations, readings, pace_for)


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


@cache
def _template():  # type: ignore[no-untyped-def]
    environment = Environment(loader=PackageLoader("tracker.views", "templates"), autoescape=select_autoescape(["html"]))
    return environment.get_template("report.html")

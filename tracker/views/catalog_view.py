"""The catalog as people and scripts see it (`tracker goals`, `tracker check-config`)."""

from __future__ import annotations

from typing import Any

from tracker.catalog.model import Catalog
from tracker.core.goals import Goal


def goal_rows(catalog: Catalog) -> list[dict[str, Any]]:
    return [goal_row(catalog, goal) for goal in catalog.goals]


def goal_row(catalog: Catalog, goal: Goal) -> dict[str, Any]:
    return {
        "goal": goal.id,
        "title": goal.title,
        "kind": goal.kind.value,
        "comparison": goal.comparison.value,
        "period": {"start": goal.period.start, "end": goal.period.end} if goal.period else None,
        "recurs": goal.recurs.value if goal.recurs else None,
        "metrics": list(goal.metrics),
        "target": goal.targets[-1].value if goal.targets else goal.target,
        "targets": [t.model_dump(mode="json") for t in goal.targets],
        "baseline": goal.baseline,
        "delta": goal.delta,
        "deadline": goal.deadline,
        "display": goal.display,
        "unit": goal.unit,
        "labels": goal.labels,
        "source": goal.source.model_dump(mode="json"),
        "notes": goal.notes,
        "timezone": str(catalog.timezone),
    }


def describe_target(goal: Goal) -> str:
    if goal.targets:
        return " -> ".join(f"{_fmt(goal, t.value)} ({t.effective:%Y-%m-%d})" for t in goal.targets)
    if goal.kind.value == "milestone":
        return f"by {goal.deadline}"
    if goal.baseline == "previous_period":
        return f"{goal.comparison.value.replace('_', ' ')} previous period"
    if goal.delta is not None:
        return f"previous period {'+' if goal.delta >= 0 else ''}{_fmt(goal, goal.delta, points=True)}"
    text = _fmt(goal, goal.target)
    return f"{_fmt(goal, goal.baseline)} -> {text}" if goal.kind.value == "level" else text


def _fmt(goal: Goal, value: Any, points: bool = False) -> str:
    if value is None:
        return ""
    if goal.display == "percent":
        return f"{float(value) * 100:g} {'pt' if points else '%'}"
    return f"{value:,}"

"""Milestones (pure): done by a deadline, and how likely that is while it is not done yet.

A milestone has no figures to project, only the time left. The model: the milestone comes
at a time spread evenly from now to the deadline plus a slip of a quarter of the goal's
warning window (`warn_before`, else 30 days), so P(done by the deadline) =
left / (left + slip): 0.8 as the warning window opens (on track before it, at risk in it),
below 0.2 in its last sixteenth (off track), 0 at the deadline. Status follows the
probability like every other goal's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tracker.core.goals import Bands, Goal
from tracker.core.periods import local_midnight
from tracker.core.verdict import Status

DEFAULT_WARNING = timedelta(days=30)


@dataclass(frozen=True)
class MilestoneVerdict:
    status: Status
    note: str
    fields: dict[str, object] = field(default_factory=dict)


def on_time(left: timedelta, warning: timedelta) -> float:
    """P(done by the deadline) with `left` to go, for a milestone not done yet."""
    if left <= timedelta(0):
        return 0.0
    return left / (left + warning / 4)


def judge_milestone(goal: Goal, done: date | None, now: datetime, tz: ZoneInfo, bands: Bands) -> MilestoneVerdict:
    """Done (a reading on or before the deadline), missed (late, or not done by it), or pending."""
    deadline_end = local_midnight(goal.deadline + timedelta(days=1), tz)
    base: dict[str, object] = dict(target=Decimal(1))
    if done is not None:
        status = Status.ACHIEVED if done <= goal.deadline else Status.MISSED
        return MilestoneVerdict(status, f"done on {done.isoformat()}", {
            **base, "actual": Decimal(1), "attainment": 1.0, "data_through": done,
            "probability": 1.0 if status is Status.ACHIEVED else 0.0})
    if now >= deadline_end:
        return MilestoneVerdict(Status.MISSED, "not done by the deadline",
                                {**base, "actual": Decimal(0), "attainment": 0.0, "probability": 0.0})
    left = deadline_end - now
    probability = on_time(left, goal.warn_before or DEFAULT_WARNING)
    near = goal.warn_before is not None and left <= goal.warn_before
    return MilestoneVerdict(bands.status(probability), f"not done yet; due by {goal.deadline.isoformat()} ({left.days} days left)", {
        **base, "actual": Decimal(0), "attainment": 0.0, "deadline_near": near, "probability": probability})

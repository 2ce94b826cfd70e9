"""The alert lifecycle, as a pure function with named reasons.

`step` moves one alert through Alertmanager's states: inactive -> pending (the condition holds
for less than `for`) -> firing -> resolved, staying firing for `keep_firing_for` after the
condition clears so a flapping goal does not notify on every cycle. It returns the reason,
which is logged and stored. Whether a receiver hears of it is decided per group of alerts
(tracker.core.grouping).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

INACTIVE, PENDING, FIRING, RESOLVED = "inactive", "pending", "firing", "resolved"


@dataclass(frozen=True)
class AlertState:
    state: str = INACTIVE
    active_since: datetime | None = None  # the condition began to hold (start of pending)
    starts_at: datetime | None = None  # the alert fired
    ends_at: datetime | None = None  # the alert resolved
    last_held_at: datetime | None = None  # the condition held, most recently


@dataclass(frozen=True)
class Step:
    state: AlertState
    reason: str

    @property
    def name(self) -> str:
        return self.state.state


def step(
    previous: AlertState, *, holds: bool, for_: timedelta, keep_firing_for: timedelta, now: datetime
) -> Step:
    """The alert's next state after one evaluation in which its condition `holds` or not."""
    if holds:
        return _holding(replace(previous, last_held_at=now), for_, now)
    if previous.state == PENDING:
        return Step(AlertState(INACTIVE, last_held_at=previous.last_held_at), "cleared before for elapsed")
    if previous.state == FIRING:
        held = previous.last_held_at
        if held is not None and held > now:
            # An evaluation as of an earlier time (`evaluate --at` after the daemon's cycle):
            # a condition seen later says nothing about this time, so it does not keep firing.
            return Step(replace(previous, state=RESOLVED, ends_at=now), "resolved (held only after this time)")
        if held is not None and now - held < keep_firing_for:
            return Step(previous, "kept firing (keep_firing_for)")
        return Step(replace(previous, state=RESOLVED, ends_at=now), "resolved")
    return Step(previous, f"still {previous.state}")


def still(state: str, active_since: datetime | None, *, for_: timedelta, now: datetime) -> str | None:
    """The reason `step` gives a held alert in `state` when the step moves nothing but
    `last_held_at` (to `now`), or None when it moves more. What a steady cycle asks of
    every alert that still holds, without building its state (tens of thousands a cycle)."""
    if state == FIRING:
        return "still firing"
    if state == PENDING and not (active_since is not None and now - active_since >= for_):
        return "still pending"
    return None


def _holding(state: AlertState, for_: timedelta, now: datetime) -> Step:
    if state.state == FIRING:
        return Step(state, "still firing")
    if state.state == PENDING:
        if state.active_since is not None and now - state.active_since >= for_:
            return Step(replace(state, state=FIRING, starts_at=now, ends_at=None), "held for the for duration")
        return Step(state, "still pending")
    # inactive or resolved: a new episode begins
    began = replace(state, active_since=now, starts_at=None, ends_at=None)
    if for_ <= timedelta(0):
        return Step(replace(began, state=FIRING, starts_at=now), "condition holds (no for)")
    return Step(replace(began, state=PENDING), "condition began")

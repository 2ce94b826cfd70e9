"""Alert groups as in Alertmanager's dispatcher, as pure functions with named reasons.

A route groups the alerts it takes by the labels in its `group_by` (`["..."]`: every label);
a group is named by a stable key, Alertmanager's `{route}:{labels}`. `needs_notify` decides,
for one group and one receiver, whether a notification goes out now, why, and otherwise when
it could (Alertmanager's dispatch timers and notify/dedup_stage.go `needsUpdate` in one):

- a new group waits `group_wait` from its first firing alert, to collect its siblings;
- a group that changed (an alert added, or resolved while the receiver thinks it fires)
  notifies again no sooner than `group_interval` after the last notification;
- an unchanged group that still fires repeats after `repeat_interval`.

Unlike Alertmanager's ticking timers, a change is sent as soon as `group_interval` has passed
since the last notification, not at the next tick: never sooner, sometimes earlier.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

ALL_LABELS = "..."


@dataclass(frozen=True)
class Timing:
    group_wait: timedelta = timedelta(seconds=30)
    group_interval: timedelta = timedelta(minutes=5)
    repeat_interval: timedelta = timedelta(days=1)


def group_labels(group_by: Sequence[str], labels: Mapping[str, str]) -> dict[str, str]:
    """The labels a group is named by: those of `group_by` the alert has (all with `...`)."""
    if ALL_LABELS in group_by:
        return dict(sorted(labels.items()))
    return {name: labels[name] for name in sorted(set(group_by)) if name in labels}


def group_key(route_key: str, labels: Mapping[str, str]) -> str:
    """Alertmanager's group key: `{}:{business="ev"}` for the root route."""
    return route_key + ":{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def group_id(receiver: str, key: str) -> str:
    """A short stable id of one receiver's group (outbox rows and logs name it)."""
    return hashlib.sha256(f"{receiver}\x00{key}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Told:
    """What the receiver was last told about the group: which alerts fire, which resolved."""

    firing: frozenset[str]
    resolved: frozenset[str]
    at: datetime


@dataclass(frozen=True)
class Members:
    """The group now, without muted alerts: firing ones, and resolved ones the receiver still
    believes fire. `first_firing_at`: when the earliest firing alert began to fire."""

    firing: frozenset[str]
    resolved: frozenset[str]
    first_firing_at: datetime | None = None


@dataclass(frozen=True)
class GroupDecision:
    notify: bool
    reason: str
    record: bool = False  # forget resolved alerts although nothing is sent (send_resolved off)
    due: datetime | None = None  # when it could notify next (a change, or the repeat)

    @property
    def waiting(self) -> bool:
        """Held back by group_wait or group_interval: something new is about to go out."""
        return self.reason.startswith("waiting for")


def needs_notify(
    told: Told | None, members: Members, *, timing: Timing, send_resolved: bool, now: datetime,
    wait: bool = True,
) -> GroupDecision:
    """Whether the receiver gets a notification of the group now, and why (not). `wait`
    False skips group_wait (`tracker run --once`: no later pass would send the group)."""
    if told is None:
        return _first(members, timing, now, wait)
    change = _change(told, members, send_resolved)
    if change is not None:
        due = told.at + timing.group_interval
        if now < due:
            return GroupDecision(False, "waiting for group_interval", due=due)
        if not members.firing and not send_resolved:
            return GroupDecision(False, "send_resolved is off", record=True)
        return GroupDecision(True, change)
    if not members.firing:
        return GroupDecision(False, "nothing firing")
    due = told.at + timing.repeat_interval
    if now >= due:
        return GroupDecision(True, "repeat interval elapsed")
    return GroupDecision(False, "already notified", due=due)


def _first(members: Members, timing: Timing, now: datetime, wait: bool) -> GroupDecision:
    if not members.firing or members.first_firing_at is None:
        return GroupDecision(False, "nothing firing")
    due = members.first_firing_at + timing.group_wait
    if wait and now < due:
        return GroupDecision(False, "waiting for group_wait", due=due)
    return GroupDecision(True, "first notification")


def _change(told: Told, members: Members, send_resolved: bool) -> str | None:
    """The named change since the receiver was last told, or None. Resolved members are
    alerts the receiver still believes fire; with none firing any more, the resolve is a
    change whatever send_resolved says (sent or only recorded, the receiver's view is cleared)."""
    if not members.firing <= told.firing:
        return "new alerts firing"
    if not members.resolved - told.resolved:
        return None
    if not members.firing:
        return "resolved"
    return "alerts resolved" if send_resolved else None


def after_notify(told: Told | None, members: Members, muted_firing: frozenset[str], now: datetime) -> Told:
    """What the receiver believes after a notification of `members`: the firing alerts sent,
    plus muted ones it was told fire earlier (a silence does not make them stop)."""
    earlier = told.firing if told else frozenset()
    return Told(members.firing | (earlier & muted_firing), members.resolved, now)

"""Table-driven tests of the alert lifecycle and the notification (dedup) decision."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tracker.core.lifecycle import AlertState, step

T0 = datetime(2026, 7, 5, tzinfo=timezone.utc)
H = timedelta(hours=1)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.mark.parametrize(
    "previous, holds, for_h, keep_h, now_h, state, reason",
    [
        (AlertState(), True, 0, 0, 0, "firing", "condition holds (no for)"),
        (AlertState(), True, 2, 0, 0, "pending", "condition began"),
        (AlertState("pending", active_since=at(0)), True, 2, 0, 1, "pending", "still pending"),
        (AlertState("pending", active_since=at(0)), True, 2, 0, 2, "firing", "held for the for duration"),
        (AlertState("pending", active_since=at(0)), False, 2, 0, 1, "inactive", "cleared before for elapsed"),
        (AlertState("firing", at(0), at(0), last_held_at=at(0)), True, 0, 0, 1, "firing", "still firing"),
        (AlertState("firing", at(0), at(0), last_held_at=at(1)), False, 0, 0, 2, "resolved", "resolved"),
        (AlertState("firing", at(0), at(0), last_held_at=at(1)), False, 0, 24, 2, "firing",
         "kept firing (keep_firing_for)"),
        (AlertState("firing", at(0), at(0), last_held_at=at(1)), False, 0, 24, 25, "resolved", "resolved"),
        (AlertState("firing", at(3), at(3), last_held_at=at(3)), False, 0, 24, 1, "resolved",
         "resolved (held only after this time)"),
        (AlertState("resolved", at(0), at(0), at(2)), False, 0, 0, 3, "resolved", "still resolved"),
        (AlertState("resolved", at(0), at(0), at(2)), True, 0, 0, 3, "firing", "condition holds (no for)"),
        (AlertState("inactive"), False, 0, 0, 3, "inactive", "still inactive"),
    ],
    ids=["fire-at-once", "pending", "still-pending", "for-elapsed", "pending-cleared", "still-firing", "resolve",
         "keep-firing", "keep-firing-over", "held-only-later", "still-resolved", "refire", "still-inactive"],
)
def test_step(previous, holds, for_h, keep_h, now_h, state, reason) -> None:  # type: ignore[no-untyped-def]
    moved = step(previous, holds=holds, for_=for_h * H, keep_firing_for=keep_h * H, now=at(now_h))
    assert (moved.name, moved.reason) == (state, reason)


def test_step_keeps_the_times_an_alert_reports() -> None:
    pending = step(AlertState(), holds=True, for_=2 * H, keep_firing_for=0 * H, now=at(0)).state
    firing = step(pending, holds=True, for_=2 * H, keep_firing_for=0 * H, now=at(2)).state
    resolved = step(firing, holds=False, for_=2 * H, keep_firing_for=0 * H, now=at(5)).state
    assert (firing.active_since, firing.starts_at, firing.ends_at) == (at(0), at(2), None)
    assert (resolved.starts_at, resolved.ends_at, resolved.last_held_at) == (at(2), at(5), at(2))
    again = step(resolved, holds=True, for_=0 * H, keep_firing_for=0 * H, now=at(6)).state
    assert (again.state, again.active_since, again.starts_at, again.ends_at) == ("firing", at(6), at(6), None)

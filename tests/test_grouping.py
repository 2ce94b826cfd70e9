"""Group timing and keys, table-driven on injected times: group_wait for a new group,
group_interval for a changed one, repeat_interval for an unchanged one, and resolves inside
a group (tracker.core.grouping.needs_notify)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tracker.core.grouping import Members, Told, after_notify, group_key, group_labels, needs_notify

T0 = datetime(2026, 7, 5, tzinfo=timezone.utc)
S = timedelta(seconds=1)
TIMING = dict(group_wait=30 * S, group_interval=300 * S, repeat_interval=3600 * S)


def at(seconds: float) -> datetime:
    return T0 + seconds * S


def told(firing: str = "", resolved: str = "", when: float = 0) -> Told:
    return Told(frozenset(firing), frozenset(resolved), at(when))


def members(firing: str = "", resolved: str = "", first: float | None = 0) -> Members:
    return Members(frozenset(firing), frozenset(resolved), None if first is None or not firing else at(first))


@pytest.mark.parametrize(
    "last, now_members, now, send_resolved, notify, reason, due",
    [
        # a new group waits group_wait from its first firing alert
        (None, members("ab"), 0, True, False, "waiting for group_wait", 30),
        (None, members("ab"), 29, True, False, "waiting for group_wait", 30),
        (None, members("ab"), 30, True, True, "first notification", None),
        (None, members("ab", first=-100), 0, True, True, "first notification", None),
        (None, members(""), 100, True, False, "nothing firing", None),
        # unchanged: repeat_interval after the last notification
        (told("ab"), members("ab"), 3599, True, False, "already notified", 3600),
        (told("ab"), members("ab"), 3600, True, True, "repeat interval elapsed", None),
        (told("ab"), members("a"), 10, True, False, "already notified", 3600),  # b muted: not a change
        # changed: no sooner than group_interval after the last notification
        (told("a"), members("ab"), 299, True, False, "waiting for group_interval", 300),
        (told("a"), members("ab"), 300, True, True, "new alerts firing", None),
        (told("a"), members("ab"), 5000, True, True, "new alerts firing", None),
        # a resolve inside a group that still fires
        (told("ab"), members("a", "b"), 100, True, False, "waiting for group_interval", 300),
        (told("ab"), members("a", "b"), 300, True, True, "alerts resolved", None),
        (told("ab"), members("a", "b"), 300, False, False, "already notified", 3600),
        (told("ab"), members("a", "b"), 3600, False, True, "repeat interval elapsed", None),
        # the last alert of the group resolves
        (told("b"), members("", "b"), 300, True, True, "resolved", None),
        (told("b"), members("", "b"), 300, False, False, "send_resolved is off", None),
        (told("b"), members("", "b"), 10, True, False, "waiting for group_interval", 300),
        (told("b"), members(""), 5000, True, False, "nothing firing", None),  # b muted and firing still
    ],
)
def test_needs_notify(last, now_members, now, send_resolved, notify, reason, due) -> None:  # type: ignore[no-untyped-def]
    decision = needs_notify(last, now_members, timing=_timing(), send_resolved=send_resolved, now=at(now))
    assert (decision.notify, decision.reason) == (notify, reason)
    assert decision.due == (None if due is None else at(due))


def _timing():  # type: ignore[no-untyped-def]
    from tracker.core.grouping import Timing

    return Timing(**TIMING)


def test_send_resolved_off_records_the_resolve_and_once_skips_group_wait() -> None:
    off = needs_notify(told("b"), members("", "b"), timing=_timing(), send_resolved=False, now=at(300))
    assert off.record and not off.notify
    once = needs_notify(None, members("a"), timing=_timing(), send_resolved=True, now=at(0), wait=False)
    assert (once.notify, once.reason) == (True, "first notification")


def test_after_notify_keeps_what_the_receiver_believes() -> None:
    """Sent alerts replace what it was told; a muted one it was told fires is still believed."""
    believed = after_notify(told("abc"), members("a", "b"), frozenset("c"), at(9))
    assert believed == Told(frozenset("ac"), frozenset("b"), at(9))
    assert after_notify(None, members("a"), frozenset("z"), at(1)).firing == frozenset("a")


def test_a_group_over_a_day_of_cycles() -> None:
    """Alert a fires, b joins, a resolves, b resolves: four notifications, each when due."""
    state, sent = None, []
    timeline = [(0, "a", ""), (10, "a", ""), (30, "a", ""), (60, "ab", ""), (330, "ab", ""),
                (400, "b", "a"), (630, "b", "a"), (700, "b", ""), (4000, "", "b"), (4300, "", "b")]
    for now, firing, resolved in timeline:
        group = Members(frozenset(firing), frozenset(resolved), at(0) if firing else None)
        decision = needs_notify(state, group, timing=_timing(), send_resolved=True, now=at(now))
        if decision.notify:
            sent.append((now, decision.reason))
            state = after_notify(state, group, frozenset(), at(now))
    assert sent == [(30, "first notification"), (330, "new alerts firing"), (630, "alerts resolved"),
                    (4000, "resolved")]


@pytest.mark.parametrize(
    "group_by, key, labels",
    [
        (("business",), '{}:{business="ev"}', {"business": "ev"}),
        (("goal", "alertname"), '{}:{alertname="off-track", goal="g"}', {"alertname": "off-track", "goal": "g"}),
        (("team",), "{}:{}", {}),  # an absent label: the group of everything without it
        (("...",), '{}:{alertname="off-track", business="ev", goal="g"}',
         {"alertname": "off-track", "business": "ev", "goal": "g"}),
    ],
)
def test_group_labels_and_key(group_by, key, labels) -> None:  # type: ignore[no-untyped-def]
    alert = {"goal": "g", "business": "ev", "alertname": "off-track"}
    assert group_labels(group_by, alert) == labels
    assert group_key("{}", group_labels(group_by, alert)) == key

"""Inhibition and silences as pure functions, on injected times: the shipped inhibit rules,
`equal` as in Alertmanager, and which silence mutes what."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tracker.core.inhibition import Firing, InhibitRule, SilenceRule, default_inhibit_rules, inhibited, silenced_by
from tracker.core.matchers import parse_all

T0 = datetime(2026, 7, 5, tzinfo=timezone.utc)
H = timedelta(hours=1)


def goal_alert(rule: str, goal: str = "ev", **labels: str) -> Firing:
    return Firing(f"{rule}/{goal}", {"alertname": rule, "goal": goal, "business": "ev", **labels}, f"{rule} goal:{goal}")


def source_alert(name: str, metric: str | None) -> Firing:
    labels = {"alertname": "source-failing", "source": name, **({"metric": metric} if metric else {})}
    return Firing(f"source/{name}", labels, f"source-failing source:{name}")


@pytest.mark.parametrize(
    "alerts, expected",
    [
        ([goal_alert("missed"), goal_alert("off-track"), goal_alert("at-risk"), goal_alert("stale-metric", metric="m")],
         {"off-track/ev": "missed", "at-risk/ev": "missed", "stale-metric/ev": "missed"}),
        ([goal_alert("off-track"), goal_alert("at-risk")], {"at-risk/ev": "off-track"}),
        ([goal_alert("off-track", "ev"), goal_alert("at-risk", "phone")], {}),  # another goal: not inhibited
        ([goal_alert("missed", "ev"), goal_alert("off-track", "phone")], {}),
        ([goal_alert("at-risk"), goal_alert("stale-metric", metric="m")], {}),
        ([source_alert("feed", "m"), goal_alert("stale-metric", metric="m")], {"stale-metric/ev": "source-failing"}),
        ([source_alert("feed", "other"), goal_alert("stale-metric", metric="m")], {}),
        ([source_alert("drop", None), goal_alert("stale-metric", metric="m")], {}),  # feeds no named metric
        ([goal_alert("missed")], {}),
    ],
    ids=["missed-mutes-three", "off-track-mutes-at-risk", "other-goal", "missed-other-goal", "no-cause",
         "source-mutes-its-metric", "source-other-metric", "source-without-metric", "alone"],
)
def test_shipped_inhibit_rules(alerts: list[Firing], expected: dict[str, str]) -> None:
    found = inhibited(alerts, default_inhibit_rules())
    assert {fp: reason.split()[2] for fp, reason in found.items()} == expected
    for fp, reason in found.items():
        assert reason.startswith(f"inhibited by {expected[fp]} ")


def test_equal_counts_absent_on_both_as_equal_and_an_alert_never_inhibits_itself() -> None:
    rule = InhibitRule(source_match=parse_all(['severity="critical"']), target_match=parse_all(['severity=~".*"']),
                       equal=("team",))
    loud = Firing("a", {"severity": "critical"})
    quiet = Firing("b", {"severity": "warning"})
    other_team = Firing("c", {"severity": "warning", "team": "x"})
    assert inhibited([loud, quiet, other_team], [rule]) == {"b": "inhibited by a"}


def test_silence_matches_while_active_and_the_longest_wins() -> None:
    short = SilenceRule("s1", parse_all(['business="ev"']), T0 + H, T0)
    long = SilenceRule("s2", parse_all(['goal=~"ev-.*"']), T0 + 5 * H, T0)
    later = SilenceRule("s3", parse_all(['business="ev"']), T0 + 9 * H, T0 + 2 * H)
    labels = {"business": "ev", "goal": "ev-deliveries-2026"}
    assert silenced_by([short, long, later], labels, T0) is long
    assert silenced_by([short, later], labels, T0 + H) is None  # s1 ended, s3 not begun
    assert silenced_by([short, later], labels, T0 + 2 * H) is later
    assert silenced_by([short, long], {"business": "phone"}, T0) is None

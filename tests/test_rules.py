from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.alerting_helpers import EV, evaluation
from tracker.core.rules import Rule, SourceHealth, cap_severity, defaults, fingerprint, goal_matches, source_matches
from tracker.core.verdict import Status


def names(matches) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return sorted((m.rule, m.severity, m.why) for m in matches)


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"status": Status.ON_TRACK}, []),
        ({"status": Status.OFF_TRACK}, [("off-track", "critical", "status is off_track")]),
        ({"status": Status.AT_RISK}, [("at-risk", "warning", "status is at_risk")]),
        ({"status": Status.MISSED}, [("missed", "critical", "period closed with the target missed")]),
        ({"status": Status.NO_DATA}, []),
        (
            {"status": Status.ON_TRACK, "stale": True, "stale_metrics": ("ev_deliveries",)},
            [("stale-metric", "warning", "no actual on time for ev_deliveries")],
        ),
        ({"status": Status.ON_TRACK, "deadline_near": True}, [("deadline-near", "warning", "deadline is near")]),
        ({"status": Status.ACHIEVED, "deadline_near": True}, []),
        (
            {"status": Status.AT_RISK, "stale": True},
            [("at-risk", "warning", "status is at_risk"), ("stale-metric", "warning", "no actual on time for a metric")],
        ),
    ],
    ids=["on-track", "off-track", "at-risk", "missed", "no-data", "stale", "deadline-near", "achieved-near", "two"],
)
def test_default_rules_name_why_they_hold(changes, expected) -> None:  # type: ignore[no-untyped-def]
    assert names(goal_matches([evaluation(**changes)], defaults())) == expected


@pytest.mark.parametrize(
    "severity, cap, expected",
    [("critical", None, "critical"), ("critical", "info", "info"), ("warning", "critical", "warning"),
     ("critical", "warning", "warning"), ("info", "warning", "info")],
    ids=["no-cap", "info-caps-critical", "cap-above", "warning-caps-critical", "info-under-cap"],
)
def test_goal_severity_caps_rule_severity(severity: str, cap: str | None, expected: str) -> None:
    assert cap_severity(severity, cap) == expected


def test_informational_goal_never_critical() -> None:
    found = goal_matches([evaluation(Status.OFF_TRACK)], defaults(), {EV: "info"})
    assert [(m.rule, m.severity, m.labels["severity"]) for m in found] == [("off-track", "info", "info")]


@pytest.mark.parametrize(
    "match, applies",
    [({}, True), ({"business": "ev"}, True), ({"business": "phone"}, False), ({"goal": EV}, True),
     ({"goal": "other"}, False), ({"business": "ev", "headline": "false"}, False)],
    ids=["everything", "label", "other-label", "goal-id", "other-goal", "all-must-match"],
)
def test_rules_match_goal_labels_and_id(match: dict, applies: bool) -> None:
    rule = Rule(name="ev-only", condition="off_track", severity="warning", match=match)
    assert bool(goal_matches([evaluation(Status.OFF_TRACK)], [rule])) is applies


def test_disabled_rule_never_holds() -> None:
    rule = Rule(name="off-track", condition="off_track", severity="critical", enabled=False)
    assert goal_matches([evaluation(Status.OFF_TRACK)], [rule]) == []


def test_match_carries_actionable_summary_labels_and_stable_fingerprint() -> None:
    (match,) = goal_matches([evaluation(Status.OFF_TRACK)], defaults())
    assert match.summary.startswith("EV deliveries 2026: projected 481,200 of 550,000 (87%)")
    assert match.labels == {"business": "ev", "headline": "true", "goal": EV, "alertname": "off-track",
                            "severity": "critical"}
    assert match.subject == f"goal:{EV}"
    assert match.fingerprint == fingerprint(f"goal:{EV}", "off-track") != fingerprint(f"goal:{EV}", "at-risk")
    assert match.evaluation["status"] == "off_track"


SINCE = datetime(2026, 7, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "failures, threshold, fires",
    [(0, 3, False), (2, 3, False), (3, 3, True), (7, 3, True), (1, 1, True)],
    ids=["healthy", "below", "at-threshold", "above", "threshold-one"],
)
def test_source_failing_holds_from_threshold(failures: int, threshold: int, fires: bool) -> None:
    record = SourceHealth("ev-monthly", failures, threshold, "HTTP 502", SINCE)
    found = source_matches([record], defaults())
    assert [m.rule for m in found] == (["source-failing"] if fires else [])
    if fires:
        assert found[0].subject == "source:ev-monthly"
        assert found[0].labels["source"] == "ev-monthly"
        assert "HTTP 502" in found[0].summary and SINCE.isoformat() in found[0].summary


def test_goal_rules_ignore_sources_and_source_rules_ignore_goals() -> None:
    assert source_matches([SourceHealth("s", 5, 3)], [r for r in defaults() if r.condition != "source_failing"]) == []
    assert all(m.condition != "source_failing" for m in goal_matches([evaluation()], defaults()))


def test_summary_without_evaluator_text_still_has_numbers() -> None:
    from decimal import Decimal

    ev = evaluation(Status.OFF_TRACK, summary="", projected=Decimal(481200), target=Decimal(550000),
                    projected_attainment=0.875, required_rate=Decimal(58400), rate_unit="month")
    (match,) = goal_matches([ev], defaults())
    assert match.summary == ("EV deliveries 2026: off track; projected 481,200 of 550,000 (88%); "
                             "needs 58,400 a month for the rest of the period")


def test_stale_summary_names_the_late_metrics() -> None:
    from datetime import date

    ev = evaluation(Status.ON_TRACK, stale=True, stale_metrics=("ev_deliveries",), data_through=date(2026, 5, 31))
    (match,) = goal_matches([ev], defaults())
    assert match.summary == (
        "EV deliveries 2026: ev_deliveries is late (data through 2026-05-31); projected 481,200 of 550,000 (87%); "
        "needs 58,400 a month for the rest of the year"
    )


def test_stale_summary_of_an_empty_window_does_not_claim_nothing_was_recorded() -> None:
    """A quarterly goal's new instance has no data yet while the last quarter's is late: the
    metric has data (earlier quarters), so "nothing recorded" would be false."""
    ev = evaluation(Status.NO_DATA, stale=True, stale_metrics=("ev_deliveries",), data_through=None,
                    summary="EV deliveries 2026: no data: nothing recorded for 2026-Q4 yet; "
                            "late data: ev_deliveries (2026-Q3)")
    match = next(m for m in goal_matches([ev], defaults()) if m.condition == "stale")
    assert match.summary == ("EV deliveries 2026: ev_deliveries is late; no data: nothing recorded for 2026-Q4 "
                             "yet; late data: ev_deliveries (2026-Q3)")

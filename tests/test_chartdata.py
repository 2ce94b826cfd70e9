"""What each goal's chart shows, checked as numbers (tracker.views.chartdata is pure)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from tests.reportkit import AS_OF, made_up
from tracker.core.periods import Period
from tracker.core.readings import Reading
from tracker.core.verdict import Status
from tracker.views.chartdata import chart_data


def readings(metric: str, *pairs: tuple[str, str]) -> dict[str, list[Reading]]:
    return {metric: [Reading(metric, Period.parse(p), Decimal(v), AS_OF) for p, v in pairs]}


def ratio_readings(goal, *rows: tuple[str, str, str]) -> dict[str, list[Reading]]:  # type: ignore[no-untyped-def]
    out = readings(goal.numerator, *[(p, n) for p, n, _ in rows])
    out.update(readings(goal.denominator, *[(p, d) for p, _, d in rows]))
    return out


def half_pace(at: datetime) -> float:
    return 0.5


def test_cumulative_sums_from_zero_and_projects_to_the_end(catalog):
    goal = catalog.goal("ev-deliveries-2026")
    e = made_up(catalog, goal.id, Status.AT_RISK, target=550000, projected=500000)
    data = chart_data(goal, e, readings("ev_deliveries", ("2026-01", "30000"), ("2026-02", "26000")),
                      catalog.timezone, half_pace)
    assert data.shape == "progress"
    assert data.actual == ((date(2026, 1, 1), 0.0), (date(2026, 2, 1), 30000.0), (date(2026, 3, 1), 56000.0))
    assert data.projection == ((date(2026, 3, 1), 56000.0), (date(2027, 1, 1), 500000.0))
    assert data.targets == ((date(2026, 1, 1), 550000.0),)
    # sampled at the window's ends and each month start: 13 points, each target x share due
    assert [day for day, _ in data.pace] == [date(2026, m, 1) for m in range(1, 13)] + [date(2027, 1, 1)]
    assert {value for _, value in data.pace} == {275000.0}


def test_readings_outside_the_window_are_left_out(catalog):
    goal = catalog.goal("ev-deliveries-2026")
    e = made_up(catalog, goal.id, Status.ON_TRACK, target=550000)
    data = chart_data(goal, e, readings("ev_deliveries", ("2025-12", "53000"), ("2026-01", "30000")),
                      catalog.timezone, half_pace)
    assert data.actual[-1] == (date(2026, 2, 1), 30000.0)
    assert data.projection is None  # no projected value, no projection line


def test_pace_is_sampled_at_local_month_starts(catalog):
    goal = catalog.goal("ev-deliveries-2026")
    seen: list[datetime] = []
    chart_data(goal, made_up(catalog, goal.id, Status.NO_DATA), {}, catalog.timezone,
               lambda at: seen.append(at) or 0.0)
    # midnight in Asia/Shanghai is 16:00 UTC the day before
    assert seen[0] == datetime(2025, 12, 31, 16, tzinfo=timezone.utc)
    assert seen[-1] == datetime(2026, 12, 31, 16, tzinfo=timezone.utc)


def test_level_starts_from_its_baseline(catalog):
    goal = catalog.goal("home-stores-2026")
    e = made_up(catalog, goal.id, Status.ON_TRACK, target=1000, projected=1100)
    data = chart_data(goal, e, readings("home_stores", ("2026-01", "540"), ("2026-02", "580")),
                      catalog.timezone, half_pace)
    assert data.actual == ((date(2026, 2, 1), 540.0), (date(2026, 3, 1), 580.0))  # the latest reading, not a sum
    assert data.baseline == 500.0
    assert {value for _, value in data.pace} == {750.0}  # 500 + (1000 - 500) * 0.5


def test_target_revisions_are_steps_and_marks(catalog):
    goal = catalog.goal("ev-deliveries-2025")
    e = made_up(catalog, goal.id, Status.ACHIEVED, datetime(2026, 1, 5, tzinfo=timezone.utc), target=400000)
    data = chart_data(goal, e, {}, catalog.timezone, lambda at: 1.0)
    assert data.targets == ((date(2025, 1, 1), 300000.0), (date(2025, 3, 1), 350000.0), (date(2025, 12, 1), 400000.0))
    assert [(r.effective, r.value) for r in data.revisions] == [(date(2025, 3, 1), 350000.0), (date(2025, 12, 1), 400000.0)]
    # the pace line follows the target in force on each day
    pace = dict(data.pace)
    assert pace[date(2025, 2, 1)] == 300000.0 and pace[date(2025, 3, 1)] == 350000.0 and pace[date(2026, 1, 1)] == 400000.0


def test_running_ratio_is_a_ratio_of_sums(catalog):
    goal = catalog.goal("phone-gross-margin-2026")
    e = made_up(catalog, goal.id, Status.ON_TRACK, target="0.08", projected="0.0725")
    data = chart_data(goal, e, ratio_readings(goal, ("2026-Q1", "10", "100"), ("2026-Q2", "45", "900"),
                                              ("2025-Q4", "50", "100")), catalog.timezone, half_pace)
    assert data.shape == "running"
    # (10 + 45) / (100 + 900) = 5.5%, not the mean of 10% and 5%
    assert data.actual == ((date(2026, 4, 1), 0.1), (date(2026, 7, 1), 0.055))
    assert data.projection == ((date(2026, 7, 1), 0.055), (date(2027, 1, 1), 0.0725))


def test_a_period_without_its_denominator_is_skipped(catalog):
    goal = catalog.goal("phone-gross-margin-2026")
    rows = ratio_readings(goal, ("2026-Q1", "10", "100"))
    rows[goal.numerator].append(Reading(goal.numerator, Period.parse("2026-Q2"), Decimal(5), AS_OF))
    data = chart_data(goal, made_up(catalog, goal.id, Status.ON_TRACK), rows, catalog.timezone, half_pace)
    assert data.actual == ((date(2026, 4, 1), 0.1),)


@pytest.mark.parametrize(
    ("goal_id", "rows", "expected"),
    [
        pytest.param(
            "ai-code-share",
            [("2026-Q1", "30", "100"), ("2026-Q2", "20", "100")],
            [("2026-Q1", 0.3, 0.3, False), ("2026-Q2", 0.2, 0.3, False), ("2026-Q3", None, 0.3, True)],
            id="ratio-fixed-target-empty-history-trimmed",
        ),
        pytest.param(
            "china-share-yearly",
            [("2024-Q4", "14", "100"), ("2025-Q1", "15", "100"), ("2026-Q1", "16", "100")],
            [("2024", 0.14, None, False), ("2025", 0.15, 0.15, False), ("2026", 0.16, 0.1612, True)],
            id="delta-target-is-previous-plus-delta",
        ),
    ],
)
def test_recurring_goals_show_one_bar_per_period(catalog, goal_id, rows, expected):
    goal = catalog.goal(goal_id)
    e = made_up(catalog, goal.id, Status.ON_TRACK, target="0.1612" if goal_id == "china-share-yearly" else "0.3")
    data = chart_data(goal, e, ratio_readings(goal, *rows), catalog.timezone, half_pace)
    assert data.shape == "instances"
    got = [(b.label, b.value, b.target, b.current) for b in data.bars]
    assert got == [(label, pytest.approx(v) if v else v, pytest.approx(t) if t else t, c) for label, v, t, c in expected]


def test_recurring_history_is_capped(catalog):
    goal = catalog.goal("ai-code-share")
    rows = [(f"{y}-Q{q}", "1", "10") for y in (2023, 2024, 2025, 2026) for q in (1, 2, 3, 4)]
    data = chart_data(goal, made_up(catalog, goal.id, Status.ON_TRACK), ratio_readings(goal, *rows),
                      catalog.timezone, half_pace)
    assert [b.label for b in data.bars] == ["2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1",
                                            "2026-Q2", "2026-Q3"]


@pytest.mark.parametrize(
    ("rows", "happened"),
    [pytest.param([], None, id="not-yet"), pytest.param([("2026-09-15", "1")], date(2026, 9, 15), id="done")],
)
def test_milestone(catalog, rows, happened):
    goal = catalog.goal("third-ev-model-h2-2026")
    data = chart_data(goal, made_up(catalog, goal.id, Status.ON_TRACK), readings(goal.metric, *rows),
                      catalog.timezone, half_pace)
    assert (data.shape, data.deadline, data.happened) == ("milestone", date(2026, 12, 31), happened)
    assert data.warn_from == date(2026, 11, 16)  # 45 days before the deadline
    assert data.start == date(2026, 7, 1) and data.end == date(2027, 1, 1)

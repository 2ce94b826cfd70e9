"""Table-driven tests of the judgement, with expectations computed by hand in the ids/comments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.evalkit import local, months, quarters, readings
from tracker.core.evaluation import evaluate, pace
from tracker.core.goals import Bands
from tracker.core.summary import likelihood
from tracker.core.verdict import Status

EV = "ev_deliveries"
CASES = [
    # goal, readings, as-of (Shanghai), status, actual, expected, data_through; while a window
    # is open the status is the forecast's (on track from p 0.8, off track below 0.2)
    pytest.param(
        # 3 April, Jan+Feb only: judged through February; w = (6+6)/100 = 0.12; 94% of plan
        "ev-deliveries-2026", readings(ev_deliveries={"2026-01": "30000", "2026-02": "32000"}), "2026-04-03",
        Status.AT_RISK, "62000", "66000", date(2026, 2, 28), id="late-march-is-not-zero",
    ),
    pytest.param(
        # a third above the plan through June (plan: 33,000 33,000 38,500 38,500 44,000 44,000)
        "ev-deliveries-2026",
        readings(ev_deliveries=months(2026, ["44000", "44000", "51300", "51300", "58700", "58700"])),
        "2026-07-05", Status.ON_TRACK, "308000", "231000", date(2026, 6, 30), id="ahead-of-the-ramp",
    ),
    pytest.param(
        # at 60% of the plan through March
        "ev-deliveries-2026", readings(ev_deliveries={"2026-01": "20000", "2026-02": "20000", "2026-03": "23000"}),
        "2026-04-03", Status.OFF_TRACK, "63000", "104500", date(2026, 3, 31), id="behind-the-ramp",
    ),
    pytest.param(
        # a May figure is in the future on 3 April: ignored
        "ev-deliveries-2026", readings(ev_deliveries={"2026-01": "30000", "2026-02": "32000", "2026-05": "900000"}),
        "2026-04-03", Status.AT_RISK, "62000", "66000", date(2026, 2, 28), id="future-ignored",
    ),
    pytest.param(
        "ev-deliveries-2026", readings(ev_deliveries={}), "2026-04-03", Status.NO_DATA, None, None, None,
        id="no-data-is-not-zero",
    ),
    pytest.param(
        # 2025 closed with exactly the year-end target 400,000: equality meets at_least
        "ev-deliveries-2025", readings(ev_deliveries=months(2025, ["40000"] * 10 + ["0", "0"])), "2026-01-15",
        Status.ACHIEVED, "400000", "400000", date(2025, 12, 31), id="equality-meets-at-least",
    ),
    pytest.param(
        "ev-deliveries-2025", readings(ev_deliveries=months(2025, ["40000"] * 10 + ["0", "-1"])), "2026-01-15",
        Status.MISSED, "399999", "400000", date(2025, 12, 31), id="one-short-is-missed",
    ),
    pytest.param(
        # a 2026-12 actual counts toward 2026: at 00:30 on 1 Jan 2027 local the year is closed and complete
        "ev-deliveries-2026", readings(ev_deliveries=months(2026, ["45834"] * 12)), "2027-01-01T00:30",
        Status.ACHIEVED, "550008", "550000", date(2026, 12, 31), id="december-counts-toward-its-year",
    ),
    pytest.param(
        # level: June on the linear plan (w = 181/365, E = 500 + 500w = 747.95): a coin toss
        "home-stores-2026", readings(home_stores={"2026-06": "750"}), "2026-07-05",
        Status.AT_RISK, "750", "747.95", date(2026, 6, 30), id="level-on-the-plan",
    ),
    pytest.param(
        "home-stores-2026", readings(home_stores={"2026-06": "900"}), "2026-07-05",
        Status.ON_TRACK, "900", "747.95", date(2026, 6, 30), id="level-ahead",
    ),
    pytest.param(
        "home-stores-2026", readings(home_stores={"2026-06": "600"}), "2026-07-05",
        Status.OFF_TRACK, "600", "747.95", date(2026, 6, 30), id="level-behind",
    ),
    pytest.param(
        # quarterly margins 10%, 10%, 10%, 3%: mean 8.25% but 60/1300 = 4.6% for the year: missed
        "phone-gross-margin-2026",
        readings(phone_gross_profit=quarters(2026, ["10", "10", "10", "30"]),
                 phone_revenue=quarters(2026, ["100", "100", "100", "1000"])),
        "2027-03-01", Status.MISSED, "0.046154", "0.08", date(2026, 12, 31), id="ratio-of-sums",
    ),
    pytest.param(
        # share 2025 = 40/280 = 14.29%; target 15.29%; 2026-Q1 11/70 = 15.71%: one quarter in
        "china-share-yearly",
        readings(china_phone_shipments_xiaomi={**quarters(2025, ["10"] * 4), "2026-Q1": "11"},
                 china_phone_shipments_market={**quarters(2025, ["70"] * 4), "2026-Q1": "70"}),
        "2026-05-01", Status.AT_RISK, "0.157143", "0.152857", date(2026, 3, 31), id="delta-plus-one-point",
    ),
    pytest.param(
        # baseline year incomplete (no 2025-Q4): no verdict rather than a wrong one
        "china-share-yearly",
        readings(china_phone_shipments_xiaomi={**quarters(2025, ["10"] * 3), "2026-Q1": "11"},
                 china_phone_shipments_market={**quarters(2025, ["70"] * 3), "2026-Q1": "70"}),
        "2026-05-01", Status.NO_DATA, None, None, None, id="delta-baseline-incomplete",
    ),
    pytest.param(
        # ASP 2025 = 1250; 2026 the same: `above` is not met by equality
        "phone-asp-2026",
        readings(phone_revenue=quarters(2025, ["50000"] * 4) | quarters(2026, ["50000"] * 4),
                 phone_shipments=quarters(2025, ["40"] * 4) | quarters(2026, ["40"] * 4)),
        "2027-03-01", Status.MISSED, "1250", "1250", date(2026, 12, 31), id="above-equal-is-missed",
    ),
    pytest.param(
        "phone-asp-2026",
        readings(phone_revenue=quarters(2025, ["50000"] * 4) | quarters(2026, ["50100"] * 4),
                 phone_shipments=quarters(2025, ["40"] * 4) | quarters(2026, ["40"] * 4)),
        "2027-03-01", Status.ACHIEVED, "1252.5", "1250", date(2026, 12, 31), id="above-higher-is-achieved",
    ),
    pytest.param(
        # margin 2025 = 2000/10000 = 20%; 2026 also 20%: at_least is met by equality
        "aiot-gross-margin-2026",
        readings(aiot_gross_profit=quarters(2025, ["500"] * 4) | quarters(2026, ["600"] * 4),
                 aiot_revenue=quarters(2025, ["2500"] * 4) | quarters(2026, ["3000"] * 4)),
        "2027-03-01", Status.ACHIEVED, "0.2", "0.2", date(2026, 12, 31), id="threshold-baseline-equal",
    ),
    pytest.param(
        # recurring quarter: on 10 April Q2 has no data, so Q1's verdict shows (30% exactly: achieved)
        "ai-code-share", readings(ai_generated_lines={"2026-Q1": "300"}, total_code_lines={"2026-Q1": "1000"}),
        "2026-04-10", Status.ACHIEVED, "0.3", "0.3", date(2026, 3, 31), id="recurring-shows-last-instance",
    ),
]


@pytest.mark.parametrize("goal_id, data, at, status, actual, expected, through", CASES)
def test_judgement(catalog, goal_id, data, at, status, actual, expected, through):
    result = evaluate(catalog.goal(goal_id), catalog=catalog, readings=data, now=local(at))
    assert result.status is status, result.summary
    for got, want in ((result.actual, actual), (result.expected, expected)):
        assert (got is None) if want is None else round(got, 6) == pytest.approx(Decimal(want), abs=Decimal("0.01"))
    assert result.data_through == through
    if result.probability is not None and status not in (Status.ACHIEVED, Status.MISSED):
        assert Bands().status(result.probability) is status
        assert result.projected_low <= result.projected <= result.projected_high
    if status in (Status.ACHIEVED, Status.MISSED):  # graded: the measure is what it is
        assert result.projected == result.projected_low == result.projected_high == result.actual
        assert result.probability == (1.0 if status is Status.ACHIEVED else 0.0)


def test_the_projection_reads_the_plan_not_the_calendar(catalog):
    """On the plan's ramp through February, the projection is near the target (a linear
    reading of 62,000 in two months would say 372,000)."""
    result = evaluate(catalog.goal("ev-deliveries-2026"), catalog=catalog, now=local("2026-04-03"),
                      readings=readings(ev_deliveries={"2026-01": "33000", "2026-02": "33000"}))
    assert 480000 < result.projected < 620000 and 0.2 <= result.probability < 0.8


def test_target_revision_changes_the_verdict_from_its_date(catalog):
    """Jan+Feb 30,000 each: the same actuals judged on 28 February (300,000 in force) and on
    1 March (350,000): the odds fall with the target, the verdict never gets better."""
    data = readings(ev_deliveries={"2025-01": "30000", "2025-02": "30000"})
    goal = catalog.goal("ev-deliveries-2025")
    before, after = (evaluate(goal, catalog=catalog, readings=data, now=local(at)) for at in ("2025-02-28", "2025-03-01"))
    assert (before.target, after.target) == (Decimal(300000), Decimal(350000))
    assert before.probability > after.probability
    rank = [Status.OFF_TRACK, Status.AT_RISK, Status.ON_TRACK]
    assert rank.index(after.status) <= rank.index(before.status)


@pytest.mark.parametrize(
    "at, data, status, near",
    [
        ("2026-11-01", {}, Status.ON_TRACK, False),  # 61 days left: p = 61 / (61 + 45/4) = 0.84
        ("2026-11-17", {}, Status.ON_TRACK, True),  # 45 days before the end of 31 Dec: p = 0.8
        ("2026-12-10", {}, Status.AT_RISK, True),
        ("2026-12-31T23:59", {}, Status.OFF_TRACK, True),
        ("2027-01-01", {}, Status.MISSED, False),
        ("2026-11-20", {"2026-09-15": "1"}, Status.ACHIEVED, False),
        ("2027-02-01", {"2027-01-03": "1"}, Status.MISSED, False),  # done, but late
        ("2026-09-01", {"2026-09-15": "1"}, Status.ON_TRACK, False),  # a future day is not seen
    ],
    ids=["pending", "warn-window-opens", "in-the-warning", "last-minute", "missed", "done", "done-late",
         "future-unseen"],
)
def test_milestone(catalog, at, data, status, near):
    result = evaluate(
        catalog.goal("third-ev-model-h2-2026"), catalog=catalog,
        readings=readings(third_ev_model_delivered=data), now=local(at),
    )
    assert (result.status, result.deadline_near) == (status, near)


@pytest.mark.parametrize(
    "at, data, stale",
    [
        ("2026-04-10T23:00", {"2026-01": "1", "2026-02": "1"}, False),  # March due from 11 April
        ("2026-04-11T00:00", {"2026-01": "1", "2026-02": "1"}, True),
        ("2026-04-11T00:00", {"2026-01": "1", "2026-02": "1", "2026-03": "1"}, False),
    ],
    ids=["within-grace", "grace-over", "arrived"],
)
def test_staleness(catalog, at, data, stale):
    result = evaluate(catalog.goal("ev-deliveries-2026"), catalog=catalog,
                      readings=readings(ev_deliveries=data), now=local(at))
    assert result.stale is stale
    assert result.stale_metrics == (("ev_deliveries",) if stale else ())


def test_metric_without_grace_is_never_stale(catalog):
    result = evaluate(catalog.goal("europe-ev-export-2027"), catalog=catalog, readings={}, now=local("2027-06-01"))
    assert result.stale is False


@pytest.mark.parametrize(
    "goal_id, at, share",
    [
        ("ev-deliveries-2026", "2026-07-01", 0.42),  # (6+6+7+7+8+8)/100
        ("ev-deliveries-2026", "2026-01-16T12:00", 0.06 * 15.5 / 31),  # half of January's 6%
        ("home-stores-2026", "2026-07-02", 182 / 365),  # linear
        ("home-stores-2026", "2025-12-01", 0.0),
        ("home-stores-2026", "2027-02-01", 1.0),
    ],
    ids=["weights-june-end", "weights-mid-month", "linear", "before", "after"],
)
def test_pace(catalog, goal_id, at, share):
    assert pace(catalog.goal(goal_id), catalog=catalog, at=local(at)) == pytest.approx(share)


def test_summary_is_actionable(catalog):
    data = readings(ev_deliveries={"2026-01": "30000", "2026-02": "32000"})
    result = evaluate(catalog.goal("ev-deliveries-2026"), catalog=catalog, readings=data, now=local("2026-04-03"))
    chance = likelihood(result.probability, (0.2, 0.8))
    assert result.summary == (
        f"EV deliveries 2026: at risk: {chance} likely to reach 550,000: projected {float(result.projected):,.0f} "
        f"({float(result.projected_low):,.0f}-{float(result.projected_high):,.0f}); needs 48,800 a month, "
        "the last two months averaged 31,000 (data through 2026-02-28)"
    )
    assert (result.required_rate, result.rate_unit, result.recent_rate) == (Decimal(48800), "month", Decimal(31000))

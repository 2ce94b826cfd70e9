"""Table-driven tests of the judgement, with expectations computed by hand in the ids/comments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.evalkit import local, months, quarters, readings
from tracker.core.evaluation import evaluate, pace
from tracker.core.verdict import Status

EV = "ev_deliveries"
CASES = [
    # goal, readings, as-of (Shanghai), status, actual, expected, projected, data_through
    pytest.param(
        # 3 April, Jan+Feb only: judged through February; w = (6+6)/100 = 0.12
        "ev-deliveries-2026", readings(ev_deliveries={"2026-01": "30000", "2026-02": "32000"}), "2026-04-03",
        Status.AT_RISK, "62000", "66000", "516666.67", date(2026, 2, 28), id="late-march-is-not-zero",
    ),
    pytest.param(
        # with March 70000: A = 132000, w = 19/100, P = 694736.84 -> 1.263 on track
        "ev-deliveries-2026", readings(ev_deliveries={"2026-01": "30000", "2026-02": "32000", "2026-03": "70000"}),
        "2026-04-03", Status.ON_TRACK, "132000", "104500", "694736.84", date(2026, 3, 31), id="ramp-weights",
    ),
    pytest.param(
        # a May figure is in the future on 3 April: ignored
        "ev-deliveries-2026", readings(ev_deliveries={"2026-01": "30000", "2026-02": "32000", "2026-05": "900000"}),
        "2026-04-03", Status.AT_RISK, "62000", "66000", "516666.67", date(2026, 2, 28), id="future-ignored",
    ),
    pytest.param(
        "ev-deliveries-2026", readings(ev_deliveries={}), "2026-04-03", Status.NO_DATA, None, None, None, None,
        id="no-data-is-not-zero",
    ),
    pytest.param(
        # 2025 closed with exactly the year-end target 400,000: equality meets at_least
        "ev-deliveries-2025", readings(ev_deliveries=months(2025, ["40000"] * 10 + ["0", "0"])), "2026-01-15",
        Status.ACHIEVED, "400000", "400000", "400000", date(2025, 12, 31), id="equality-meets-at-least",
    ),
    pytest.param(
        "ev-deliveries-2025", readings(ev_deliveries=months(2025, ["40000"] * 10 + ["0", "-1"])), "2026-01-15",
        Status.MISSED, "399999", "400000", "399999", date(2025, 12, 31), id="one-short-is-missed",
    ),
    pytest.param(
        # a 2026-12 actual counts toward 2026: at 00:30 on 1 Jan 2027 local the year is closed and complete
        "ev-deliveries-2026", readings(ev_deliveries=months(2026, ["45834"] * 12)), "2027-01-01T00:30",
        Status.ACHIEVED, "550008", "550000", "550008", date(2026, 12, 31), id="december-counts-toward-its-year",
    ),
    pytest.param(
        # level: June 750 stores on 5 July; w = 181/365; E = 500 + 500w; P = 500 + 250/w = 1004.14
        "home-stores-2026", readings(home_stores={"2026-06": "750"}), "2026-07-05",
        Status.ON_TRACK, "750", "747.95", "1004.14", date(2026, 6, 30), id="level-from-baseline",
    ),
    pytest.param(
        # quarterly margins 10%, 10%, 10%, 3%: mean 8.25% but 60/1300 = 4.6% for the year: missed
        "phone-gross-margin-2026",
        readings(phone_gross_profit=quarters(2026, ["10", "10", "10", "30"]),
                 phone_revenue=quarters(2026, ["100", "100", "100", "1000"])),
        "2027-03-01", Status.MISSED, "0.046154", "0.08", "0.046154", date(2026, 12, 31), id="ratio-of-sums",
    ),
    pytest.param(
        # share 2025 = 40/280 = 14.29%; target 15.29%; 2026-Q1 11/70 = 15.71% -> on track
        "china-share-yearly",
        readings(china_phone_shipments_xiaomi={**quarters(2025, ["10"] * 4), "2026-Q1": "11"},
                 china_phone_shipments_market={**quarters(2025, ["70"] * 4), "2026-Q1": "70"}),
        "2026-05-01", Status.ON_TRACK, "0.157143", "0.152857", "0.157143", date(2026, 3, 31), id="delta-plus-one-point",
    ),
    pytest.param(
        # 2026-Q1 at last year's share: 14.29 / 15.29 = 0.935 -> at risk
        "china-share-yearly",
        readings(china_phone_shipments_xiaomi={**quarters(2025, ["10"] * 4), "2026-Q1": "10"},
                 china_phone_shipments_market={**quarters(2025, ["70"] * 4), "2026-Q1": "70"}),
        "2026-05-01", Status.AT_RISK, "0.142857", "0.152857", "0.142857", date(2026, 3, 31), id="delta-flat-share",
    ),
    pytest.param(
        # baseline year incomplete (no 2025-Q4): no verdict rather than a wrong one
        "china-share-yearly",
        readings(china_phone_shipments_xiaomi={**quarters(2025, ["10"] * 3), "2026-Q1": "11"},
                 china_phone_shipments_market={**quarters(2025, ["70"] * 3), "2026-Q1": "70"}),
        "2026-05-01", Status.NO_DATA, None, None, None, None, id="delta-baseline-incomplete",
    ),
    pytest.param(
        # ASP 2025 = 1250; 2026 the same: `above` is not met by equality
        "phone-asp-2026",
        readings(phone_revenue=quarters(2025, ["50000"] * 4) | quarters(2026, ["50000"] * 4),
                 phone_shipments=quarters(2025, ["40"] * 4) | quarters(2026, ["40"] * 4)),
        "2027-03-01", Status.MISSED, "1250", "1250", "1250", date(2026, 12, 31), id="above-equal-is-missed",
    ),
    pytest.param(
        "phone-asp-2026",
        readings(phone_revenue=quarters(2025, ["50000"] * 4) | quarters(2026, ["50100"] * 4),
                 phone_shipments=quarters(2025, ["40"] * 4) | quarters(2026, ["40"] * 4)),
        "2027-03-01", Status.ACHIEVED, "1252.5", "1250", "1252.5", date(2026, 12, 31), id="above-higher-is-achieved",
    ),
    pytest.param(
        # margin 2025 = 2000/10000 = 20%; 2026 also 20%: at_least is met by equality
        "aiot-gross-margin-2026",
        readings(aiot_gross_profit=quarters(2025, ["500"] * 4) | quarters(2026, ["600"] * 4),
                 aiot_revenue=quarters(2025, ["2500"] * 4) | quarters(2026, ["3000"] * 4)),
        "2027-03-01", Status.ACHIEVED, "0.2", "0.2", "0.2", date(2026, 12, 31), id="threshold-baseline-equal",
    ),
    pytest.param(
        # recurring quarter: on 10 April Q2 has no data, so Q1's verdict shows (30% exactly: achieved)
        "ai-code-share", readings(ai_generated_lines={"2026-Q1": "300"}, total_code_lines={"2026-Q1": "1000"}),
        "2026-04-10", Status.ACHIEVED, "0.3", "0.3", "0.3", date(2026, 3, 31), id="recurring-shows-last-instance",
    ),
]


@pytest.mark.parametrize("goal_id, data, at, status, actual, expected, projected, through", CASES)
def test_judgement(catalog, goal_id, data, at, status, actual, expected, projected, through):
    result = evaluate(catalog.goal(goal_id), catalog=catalog, readings=data, now=local(at))
    assert result.status is status, result.summary
    for got, want in ((result.actual, actual), (result.expected, expected), (result.projected, projected)):
        assert (got is None) if want is None else round(got, 6) == pytest.approx(Decimal(want), abs=Decimal("0.01"))
    assert result.data_through == through


@pytest.mark.parametrize(
    "at, target, status",
    [
        # Jan+Feb 25,000 each: w(end Feb) = 59/365, P = 309,322
        ("2025-02-28", 300000, Status.ON_TRACK),  # 1.031
        ("2025-03-01", 350000, Status.OFF_TRACK),  # 0.884: the March revision is in force
        ("2025-12-01", 400000, Status.OFF_TRACK),
    ],
    ids=["before-revision", "revision-effective", "year-end-revision"],
)
def test_target_revision_changes_the_verdict_from_its_date(catalog, at, target, status):
    data = readings(ev_deliveries={"2025-01": "25000", "2025-02": "25000"})
    result = evaluate(catalog.goal("ev-deliveries-2025"), catalog=catalog, readings=data, now=local(at))
    assert (result.target, result.status) == (Decimal(target), status)


@pytest.mark.parametrize(
    "at, data, status, near",
    [
        ("2026-11-01", {}, Status.ON_TRACK, False),
        ("2026-11-17", {}, Status.ON_TRACK, True),  # 45 days before the end of 31 Dec
        ("2026-12-31T23:59", {}, Status.ON_TRACK, True),
        ("2027-01-01", {}, Status.MISSED, False),
        ("2026-11-20", {"2026-09-15": "1"}, Status.ACHIEVED, False),
        ("2027-02-01", {"2027-01-03": "1"}, Status.MISSED, False),  # done, but late
        ("2026-09-01", {"2026-09-15": "1"}, Status.ON_TRACK, False),  # a future day is not seen
    ],
    ids=["pending", "warn-window-opens", "last-minute", "missed", "done", "done-late", "future-unseen"],
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
    assert result.summary == (
        "EV deliveries 2026: projected 516,667 of 550,000 (94%), at risk; needs 48,800 a month "
        "for the rest of the period (data through 2026-02-28)"
    )
    assert (result.required_rate, result.rate_unit) == (Decimal(48800), "month")

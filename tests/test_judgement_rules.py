"""The rules of judgement beyond the arithmetic: gaps are never zero, a ceiling once broken
stays broken, attainment with negative values, to-date figures paced through their
known-since time, and words that agree with the numbers (all pure, on injected times)."""

from __future__ import annotations

import tomllib
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from tests.evalkit import RECORDED, SHANGHAI, local, months, quarters, readings
from tracker.catalog.model import parse_catalog
from tracker.core.evaluation import evaluate, score
from tracker.core.goals import Bands, Comparison
from tracker.core.milestones import on_time
from tracker.core.periods import Period
from tracker.core.readings import Reading
from tracker.core.summary import likelihood
from tracker.core.verdict import Status


def judge(catalog, goal_id, at, **metrics):
    return evaluate(catalog.goal(goal_id), catalog=catalog, readings=readings(**metrics), now=local(at))


# -- gaps ----------------------------------------------------------------------------------
def test_a_missing_middle_month_is_not_zero(catalog):
    """January, February and April recorded; March due since 11 April and missing."""
    gap = judge(catalog, "ev-deliveries-2026", "2026-05-15",
                ev_deliveries={"2026-01": "33000", "2026-02": "33000", "2026-04": "38500"})
    zero = judge(catalog, "ev-deliveries-2026", "2026-05-15",
                 ev_deliveries={"2026-01": "33000", "2026-02": "33000", "2026-03": "0", "2026-04": "38500"})
    filled = judge(catalog, "ev-deliveries-2026", "2026-05-15",
                   ev_deliveries={"2026-01": "33000", "2026-02": "33000", "2026-03": "38500", "2026-04": "38500"})
    assert (gap.stale, gap.stale_metrics, gap.missing_periods) == (True, ("ev_deliveries",), ("2026-03",))
    # exactly on the plan where there is data: projected near the target, far above "March = 0"
    assert abs(gap.projected - filled.projected) < Decimal("0.05") * filled.projected
    assert gap.projected > zero.projected + 20000 and gap.probability > zero.probability
    assert "late data: ev_deliveries (2026-03)" in gap.summary


@pytest.mark.parametrize(
    "goal_id, at, data, missing, stale_metrics",
    [
        # a ratio is stale when either side misses a due period
        ("phone-gross-margin-2026", "2026-10-01",
         {"phone_gross_profit": quarters(2026, ["10", "12"]), "phone_revenue": quarters(2026, ["100"])},
         ("2026-Q2",), ("phone_revenue",)),
        # a recurring goal whose previous instance is overdue: Q1 due from 1 May, Q2 current
        ("ai-code-share", "2026-05-15", {"ai_generated_lines": {}, "total_code_lines": {}},
         ("2026-Q1",), ("ai_generated_lines", "total_code_lines")),
        # a level misses only the periods after its latest reading
        ("home-stores-2026", "2026-07-25", {"home_stores": {"2026-06": "750"}}, (), ()),
        ("home-stores-2026", "2026-08-25", {"home_stores": {"2026-06": "750"}}, ("2026-07",), ("home_stores",)),
    ],
    ids=["ratio-one-side", "recurring-previous-overdue", "level-latest-counts", "level-after-latest"],
)
def test_missing_periods(catalog, goal_id, at, data, missing, stale_metrics):
    result = judge(catalog, goal_id, at, **data)
    assert (result.missing_periods, result.stale_metrics, result.stale) == (missing, stale_metrics, bool(missing))


def test_a_baseline_from_an_incomplete_window_is_no_data_naming_what_it_lacks(catalog):
    result = judge(catalog, "china-share-yearly", "2026-05-01",
                   china_phone_shipments_xiaomi={**quarters(2025, ["10", "10"]), "2026-Q1": "11"},
                   china_phone_shipments_market={**quarters(2025, ["70", "70"]), "2026-Q1": "70"})
    assert result.status is Status.NO_DATA and result.target is None
    assert result.missing_periods == ("2025-Q3", "2025-Q4")
    assert "the baseline (2025): missing 2025-Q3, 2025-Q4" in result.summary


def test_a_closed_window_still_missing_periods_is_not_graded_and_waits(catalog):
    """2025 has closed; December was due on 11 January and has not come in."""
    result = judge(catalog, "ev-deliveries-2025", "2026-01-15", ev_deliveries=months(2025, ["30000"] * 11))
    assert result.status not in (Status.ACHIEVED, Status.MISSED)
    assert result.missing_periods == ("2025-12",) and result.required_rate is None
    assert "waiting for 2025-12" in result.summary and "needs" not in result.summary


def test_a_recurring_verdict_carried_over_names_its_instance(catalog):
    result = judge(catalog, "ai-code-share", "2026-04-10",
                   ai_generated_lines={"2026-Q1": "300"}, total_code_lines={"2026-Q1": "1000"})
    assert result.status is Status.ACHIEVED and (result.period_start, result.period_end) == (date(2026, 1, 1), date(2026, 4, 1))
    assert "the verdict of 2026-Q1; 2026-Q2 has no data yet" in result.summary


# -- ceilings and negative values ------------------------------------------------------------
CEILING = """
timezone = "Asia/Shanghai"
[metrics.spend]
title = "Spend"
unit = "RMB million"
granularity = "month"
aggregation = "sum"
min = 0
grace = "10d"
[metrics.loss]
title = "Loss"
unit = "RMB million"
granularity = "quarter"
aggregation = "sum"
min = -1000
grace = "30d"
[metrics.sales]
title = "Sales"
unit = "RMB million"
granularity = "quarter"
aggregation = "sum"
min = 0
grace = "30d"
[[goals]]
id = "budget"
title = "Spend at most 1,200"
kind = "cumulative"
comparison = "at_most"
metric = "spend"
period = "2026"
target = 1200
source = { document = "test", publisher = "test", published = 2026-01-01, quote = "test" }
[[goals]]
id = "margin"
title = "Margin at least -5%"
kind = "ratio"
numerator = "loss"
denominator = "sales"
period = "2026"
target = -0.05
display = "percent"
source = { document = "test", publisher = "test", published = 2026-01-01, quote = "test" }
"""


@pytest.fixture
def ceiling():
    return parse_catalog(tomllib.loads(CEILING), path=Path("ceiling.toml"))


def test_a_broken_ceiling_is_never_on_track(ceiling):
    """By May the year's spend is past its ceiling: a flow cannot come back under it."""
    result = judge(ceiling, "budget", "2026-05-15", spend=months(2026, ["300", "300", "300", "400"]))
    assert (result.status, result.probability) == (Status.MISSED, 0.0)


def test_a_ceiling_within_reach_is_judged_by_its_forecast(ceiling):
    low = judge(ceiling, "budget", "2026-05-15", spend=months(2026, ["60"] * 4))
    high = judge(ceiling, "budget", "2026-05-15", spend=months(2026, ["140"] * 4))
    assert low.status is Status.ON_TRACK and high.status is Status.OFF_TRACK
    assert low.probability > high.probability


@pytest.mark.parametrize(
    "value, target, comparison, attained",
    [
        ("-0.055", "-0.05", Comparison.AT_LEAST, 0.9),  # a margin of -5.5% against -5%: short
        ("-0.045", "-0.05", Comparison.AT_LEAST, 1.1),
        ("-0.05", "-0.05", Comparison.AT_LEAST, 1.0),
        ("0.02", "-0.05", Comparison.AT_LEAST, 2.4),  # a profit against a loss target
        ("-0.055", "-0.05", Comparison.AT_MOST, 1.1),  # a ceiling: lower is better
        ("120", "100", Comparison.AT_LEAST, 1.2),
        ("125", "100", Comparison.AT_MOST, 0.8),
        ("0", "0", Comparison.AT_LEAST, 1.0),
    ],
)
def test_attainment_is_higher_when_better_whatever_the_signs(value, target, comparison, attained):
    assert score(Decimal(value), Decimal(target), comparison) == pytest.approx(attained)


def test_a_negative_margin_target_is_judged_with_higher_better(ceiling):
    worse = judge(ceiling, "margin", "2026-08-15", loss=quarters(2026, ["-6", "-6"]), sales=quarters(2026, ["100", "100"]))
    better = judge(ceiling, "margin", "2026-08-15", loss=quarters(2026, ["-4", "-4"]), sales=quarters(2026, ["100", "100"]))
    assert worse.attainment == pytest.approx(0.8) and better.attainment == pytest.approx(1.2)
    assert worse.probability < 0.5 < better.probability


# -- what was known when ---------------------------------------------------------------------
def _known(period: str, value: str, known: str) -> Reading:
    return Reading("ev_deliveries", Period.parse(period), Decimal(value), RECORDED, local(known))


def test_a_to_date_figure_is_paced_through_its_known_since_time(catalog):
    """Half of March known on the 16th: expected and data_through follow the 16th, and the
    projection reads the figure as half a month, not as all of March."""
    january, february = _known("2026-01", "33000", "2026-02-01"), _known("2026-02", "33000", "2026-03-01")
    partial = [january, february, _known("2026-03", "19250", "2026-03-16T12:00")]
    whole = [january, february, _known("2026-03", "19250", "2026-04-01")]
    goal = catalog.goal("ev-deliveries-2026")
    early = evaluate(goal, catalog=catalog, readings={"ev_deliveries": partial}, now=local("2026-03-20"))
    late = evaluate(goal, catalog=catalog, readings={"ev_deliveries": whole}, now=local("2026-04-05"))
    assert early.data_through == date(2026, 3, 15)
    assert early.expected == pytest.approx(Decimal(550000) * Decimal("0.12") + Decimal(550000) * Decimal("0.07") * Decimal(15 / 31), rel=Decimal("1e-6"))  # through midnight of the 16th
    assert early.projected > late.projected + 40000  # half a month on plan, not a bad March


# -- words ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "probability, shown",
    [(0.7996, "79%"), (0.8, "80%"), (0.8049, "80%"), (0.1996, "19%"), (0.2, "20%"), (0.2049, "20%"),
     (0.55, "55%"), (0.996, ">99%"), (0.004, "<1%"), (1.0, "100%"), (0.0, "0%")],
)
def test_likelihood_is_never_rounded_across_a_band(probability, shown):
    assert likelihood(probability, (0.2, 0.8)) == shown


def test_the_summary_names_the_probability_projection_range_need_and_run_rate(catalog):
    result = judge(catalog, "ev-deliveries-2026", "2026-04-05",
                   ev_deliveries={"2026-01": "30000", "2026-02": "32000", "2026-03": "35000"})
    shown = likelihood(result.probability, (0.2, 0.8))
    words = {Status.ON_TRACK: "on track", Status.AT_RISK: "at risk", Status.OFF_TRACK: "off track"}[result.status]
    low, high = f"{float(result.projected_low):,.0f}", f"{float(result.projected_high):,.0f}"
    assert result.summary == (
        f"EV deliveries 2026: {words}: {shown} likely to reach 550,000: projected {float(result.projected):,.0f} "
        f"({low}-{high}); needs 50,333 a month, the last three months averaged 32,333 (data through 2026-03-31)"
    )
    assert Bands().status(result.probability) is result.status


# -- milestones -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "left_days, warning_days, probability",
    [(45, 45, 0.8), (180, 45, 180 / 191.25), (45 / 16, 45, 0.2), (0, 45, 0.0), (-3, 45, 0.0), (30, 30, 0.8)],
)
def test_milestone_probability_from_the_time_left(left_days, warning_days, probability):
    assert on_time(timedelta(days=left_days), timedelta(days=warning_days)) == pytest.approx(probability)


@pytest.mark.parametrize(
    "at, status",
    [("2026-11-01", Status.ON_TRACK), ("2026-11-25", Status.AT_RISK), ("2026-12-30T12:00", Status.OFF_TRACK)],
    ids=["before-the-warning", "in-the-warning", "last-days"],
)
def test_a_milestone_not_done_follows_its_probability(catalog, at, status):
    result = judge(catalog, "third-ev-model-h2-2026", at, third_ev_model_delivered={})
    assert result.status is status and Bands().status(result.probability) is status


def test_json_has_the_contract_keys_with_null_where_they_do_not_apply(catalog):
    empty = judge(catalog, "ev-deliveries-2026", "2026-02-15", ev_deliveries={}).to_json()
    assert {k: empty[k] for k in ("probability", "projected_low", "projected_high", "known_at")} == dict.fromkeys(
        ("probability", "projected_low", "projected_high", "known_at"))
    assert empty["missing_periods"] == ["2026-01"]
    known = evaluate(catalog.goal("ev-deliveries-2026"), catalog=catalog, readings={}, now=local("2026-02-15"),
                     known_at=datetime(2026, 2, 1, tzinfo=timezone.utc)).to_json()
    assert known["known_at"] == "2026-02-01T00:00:00+00:00"
    assert SHANGHAI  # the catalog's zone is the one these instants are written in

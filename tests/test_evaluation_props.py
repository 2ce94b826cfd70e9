"""Property tests: projections monotone in the actuals, status independent of recording
order, and no catalog that validates makes evaluation raise."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.evalkit import local, months, readings
from tracker.catalog.model import parse_catalog
from tracker.core.errors import ConfigError
from tracker.core.evaluation import evaluate, evaluate_all

amounts = st.lists(st.integers(0, 100000), min_size=1, max_size=12)
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.xfail(reason="known defect of the forecast: where the figures and the weak prior on the plan's total "
                   "disagree, more can project up to ~0.2% less (see the closing note of issue 18)", strict=False)
@SLOW
@given(values=st.lists(st.integers(10000, 100000), min_size=1, max_size=12), extra=st.integers(1, 50000),
       month=st.integers(1, 13), scale=st.integers(101, 200))
def test_projection_rises_with_the_latest_figure_and_with_every_figure(catalog, values, extra, month, scale):
    """More in the latest month, or more in every month alike, never projects less nor
    judges worse. (Raising one early month alone may: the forecast follows the run rate's
    trend, and a higher start with the same end is a flatter trend. Figures of 0 switch the
    forecast to its linear scale, and a figure a tenth of the plan or less is mostly outweighed
    by the prior that the plan's total is about right: there it holds only roughly.)"""
    goal = catalog.goal("ev-deliveries-2026")
    now = local(f"2026-{month:02d}-15" if month <= 12 else "2027-01-20")
    visible = len([m for m in range(1, len(values) + 1) if m < month or month == 13])
    assume(visible > 0)
    later = list(values)
    later[visible - 1] += extra
    scaled = [v * scale // 100 + (v > 0) for v in values]

    def judge(vals):  # type: ignore[no-untyped-def]
        return evaluate(goal, catalog=catalog, readings=readings(ev_deliveries=months(2026, [str(v) for v in vals])), now=now)

    before = judge(values)
    order = ["no_data", "missed", "off_track", "at_risk", "on_track", "achieved"]
    for after in (judge(later), judge(scaled)):
        # to 0.1%: where the figures and the plan's total disagree, the weak prior on that total and
        # the mixture over the noise grid can move the median a little the other way
        if before.projected is not None and after.projected is not None:
            assert after.projected >= before.projected * Decimal("0.999")
        if before.probability is not None and after.probability is not None:
            assert after.probability >= before.probability - 1e-3
        assert order.index(after.status) >= order.index(before.status) or before.status == "achieved"


@SLOW
@given(values=amounts, seed=st.integers(0, 2**32), month=st.integers(1, 12))
def test_status_does_not_depend_on_recording_order(catalog, values, seed, month):
    data = readings(ev_deliveries=months(2026, [str(v) for v in values]),
                    phone_gross_profit={"2026-Q1": "5", "2026-Q2": "7"}, phone_revenue={"2026-Q1": "90", "2026-Q2": "80"})
    shuffled = {name: random.Random(seed).sample(rows, len(rows)) for name, rows in data.items()}
    now = local(f"2026-{month:02d}-20")
    assert evaluate_all(catalog, data, now) == evaluate_all(catalog, shuffled, now)


kinds = st.sampled_from(["cumulative", "level", "ratio", "delta", "threshold", "milestone"])
comparisons = st.sampled_from(["at_least", "at_most", "above", "below"])
windows = st.sampled_from([{"period": "2026"}, {"period": "2026-H2"}, {"period": "2025..2027"},
                           {"period": "2026-03-15"}, {"recurs": "quarter"}, {"recurs": "year"}, {"recurs": "month"}])
numbers = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def goal_tables(draw):
    kind = draw(kinds)
    goal = {"id": "g", "title": "G", "kind": kind, "comparison": draw(comparisons), **draw(windows),
            "source": {"document": "d", "publisher": "p", "published": "2026-01-01", "quote": "q"}}
    metric = draw(st.sampled_from(["flow", "stock", "daily"]))
    if kind in ("ratio", "delta") or (kind == "threshold" and draw(st.booleans())):
        goal |= {"numerator": "flow", "denominator": "flow2"}
    else:
        goal["metric"] = "daily" if kind == "milestone" else metric
    if kind == "threshold" and draw(st.booleans()):
        goal["baseline"] = "previous_period"
    else:
        goal["target"] = str(draw(numbers))
    if kind == "level":
        goal["baseline"] = str(draw(numbers))
    if kind == "delta":
        goal.pop("target")
        goal["delta"] = str(draw(numbers))
    if kind == "milestone":
        goal.pop("target")
        goal |= {"deadline": "2026-10-01", "warn_before": "30d"}
    if "period" in goal and draw(st.booleans()):
        weights = draw(st.lists(st.floats(0, 10), min_size=12, max_size=12).filter(lambda ws: sum(ws) > 0))
        goal["pace"] = [w * 100 / sum(weights) for w in weights]  # shares of the target sum to 100
    return goal


def _metric(granularity, aggregation, grace=None):
    body = {"title": "m", "unit": "u", "granularity": granularity, "aggregation": aggregation}
    return body | ({"grace": grace} if grace else {})


def catalog_for(goal):
    """A catalog of four metrics (monthly flows with and without grace, a stock, a daily
    series) and one generated goal; goals that do not validate are skipped."""
    try:
        return parse_catalog({
            "metrics": {"flow": _metric("month", "sum", "10d"), "flow2": _metric("month", "sum"),
                        "stock": _metric("month", "last", "5d"), "daily": _metric("day", "last")},
            "goals": [goal],
        })
    except ConfigError:
        assume(False)


@settings(max_examples=150, deadline=None)
@given(goal=goal_tables(), values=st.lists(numbers, max_size=30), offset=st.integers(0, 1200))
def test_evaluate_never_raises_on_a_valid_catalog(goal, values, offset):
    catalog = catalog_for(goal)
    labels = [f"{2025 + i // 12}-{i % 12 + 1:02d}" for i in range(len(values))]
    data = readings(flow=dict(zip(labels, map(str, values))), flow2=dict(zip(labels, map(str, values[::-1]))),
                    stock=dict(zip(labels, map(str, values))), daily={"2026-09-01": "1"} if values else {})
    now = local("2025-01-01") + timedelta(days=offset)
    result = evaluate_all(catalog, data, now)[0]
    assert result.summary.startswith("G: ")
    result.to_json()

"""Property tests: projections monotone in the actuals, status independent of recording
order, and no catalog that validates makes evaluation raise."""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.evalkit import local, months, readings
from tracker.catalog.model import parse_catalog
from tracker.core.errors import ConfigError
from tracker.core.evaluation import evaluate, evaluate_all

amounts = st.lists(st.integers(0, 100000), min_size=1, max_size=12)
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SLOW
@given(values=amounts, index=st.integers(0, 11), extra=st.integers(1, 50000), month=st.integers(1, 13))
def test_projection_is_monotone_in_actuals(catalog, values, index, extra, month):
    goal = catalog.goal("ev-deliveries-2026")
    now = local(f"2026-{month:02d}-15" if month <= 12 else "2027-01-20")
    index %= len(values)
    more = list(values)
    more[index] += extra
    before = evaluate(goal, catalog=catalog, readings=readings(ev_deliveries=months(2026, [str(v) for v in values])), now=now)
    after = evaluate(goal, catalog=catalog, readings=readings(ev_deliveries=months(2026, [str(v) for v in more])), now=now)
    if before.projected is not None and after.projected is not None:
        assert after.projected >= before.projected
    order = ["no_data", "missed", "off_track", "at_risk", "on_track", "achieved"]
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
        goal["pace"] = draw(st.lists(st.floats(0, 10), min_size=12, max_size=12))
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

"""The HTML report, rendered from evaluations made up for the test (tracker.views.report is pure)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from html import escape

import pytest

from tests.reportkit import AS_OF, made_up, made_up_all, real_pace, sample_readings
from tracker.core.verdict import Status
from tracker.views import report


def render(catalog, evaluations, readings=None):  # type: ignore[no-untyped-def]
    return report.render(catalog, evaluations, readings if readings is not None else sample_readings(catalog),
                         now=AS_OF, pace_for=lambda goal: real_pace(goal, catalog))


def cards(page: str) -> dict[str, str]:
    """Each charted goal's card, by goal id, in page order."""
    found = re.findall(r'(<article class="card[^"]*" id="goal-([\w-]+)".*?</article>)', page, re.S)
    return {goal: html for html, goal in found}


def rows(page: str) -> dict[str, str]:
    """Each goal's row in the list of every goal, by goal id, in page order."""
    found = re.findall(r'(<tr class="[^"]*" id="row-([\w-]+)".*?</tr>)', page, re.DOTALL)
    return {goal: html for html, goal in found}


def check_page(page: str, catalog, evaluations) -> None:  # type: ignore[no-untyped-def]
    """Every goal is listed with its status in words and its summary; the goals that need
    attention (and only they) have a card with one chart; the page fetches nothing: no
    scripts, styles, fonts or images from anywhere."""
    listed = rows(page)
    assert set(listed) == {goal.id for goal in catalog.goals}
    for e in evaluations:
        word = report.STATUS_WORDS[e.status][0]
        assert re.search(rf'<span class="status {e.status.value}">.*?{word}</span>', listed[e.goal]), (e.goal, word)
        assert escape(e.summary) in listed[e.goal]
        assert "<svg" not in listed[e.goal]
    drawn = cards(page)
    assert list(drawn) == [e.goal for e in report.to_chart(evaluations)]
    for e in evaluations:
        if e.goal in drawn:
            assert drawn[e.goal].count("<svg") == 1, e.goal
            assert f"<h3>{escape(e.title)}</h3>" in drawn[e.goal]
            assert f'href="#goal-{e.goal}"' in listed[e.goal]
        else:  # a file has no server to draw it on demand: no link
            assert "<a " not in listed[e.goal]
    assert page.count("<svg") == len(drawn)
    assert not re.search(r"""\b(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//|<script|<img|<iframe", page, re.I)
    # the one link is the empty icon, so browsers do not ask the server for /favicon.ico
    assert re.findall(r"<link[^>]*>", page) == ['<link rel="icon" href="data:,">']


@pytest.fixture(scope="module")
def shipped():  # type: ignore[no-untyped-def]
    """The shipped catalog's page, rendered once for the tests that only read it."""
    from tests.reportkit import ROOT
    from tracker.catalog.model import load_catalog

    catalog = load_catalog(ROOT / "config" / "goals.toml")
    evaluations = made_up_all(catalog)
    return catalog, evaluations, render(catalog, evaluations)


def test_the_shipped_catalog_renders_every_goal(shipped):
    catalog, evaluations, page = shipped
    check_page(page, catalog, evaluations)
    ev = cards(page)["ev-deliveries-2026"]
    assert "<dt>Required rate</dt><dd>56,500 vehicles per month</dd>" in ev
    assert "<dt>Projected attainment</dt><dd>91.3%</dd>" in ev
    e2025 = next(e for e in evaluations if e.goal == "ev-deliveries-2025")
    assert dict(report.figures(e2025, catalog.goal(e2025.goal)))["Target revisions"].startswith(
        "300,000 vehicles from 2025-01-01 → 350,000 vehicles from 2025-03-01")
    assert "ev-deliveries-2025" not in cards(page) and "ev-deliveries-2025" in rows(page)  # achieved: no chart
    assert "<dt>Stale</dt><dd>yes: rnd_spend is late</dd>" in cards(page)["rnd-2026-2030"]
    assert "As of 2026-07-05 08:00 (Asia/Shanghai)" in page


def test_the_shipped_catalog_as_evaluation_judges_it(shipped):
    """The done-when check on the real verdicts: the shipped catalog, the sample actuals."""
    from tracker.core.evaluation import evaluate_all

    catalog = shipped[0]
    readings = sample_readings(catalog)
    evaluations = evaluate_all(catalog, readings, AS_OF)
    page = render(catalog, evaluations, readings)
    check_page(page, catalog, evaluations)
    statuses = {e.goal: e.status for e in evaluations}
    assert statuses["ev-deliveries-2026"] is Status.AT_RISK  # the sample is behind the H2-weighted pace
    assert statuses["aiot-gross-margin-2026"] is Status.OFF_TRACK
    first = re.search(r'data-goal="([\w-]+)"', page).group(1)
    assert first == "aiot-gross-margin-2026"  # the worst goal opens the page


def test_groups_and_goals_come_worst_first(shipped):
    page = shipped[2]
    groups = re.findall(r"<h2[^>]*><small>business:</small> (\w+)</h2>", page)
    assert groups == ["aiot", "ev", "phone", "corporate"]  # off track, at risk (ev before phone by attainment), no data
    statuses = re.findall(r'<tr class="\w+" id="row-[\w-]+" data-goal="[\w-]+" data-status="(\w+)"', page)
    aiot = statuses[:3]
    assert aiot == ["off_track", "no_data", "on_track"]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        pytest.param([Status.ON_TRACK, Status.MISSED, Status.AT_RISK], ["b", "c", "a"], id="by-status"),
        pytest.param([Status.ACHIEVED, Status.NO_DATA, Status.OFF_TRACK], ["c", "b", "a"], id="no-data-above-good"),
    ],
)
def test_sort_key_puts_the_worst_first(catalog, statuses, expected):
    evaluations = [replace(made_up(catalog, "ai-code-share", s), goal=name) for s, name in zip(statuses, "abc")]
    assert [e.goal for e in sorted(evaluations, key=report.sort_key)] == expected


def test_within_a_status_stale_and_lower_attainment_come_first(catalog):
    base = made_up(catalog, "ai-code-share", Status.AT_RISK)
    low = replace(base, goal="low", projected_attainment=0.91)
    high = replace(base, goal="high", projected_attainment=0.95)
    stale = replace(base, goal="stale", projected_attainment=0.96, stale=True)
    assert [e.goal for e in sorted([high, low, stale], key=report.sort_key)] == ["stale", "low", "high"]


def test_goals_without_the_label_go_to_other(catalog):
    e = replace(made_up(catalog, "ai-code-share", Status.ON_TRACK), labels={})
    assert report.group([e]) == [("other", [e])]


def test_text_from_the_catalog_is_escaped(catalog):
    e = replace(made_up_all(catalog)[0], title="<script>alert(1)</script>", summary="a < b & c")
    page = render(catalog, [e])
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "a &lt; b &amp; c" in page


@pytest.mark.parametrize("goal_id", ["ev-deliveries-2026", "phone-gross-margin-2026", "ai-code-share", "third-ev-model-h2-2026"])
def test_a_goal_without_data_still_gets_a_chart(catalog, goal_id):
    e = made_up(catalog, goal_id, Status.NO_DATA, stale=True)  # stale: it needs attention
    card = cards(render(catalog, [e], readings={}))[goal_id]
    assert card.count("<svg") == 1 and "No data</span>" in card
    assert re.search(r">(no actuals yet|no data|not done yet)<", card)


@pytest.mark.parametrize(
    ("display", "unit", "value", "text"),
    [
        pytest.param("number", "vehicles", Decimal("550000"), "550,000 vehicles", id="count"),
        pytest.param("number", "RMB per unit", Decimal("1152.34"), "1,152 RMB per unit", id="large-decimal"),
        pytest.param("number", None, Decimal("12.346"), "12.35", id="small-decimal-no-unit"),
        pytest.param("percent", None, Decimal("0.0812"), "8.1%", id="percent"),
        pytest.param("number", "stores", None, "", id="missing"),
    ],
)
def test_figures_are_formatted_for_people(catalog, display, unit, value, text):
    e = replace(made_up(catalog, "ai-code-share", Status.ON_TRACK), display=display, unit=unit)
    assert report.fmt(e, value) == text


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        pytest.param({"required_rate": Decimal("56500"), "rate_unit": "month", "unit": "vehicles", "display": "number"},
                     "56,500 vehicles per month", id="per-month"),
        pytest.param({"required_rate": Decimal("0.021"), "rate_unit": "quarter", "display": "percent"},
                     "2.1% per quarter", id="percent"),
        pytest.param({"required_rate": None}, "", id="none"),
    ],
)
def test_required_rate_reads_as_a_rate(catalog, changes, text):
    assert report.rate(replace(made_up(catalog, "ai-code-share", Status.ON_TRACK), **changes)) == text


def test_the_period_is_shown_with_its_last_day(catalog):
    e = made_up(catalog, "ev-deliveries-2026", Status.ON_TRACK)
    rows = dict(report.figures(e, catalog.goal(e.goal)))
    assert rows["Period"] == "2026-01-01 to 2026-12-31"
    assert "Actual" not in rows  # figures that do not apply are left out
    assert e.period_end == date(2027, 1, 1)

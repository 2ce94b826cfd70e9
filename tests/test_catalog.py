"""The catalog: the shipped goals, and errors that point at the file, entry and field."""

import copy
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import CATALOG
from tracker.catalog.model import load_catalog, parse_catalog
from tracker.core.errors import ConfigError
from tracker.core.goals import Kind

# GOALS.md: goal ids, kinds and metrics are part of the public contract.
SHIPPED = {
    "ev-deliveries-2026": ("cumulative", ("ev_deliveries",)),
    "home-stores-2026": ("level", ("home_stores",)),
    "china-share-yearly": ("delta", ("china_phone_shipments_xiaomi", "china_phone_shipments_market")),
    "ai-code-share": ("ratio", ("ai_generated_lines", "total_code_lines")),
    "phone-gross-margin-2026": ("ratio", ("phone_gross_profit", "phone_revenue")),
    "rnd-2026-2030": ("cumulative", ("rnd_spend",)),
    "aiot-gross-margin-2026": ("threshold", ("aiot_gross_profit", "aiot_revenue")),
    "phone-asp-2026": ("threshold", ("phone_revenue", "phone_shipments")),
    "ev-gross-margin": ("ratio", ("ev_gross_profit", "ev_revenue")),
    "overseas-aiot-share": ("ratio", ("aiot_overseas_revenue", "aiot_revenue")),
    "third-ev-model-h2-2026": ("milestone", ("third_ev_model_delivered",)),
    "europe-ev-export-2027": ("milestone", ("europe_ev_export_started",)),
    "ev-deliveries-2025": ("cumulative", ("ev_deliveries",)),
}


def test_shipped_catalog_has_every_goal_of_goals_md(catalog):
    assert {g.id: (g.kind.value, g.metrics) for g in catalog.goals} == SHIPPED
    assert str(catalog.timezone) == "Asia/Shanghai"
    for goal in catalog.goals:
        assert goal.source.quote and goal.source.document.endswith(".txt")


def test_shipped_quotes_are_in_the_source_documents(catalog):
    sources = Path(__file__).resolve().parents[2] / "shared" / "sources"
    if not sources.is_dir():
        pytest.skip("shared/sources is not beside this checkout")
    for goal in catalog.goals:
        text = " ".join((sources / goal.source.document).read_text(encoding="utf-8").split())
        for fragment in goal.source.quote.split("[...]"):
            assert " ".join(fragment.split()) in text, goal.id


@pytest.mark.parametrize(
    "goal_id, headline",
    [("ev-deliveries-2026", Decimal(550000)), ("home-stores-2026", Decimal(1000)), ("rnd-2026-2030", Decimal(200000))],
)
def test_shipped_targets(catalog, goal_id, headline):
    assert catalog.goal(goal_id).target == headline


def test_flows_sum_and_levels_take_the_last_reading(catalog):
    assert catalog.metrics["ev_deliveries"].aggregation == "sum"
    assert catalog.metrics["home_stores"].aggregation == "last"


@pytest.mark.parametrize(
    "day, target",
    [
        (date(2025, 1, 1), 300000),
        (date(2025, 2, 28), 300000),
        (date(2025, 3, 1), 350000),
        (date(2025, 11, 30), 350000),
        (date(2025, 12, 1), 400000),
        (date(2026, 6, 1), 400000),
    ],
)
def test_target_revisions_take_effect_on_their_dates(catalog, day, target):
    assert catalog.goal("ev-deliveries-2025").target_at(day) == target


def test_ev_pace_weights_ramp_into_the_second_half(catalog):
    pace = catalog.goal("ev-deliveries-2026").pace
    assert len(pace) == 12 and sum(pace[6:]) > sum(pace[:6])


def _shipped() -> dict:
    return tomllib.loads(CATALOG.read_text(encoding="utf-8"))


def _goal(data: dict, goal_id: str) -> dict:
    return next(g for g in data["goals"] if g["id"] == goal_id)


def _set(goal_id, key, value):
    def change(data):
        _goal(data, goal_id)[key] = value

    return change


def _drop(goal_id, key):
    def change(data):
        del _goal(data, goal_id)[key]

    return change


def _metric(name, key, value):
    def change(data):
        data["metrics"][name][key] = value

    return change


@pytest.mark.parametrize(
    "change, message",
    [
        (_set("ev-deliveries-2026", "target", "lots"), "goal ev-deliveries-2026, field target: "),
        (_set("ev-deliveries-2026", "kind", "vibes"), "goal ev-deliveries-2026, field kind: Input should be"),
        (_set("ev-deliveries-2026", "metric", "ev_delivery"), "goal ev-deliveries-2026: metric 'ev_delivery' is not in [metrics]"),
        (_set("ev-deliveries-2026", "period", "2026-Q5"), "goal ev-deliveries-2026, field period: period '2026-Q5' has no quarter 5"),
        (_set("ev-deliveries-2026", "pace", [1, 2, 3]), "goal ev-deliveries-2026: pace has 3 weights; the period has 12 months"),
        (_set("ev-deliveries-2026", "recurs", "year"), "goal ev-deliveries-2026: give exactly one of period"),
        (_set("ev-deliveries-2026", "colour", "red"), "goal ev-deliveries-2026, field colour: Extra inputs are not permitted"),
        (_drop("ev-deliveries-2026", "target"), "goal ev-deliveries-2026: a cumulative goal needs target"),
        (_drop("home-stores-2026", "baseline"), "goal home-stores-2026: a level goal needs a numeric baseline"),
        (_drop("phone-gross-margin-2026", "denominator"), "goal phone-gross-margin-2026: numerator and denominator come together"),
        (_drop("third-ev-model-h2-2026", "deadline"), "goal third-ev-model-h2-2026: a milestone goal needs deadline"),
        (_drop("china-share-yearly", "delta"), "goal china-share-yearly: a delta goal needs delta"),
        (_set("ai-code-share", "id", "AI Code"), "goal AI Code, field id: String should match pattern"),
        (_set("home-stores-2026", "id", "ev-deliveries-2026"), "goal ev-deliveries-2026: id is used twice"),
        (_metric("ev_deliveries", "granularity", "week"), "metric ev_deliveries, field granularity: Input should be"),
        (_metric("ev_deliveries", "grace", "ten days"), "metric ev_deliveries, field grace: duration 'ten days' is not like"),
        (_metric("ev_deliveries", "min", 200000), "metric ev_deliveries: min 200000 is above max 150000"),
        (lambda d: d.__setitem__("timezone", "Mars/Olympus"), "field timezone: unknown time zone 'Mars/Olympus'"),
        (lambda d: d.__setitem__("routes", [{"receiver": "nobody"}]), "routes[0]: receiver 'nobody' is not in [[receivers]]"),
        (lambda d: d.__setitem__("receivers", [{"name": "ops", "url": "ftp://x"}]), "receiver ops, field url: String should match"),
    ],
)
def test_errors_name_file_entry_and_field(change, message):
    data = copy.deepcopy(_shipped())
    change(data)
    with pytest.raises(ConfigError) as raised:
        parse_catalog(data, Path("goals.toml"))
    assert str(raised.value).startswith("catalog goals.toml: ")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"catalog .*nope.toml: file not found \(set TRACKER_CONFIG"):
        load_catalog(tmp_path / "nope.toml")


def test_malformed_toml_names_the_line(tmp_path):
    path = tmp_path / "goals.toml"
    path.write_text('timezone = "Asia/Shanghai"\n[metrics\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"goals.toml: not valid TOML: .*line 2"):
        load_catalog(path)


def test_rules_override_defaults_by_name():
    data = copy.deepcopy(_shipped())
    data["rules"] = [{"name": "at-risk", "condition": "at_risk", "severity": "info", "for": "2d"}]
    rules = {r.name: r for r in parse_catalog(data).effective_rules()}
    assert rules["at-risk"].severity == "info" and rules["at-risk"].for_.days == 2
    assert rules["off-track"].severity == "critical"


def test_kinds_cover_every_goal_kind(catalog):
    assert {g.kind for g in catalog.goals} == set(Kind)

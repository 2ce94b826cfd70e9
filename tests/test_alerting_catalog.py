"""The catalog's alerting sections: matchers in both forms, [route] grouping inherited by
[[routes]], [[inhibit_rules]], errors that name the file and field; and migration 0007 turning
per-goal silences into matcher silences."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.conftest import CATALOG
from tracker.catalog.model import parse_catalog
from tracker.core.errors import ConfigError

FILE = Path("goals.toml")


def catalog_with(**sections):  # type: ignore[no-untyped-def]
    data = tomllib.loads(CATALOG.read_text())
    data["receivers"] = [{"name": "ops", "url": "https://hooks.example.com/x"}]
    return parse_catalog({**data, **sections}, FILE)


def test_string_and_table_forms_and_inherited_grouping() -> None:
    catalog = catalog_with(
        route={"group_by": ["goal", "alertname"], "group_wait": "10s", "repeat_interval": "4h"},
        routes=[{"receiver": "ops", "match": ['business="ev"', 'severity=~"critical|warning"']},
                {"receiver": "ops", "match": {"business": "phone"}, "group_wait": "1m"}],
        rules=[{"name": "off-track", "condition": "off_track", "severity": "critical", "match": ['goal!~"ev-.*"']}],
    )
    first, second = catalog.routes
    assert [str(m) for m in first.match] == ['business="ev"', 'severity=~"critical|warning"']
    assert (first.group_by, first.group_wait, first.repeat_interval) == (("goal", "alertname"), timedelta(seconds=10),
                                                                          timedelta(hours=4))
    assert second.group_wait == timedelta(minutes=1) and [str(m) for m in second.match] == ['business="phone"']
    assert first.key == '{}/{business="ev",severity=~"critical|warning"}'
    assert first.takes({"business": "ev", "severity": "critical"}, "critical")
    assert not first.takes({"business": "ev", "severity": "info"}, "info")
    (rule,) = [r for r in catalog.effective_rules() if r.name == "off-track"]
    assert [str(m) for m in rule.match] == ['goal!~"ev-.*"']


def test_inhibit_rules_replace_the_shipped_ones() -> None:
    assert len(catalog_with().effective_inhibit_rules()) == 3
    assert catalog_with(inhibit_rules=[]).effective_inhibit_rules() == []
    (own,) = catalog_with(inhibit_rules=[{"source_match": ['alertname="missed"'], "target_match": {"severity": "warning"},
                                          "equal": ["business"]}]).effective_inhibit_rules()
    assert own.equal == ("business",) and [str(m) for m in own.target_match] == ['severity="warning"']


@pytest.mark.parametrize(
    "sections, message",
    [
        ({"routes": [{"receiver": "ops", "match": ['business=~"(ev"']}]},
         "catalog goals.toml: route ops, field match: business=~'(ev': bad regular expression"),
        ({"routes": [{"receiver": "ops", "match": ['business=~"(?=ev)"']}]},
         "catalog goals.toml: route ops, field match: business=~'(?=ev)': lookaround"),
        ({"routes": [{"receiver": "ops", "match": ["business"]}]},
         "catalog goals.toml: route ops, field match: 'business' is not a matcher"),
        ({"inhibit_rules": [{"source_match": ['alertname="missed"'], "target_match": ['goal=~"["']}]},
         "catalog goals.toml: inhibit_rules[0], field target_match: goal=~'[': bad regular expression"),
        ({"rules": [{"name": "x", "condition": "missed", "severity": "info", "match": ['goal=~"*"']}]},
         "catalog goals.toml: rule x, field match: goal=~'*': bad regular expression"),
        ({"route": {"group_by": ["...", "goal"]}}, 'catalog goals.toml: field route.group_by: "..." means every label'),
    ],
    ids=["route-regex", "route-lookahead", "route-not-a-matcher", "inhibit-regex", "rule-regex", "group-by-all-and"],
)
def test_bad_matchers_are_catalog_errors_naming_file_and_field(sections, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as problem:
        catalog_with(**sections)
    assert str(problem.value).startswith(message)


def test_migration_0007_turns_goal_silences_into_matcher_silences(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    from tracker.store import db, silences
    from tracker.store.dbtypes import utc_to_db

    engine = create_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(db.migrations_path()))
    ends, made = datetime(2099, 1, 1, tzinfo=timezone.utc), datetime(2026, 7, 5, tzinfo=timezone.utc)
    dialect = engine.dialect.name
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
        connection.execute(text("INSERT INTO silences (subject, ends_at, comment, created_at) VALUES "
                                "('goal:ev-deliveries-2026', :ends, 'review', :made)"),
                           {"ends": utc_to_db(ends, dialect), "made": utc_to_db(made, dialect)})
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
    with db.session(engine) as session:
        (rule,) = silences.rules(session, now=made)
        (row,) = silences.listing(session)
        assert silences.active(session, now=made) == {"goal:ev-deliveries-2026": ends}
    assert [str(m) for m in rule.matchers] == ['goal="ev-deliveries-2026"']
    assert (row.comment, row.ends_at, row.starts_at) == ("review", ends, made)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT subject, comment FROM silences")).all() == [
            ("goal:ev-deliveries-2026", "review")]
    engine.dispose()

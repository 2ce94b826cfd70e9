"""`tracker sources` and `tracker collect` through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import CATALOG, table_dump

SOURCES = """
[[sources]]
name = "drop"
kind = "csv_dir"
schedule = "*/5 * * * *"
directory = "inbox"
failures_before_alert = 2

[[sources]]
name = "feed"
kind = "http_json"
schedule = "0 9 * * *"
url = "http://127.0.0.1:9/feed.json"
records_path = "data"
timeout_seconds = 2
"""


@pytest.fixture
def catalog_file(tmp_path: Path) -> Path:
    path = tmp_path / "cfg" / "goals.toml"
    (path.parent / "inbox").mkdir(parents=True)
    path.write_text(CATALOG.read_text(encoding="utf-8") + SOURCES, encoding="utf-8")
    return path


def test_collect_then_list_sources(cli, catalog_file: Path) -> None:
    env = {"TRACKER_CONFIG": str(catalog_file)}
    (catalog_file.parent / "inbox" / "may.csv").write_text("metric,period,value\nev_deliveries,2026-05,38000\n")
    done = cli("collect", "drop", env=env)
    assert (done.code, done.out) == (0, "collected drop: 1 actual(s) recorded\n")
    (catalog_file.parent / "inbox" / "bad.csv").write_text("nonsense\n")
    failed = cli("collect", "drop", env=env)
    assert failed.code == 1
    assert failed.err.splitlines()[-1].startswith("tracker: error: source drop: 1 file(s) quarantined: bad.csv: ")
    listed = cli("sources", "--json", env=env)
    assert listed.code == 0
    by_name = {item["source"]: item for item in json.loads(listed.out)}
    assert by_name["drop"]["outcome"] == "failed"
    assert by_name["drop"]["rows_recorded"] == 0
    assert (by_name["drop"]["consecutive_failures"], by_name["drop"]["failures_before_alert"]) == (1, 2)
    assert "bad.csv line 1: header 'nonsense'" in by_name["drop"]["last_error"]
    assert by_name["feed"] == {
        "source": "feed", "kind": "http_json", "schedule": "0 9 * * *", "metric": None, "last_run": None,
        "outcome": None, "rows_recorded": None, "last_error": None, "consecutive_failures": 0,
        "failing_since": None, "failures_before_alert": 3,
    }
    table = cli("sources", env=env)
    assert table.code == 0 and "never" in table.out and "1/2" in table.out


def test_an_unknown_source_exits_2_and_writes_nothing(cli, catalog_file: Path, sqlite_url: str) -> None:
    env = {"TRACKER_CONFIG": str(catalog_file)}
    assert cli("collect", "drop", env=env).code == 0  # creates the database and one run
    before = table_dump(sqlite_url, "collections"), table_dump(sqlite_url)
    result = cli("collect", "nope", env=env)
    assert result.code == 2
    assert result.err == "tracker: error: unknown source 'nope'; the catalog has: drop, feed\n"
    assert (table_dump(sqlite_url, "collections"), table_dump(sqlite_url)) == before


def test_a_catalog_with_a_bad_source_exits_2(cli, catalog_file: Path) -> None:
    catalog_file.write_text(catalog_file.read_text().replace('records_path = "data"', 'records_path = "data[?"'))
    result = cli("sources", env={"TRACKER_CONFIG": str(catalog_file)})
    assert result.code == 2
    assert "source feed, field records_path: 'data[?' is not a JMESPath expression" in result.err

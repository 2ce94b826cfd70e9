"""[[sources]] in the catalog: what each kind needs, and the errors check-config shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.collector_helpers import catalog_with

HTTP = {"name": "deliveries", "kind": "http_json", "schedule": "0 9 * * *", "url": "https://example.com/d.json"}
CSV = {"name": "inbox", "kind": "csv_dir", "schedule": "*/10 * * * *", "directory": "inbox"}


@pytest.mark.parametrize(
    "source",
    [
        pytest.param({**HTTP, "metric": "ev_deliveries", "value_path": "total", "period_path": "month"}, id="value-and-period-paths"),
        pytest.param({**HTTP, "metric": "home_stores", "value_path": "count", "period": "current"}, id="relative-period"),
        pytest.param({**HTTP, "records_path": "data[]"}, id="records"),
        pytest.param({**HTTP, "records_path": "data", "headers": {"Authorization": "Bearer ${TOKEN}"}}, id="header-env"),
        pytest.param(CSV, id="csv-dir"),
    ],
)
def test_valid_sources_load(source, tmp_path: Path) -> None:
    catalog = catalog_with([source], tmp_path / "goals.toml")
    assert [s.name for s in catalog.sources] == [source["name"]]


@pytest.mark.parametrize(
    "source, message",
    [
        pytest.param({**HTTP, "records_path": "d", "directory": "x"}, "directory is for csv_dir sources", id="stray-directory"),
        pytest.param({**CSV, "url": "https://x"}, "url is for http_json sources", id="stray-url"),
        pytest.param({**CSV, "directory": None}, "needs a directory", id="csv-without-directory"),
        pytest.param({**HTTP, "url": None, "records_path": "d"}, "needs a url", id="no-url"),
        pytest.param({**HTTP, "url": "ftp://x/y", "records_path": "d"}, "http:// or https://", id="ftp-url"),
        pytest.param({**HTTP, "metric": "ev_deliveries", "period_path": "p"}, "needs metric and value_path", id="no-value-path"),
        pytest.param(
            {**HTTP, "metric": "ev_deliveries", "value_path": "v", "period_path": "p", "period": "current"},
            "exactly one of period_path", id="two-periods",
        ),
        pytest.param({**HTTP, "metric": "ev_deliveries", "value_path": "v"}, "exactly one of period_path", id="no-period"),
        pytest.param({**HTTP, "records_path": "d", "value_path": "v"}, "records_path replaces", id="records-and-value"),
        pytest.param({**HTTP, "records_path": "data[?"}, "not a JMESPath expression", id="bad-jmespath"),
        pytest.param({**HTTP, "records_path": "d", "schedule": "every day"}, "not a crontab expression", id="bad-cron"),
        pytest.param({**HTTP, "records_path": "d", "headers": {"X": "$TOKEN"}}, "header X", id="bare-dollar"),
        pytest.param({**HTTP, "metric": "ev_deliverys", "value_path": "v", "period": "current"}, "metric 'ev_deliverys'", id="unknown-metric"),
        pytest.param({**CSV, "name": "Inbox!"}, "field name", id="bad-name"),
        pytest.param({**CSV, "failures_before_alert": 0}, "failures_before_alert", id="zero-threshold"),
        pytest.param({**HTTP, "url": "http://127.0.0.1:99999/x", "records_path": "d"}, "Port out of range", id="port-out-of-range"),
        pytest.param({**HTTP, "url": "http://[::1/x", "records_path": "d"}, "Invalid IPv6 URL", id="broken-ipv6"),
        pytest.param({**HTTP, "url": "http:///x", "records_path": "d"}, "with a host", id="no-host"),
        pytest.param({**HTTP, "records_path": "d", "headers": {"X": "é"}}, "printable ASCII", id="non-ascii-header"),
        pytest.param({**HTTP, "records_path": "d", "headers": {"X": "a\r\nInjected: 1"}}, "printable ASCII", id="header-newline"),
        pytest.param({**CSV, "directory": ""}, "not empty, and not the catalog's own folder", id="empty-directory"),
    ],
)
def test_bad_sources_are_refused_with_the_source_and_reason(source, message, tmp_path: Path) -> None:
    from tracker.core.errors import ConfigError

    source = {k: v for k, v in source.items() if v is not None}
    with pytest.raises(ConfigError) as caught:
        catalog_with([source], tmp_path / "goals.toml")
    assert message in str(caught.value)
    assert f"source {source['name']}" in str(caught.value)


def test_a_name_used_twice_is_refused(tmp_path: Path) -> None:
    from tracker.core.errors import ConfigError

    with pytest.raises(ConfigError, match="sources: a name is used twice"):
        catalog_with([CSV, CSV], tmp_path / "goals.toml")


def test_header_references_are_listed_without_values(tmp_path: Path) -> None:
    source = {**HTTP, "records_path": "d", "headers": {"Authorization": "Bearer ${B}", "X-Key": "${A}"}}
    (loaded,) = catalog_with([source], tmp_path / "goals.toml").sources
    assert loaded.env_names() == ["A", "B"]


def test_the_shipped_catalog_has_no_live_source_and_its_examples_load(tmp_path: Path) -> None:
    import tomllib

    from tests.conftest import CATALOG
    from tracker.catalog.model import load_catalog

    assert load_catalog(CATALOG).sources == ()
    text = CATALOG.read_text(encoding="utf-8")
    block = text[text.index("# # One value") :]
    uncommented = "\n".join(line.removeprefix("#").removeprefix(" ") for line in block.splitlines())
    examples = tomllib.loads(uncommented)["sources"]
    loaded = catalog_with(examples, tmp_path / "goals.toml").sources
    assert [(s.name, s.kind) for s in loaded] == [
        ("ev-deliveries-feed", "http_json"), ("home-stores-count", "http_json"),
        ("quarterly-results", "http_json"), ("finance-drop", "csv_dir"),
    ]

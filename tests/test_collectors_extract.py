"""Picking actuals out of a JSON document (pure: no network, no database)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from tests.collector_helpers import catalog_with

NOW = datetime(2026, 7, 5, 0, 0, tzinfo=timezone.utc)
BASE = {"name": "src", "kind": "http_json", "schedule": "0 9 * * *", "url": "https://example.com/x"}


def _source(tmp_path: Path, **fields):
    (source,) = catalog_with([{**BASE, **fields}], tmp_path / "goals.toml").sources
    return source


def _doc(text: str):
    return json.loads(text, parse_float=Decimal)


@pytest.mark.parametrize(
    "fields, document, expected",
    [
        pytest.param(
            {"metric": "ev_deliveries", "value_path": "total", "period_path": "month"},
            '{"total": 40123, "month": "2026-06"}', [("ev_deliveries", "2026-06", "40123")], id="paths",
        ),
        pytest.param(
            {"metric": "phone_revenue", "value_path": "data[-1].revenue", "period_path": "data[-1].quarter"},
            '{"data": [{"quarter": "2026-Q1", "revenue": 1.5}, {"quarter": "2026-Q2", "revenue": 46250.10}]}',
            [("phone_revenue", "2026-Q2", "46250.10")], id="decimal-kept-exact",
        ),
        pytest.param(
            {"metric": "rnd_spend", "value_path": "v", "period_path": "y"}, '{"v": "7000", "y": "2026-Q2"}',
            [("rnd_spend", "2026-Q2", "7000")], id="value-as-text",
        ),
        pytest.param(
            {"metric": "home_stores", "value_path": "count", "period": "current"}, '{"count": 812}',
            [("home_stores", "2026-07", "812")], id="current-period-in-catalog-zone",
        ),
        pytest.param(
            {"metric": "home_stores", "value_path": "count", "period": "previous"}, '{"count": 812}',
            [("home_stores", "2026-06", "812")], id="previous-period",
        ),
        pytest.param(
            {"records_path": "rows"},
            '{"rows": [{"metric": "ev_deliveries", "period": "2026-05", "value": 1},'
            ' {"metric": "home_stores", "period": "2026-05", "value": 2}]}',
            [("ev_deliveries", "2026-05", "1"), ("home_stores", "2026-05", "2")], id="records",
        ),
        pytest.param(
            {"records_path": "rows", "metric": "ev_deliveries"}, '{"rows": [{"period": "2026-05", "value": 3}]}',
            [("ev_deliveries", "2026-05", "3")], id="records-with-source-metric",
        ),
        pytest.param({"records_path": "rows"}, '{"rows": []}', [], id="no-records"),
    ],
)
def test_extract(fields, document, expected, tmp_path: Path) -> None:
    from tracker.collectors.http_json import extract

    source = _source(tmp_path, **fields)
    rows = extract(source, _doc(document), now=NOW, catalog=catalog_with([], tmp_path / "g.toml"))
    assert [(r.metric, r.period, r.value) for r in rows] == expected
    assert {r.source for r in rows} <= {"collector:src"}


@pytest.mark.parametrize(
    "fields, document, message",
    [
        pytest.param({"metric": "ev_deliveries", "value_path": "total", "period_path": "m"}, '{"m": "2026-06"}',
                     "value_path 'total' found nothing", id="value-missing"),
        pytest.param({"metric": "ev_deliveries", "value_path": "total", "period_path": "m"}, '{"total": {"a": 1}, "m": "2026-06"}',
                     "value_path 'total' found an object", id="value-object"),
        pytest.param({"metric": "ev_deliveries", "value_path": "total", "period_path": "m"}, '{"total": true, "m": "2026-06"}',
                     "found true/false", id="value-bool"),
        pytest.param({"metric": "ev_deliveries", "value_path": "total", "period_path": "m"}, '{"total": 5, "m": [1]}',
                     "period_path 'm' found a list", id="period-list"),
        pytest.param({"records_path": "rows"}, '{"rows": {"a": 1}}', "found an object, not a list of records", id="records-not-list"),
        pytest.param({"records_path": "rows"}, '{"rows": [3]}', "record 1: int, not an object", id="record-not-object"),
        pytest.param({"records_path": "rows"}, '{"rows": [{"period": "2026-05", "value": 3}]}', "record 1: no metric", id="record-no-metric"),
        pytest.param({"records_path": "rows"}, '{"rows": [{"metric": "ev_deliveries", "value": 3}]}',
                     "record 1, period found nothing", id="record-no-period"),
        pytest.param({"records_path": "rows"}, '[1, 2]', "records_path 'rows' found nothing", id="document-is-list"),
    ],
)
def test_extract_refuses_malformed_documents(fields, document, message, tmp_path: Path) -> None:
    from tracker.collectors.http_json import extract
    from tracker.collectors.outcome import CollectionFailed

    source = _source(tmp_path, **fields)
    with pytest.raises(CollectionFailed) as caught:
        extract(source, _doc(document), now=NOW, catalog=catalog_with([], tmp_path / "g.toml"))
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "headers, environ, expected",
    [
        pytest.param({"Authorization": "Bearer ${T}"}, {"T": "abc"}, {"Authorization": "Bearer abc"}, id="expanded"),
        pytest.param({"X": "${A}-${B}"}, {"A": "1", "B": "2"}, {"X": "1-2"}, id="two"),
        pytest.param({"Accept": "application/json"}, {}, {"Accept": "application/json"}, id="literal"),
    ],
)
def test_expand_headers(headers, environ, expected) -> None:
    from tracker.collectors.http_json import expand_headers

    assert expand_headers(headers, environ) == expected


def test_a_missing_variable_is_named_without_any_value() -> None:
    from tracker.collectors.http_json import expand_headers
    from tracker.collectors.outcome import CollectionFailed

    with pytest.raises(CollectionFailed, match="header Authorization: environment variable TOKEN is not set"):
        expand_headers({"Authorization": "Bearer ${TOKEN}"}, {"OTHER": "x"})

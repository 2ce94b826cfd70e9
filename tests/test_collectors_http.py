"""http_json against a real loopback server, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from structlog.testing import capture_logs

from tests.collector_helpers import actuals, catalog_with, collections, runtime_for

NOW = datetime(2026, 7, 5, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def make(engine, httpserver, tmp_path: Path):
    """A runtime with one http_json source reading /d.json, and a collect() for it."""

    def build(**fields):
        source = {
            "name": "deliveries", "kind": "http_json", "schedule": "0 9 * * *", "url": httpserver.url_for("/d.json"),
            "metric": "ev_deliveries", "value_path": "total", "period_path": "month", "timeout_seconds": 5, **fields,
        }
        runtime = runtime_for(engine, catalog_with([source], tmp_path / "goals.toml"))
        (config,) = runtime.catalog.sources

        def collect(now: datetime = NOW):
            from tracker.collectors.runner import collect as run

            with httpx.Client() as client:
                return run(runtime, config, now=now, client=client)

        return runtime, collect

    return build


def serve(httpserver, body, **kwargs) -> None:
    httpserver.clear_all_handlers()
    httpserver.expect_request("/d.json", **kwargs).respond_with_json(body)


def test_records_then_is_idempotent_then_revises(make, engine, httpserver) -> None:
    _, collect = make()
    serve(httpserver, {"total": 40123, "month": "2026-06"})
    first = collect()
    again = collect(NOW + timedelta(hours=1))
    serve(httpserver, {"total": 40500, "month": "2026-06"})
    revised = collect(NOW + timedelta(hours=2))
    assert [(r.outcome, r.recorded, r.error) for r in (first, again, revised)] == [("ok", 1, None), ("ok", 0, None), ("ok", 1, None)]
    assert actuals(engine) == [
        ("2026-06", "40123", 1, False, "collector:deliveries"),
        ("2026-06", "40500", 2, True, "collector:deliveries"),
    ]
    assert collections(engine) == [("deliveries", "ok", 1, None), ("deliveries", "ok", 0, None), ("deliveries", "ok", 1, None)]


def test_records_mode_is_all_or_none(make, engine, httpserver) -> None:
    _, collect = make(metric=None, value_path=None, period_path=None, records_path="data")
    good = {"metric": "ev_deliveries", "period": "2026-05", "value": 38000}
    serve(httpserver, {"data": [good, {"metric": "ev_deliveries", "period": "2026-06", "value": 999999}]})
    refused = collect()
    assert (refused.outcome, refused.recorded) == ("failed", 0)
    assert refused.error.startswith("record 2: value 999999 for ev_deliveries is above its maximum 150000")
    assert actuals(engine) == []
    serve(httpserver, {"data": [good, {"metric": "ev_deliveries", "period": "2026-06", "value": 40000}]})
    assert collect().recorded == 2
    assert [row[:2] for row in actuals(engine)] == [("2026-05", "38000"), ("2026-06", "40000")]


@pytest.mark.parametrize(
    "respond, message",
    [
        pytest.param(lambda r: r.respond_with_data("<html>oops</html>", content_type="text/html"),
                     "the response is not JSON (HTTP 200, text/html, 17 bytes)", id="not-json"),
        pytest.param(lambda r: r.respond_with_json({"month": "2026-06"}), "value_path 'total' found nothing", id="no-value"),
        pytest.param(lambda r: r.respond_with_json({"total": 1, "month": "June"}), "period 'June' is not one of the forms", id="bad-period"),
        pytest.param(lambda r: r.respond_with_json({"total": "1,000", "month": "2026-06"}), "without thousands separators", id="bad-number"),
        pytest.param(lambda r: r.respond_with_json({"total": 150001, "month": "2026-06"}), "above its maximum 150000", id="out-of-bounds"),
        pytest.param(lambda r: r.respond_with_json({"total": -1, "month": "2026-06"}), "below its minimum 0", id="negative"),
        pytest.param(lambda r: r.respond_with_data("busy", status=503), "HTTP 503 SERVICE UNAVAILABLE", id="http-503"),
    ],
)
def test_bad_responses_record_nothing_and_say_why(make, engine, httpserver, respond, message) -> None:
    _, collect = make()
    respond(httpserver.expect_request("/d.json"))
    with capture_logs() as logs:
        result = collect()
    assert result.outcome == "failed" and result.recorded == 0
    assert message in result.error
    assert actuals(engine) == []
    assert collections(engine) == [("deliveries", "failed", 0, result.error)]
    assert [(e["event"], e["source"], e["log_level"]) for e in logs] == [("collection failed", "deliveries", "warning")]


def test_a_tenfold_jump_is_not_recorded(make, engine, httpserver) -> None:
    from tracker.store import actuals as store
    from tracker.store import db

    runtime, collect = make()
    with db.session(engine, write=True) as session:
        store.record(session, catalog=runtime.catalog, metric="ev_deliveries", period="2026-05", value="40000", now=NOW)
    serve(httpserver, {"total": 3000, "month": "2026-06"})
    result = collect()
    assert result.outcome == "failed"
    assert "more than ten times below 40000 for 2026-05" in result.error
    assert [row[0] for row in actuals(engine)] == ["2026-05"]


def test_a_timeout_is_a_failure_within_the_client_timeout(make, engine, httpserver) -> None:
    _, collect = make(timeout_seconds=0.3)
    release = threading.Event()

    def slow(request):  # holds the answer until the test has seen the timeout (bounded: 10 s)
        from werkzeug import Response

        release.wait(10)
        return Response('{"total": 1, "month": "2026-06"}', content_type="application/json")

    httpserver.expect_request("/d.json").respond_with_handler(slow)
    try:
        result = collect()
    finally:
        release.set()
    assert (result.outcome, result.recorded) == ("failed", 0)
    assert result.error == f"GET {httpserver.url_for('/d.json')}: no answer within 0.3s"
    assert actuals(engine) == []


def test_header_secrets_come_from_the_environment_and_are_never_stored(make, engine, httpserver, monkeypatch) -> None:
    _, collect = make(headers={"Authorization": "Bearer ${TRACKER_SOURCE_TOKEN}"})
    monkeypatch.delenv("TRACKER_SOURCE_TOKEN", raising=False)
    serve(httpserver, {"total": 40000, "month": "2026-06"}, headers={"Authorization": "Bearer s3cret-t0ken"})
    missing = collect()
    assert missing.error == "header Authorization: environment variable TRACKER_SOURCE_TOKEN is not set"
    monkeypatch.setenv("TRACKER_SOURCE_TOKEN", "s3cret-t0ken")
    with capture_logs() as logs:
        found = collect()
    assert (found.outcome, found.recorded) == ("ok", 1)
    stored = repr(collections(engine)) + repr(actuals(engine)) + repr(logs)
    assert "s3cret" not in stored


def test_failures_are_counted_until_the_threshold_and_reset_by_a_good_run(make, engine, httpserver) -> None:
    from tracker.collectors.health import failing_sources
    from tracker.store import db

    runtime, collect = make(failures_before_alert=3)
    httpserver.expect_request("/d.json").respond_with_data("down", status=500)

    def health():
        with db.session(engine) as session:
            return failing_sources(session, catalog=runtime.catalog)

    seen = []
    for hour in range(3):
        collect(NOW + timedelta(hours=hour))
        (state,) = health()
        seen.append((state.consecutive_failures, state.alerting))
    assert seen == [(1, False), (2, False), (3, True)]
    assert (state.name, state.threshold, state.since) == ("deliveries", 3, NOW)
    assert state.last_error.endswith("HTTP 500 INTERNAL SERVER ERROR")

    serve(httpserver, {"total": 40000, "month": "2026-06"})
    assert collect(NOW + timedelta(hours=3)).ok
    assert health() == []
    httpserver.clear_all_handlers()
    httpserver.expect_request("/d.json").respond_with_data("down", status=500)
    collect(NOW + timedelta(hours=4))
    assert [(s.consecutive_failures, s.since) for s in health()] == [(1, NOW + timedelta(hours=4))]


def test_sources_removed_from_the_catalog_are_not_reported(make, engine, httpserver, tmp_path: Path) -> None:
    from tracker.collectors.health import failing_sources
    from tracker.store import db

    _, collect = make()
    httpserver.expect_request("/d.json").respond_with_data("down", status=500)
    collect()
    with db.session(engine) as session:
        assert failing_sources(session, catalog=catalog_with([], tmp_path / "other.toml")) == []


def test_a_forced_value_already_on_record_is_not_refused_again(make, engine, httpserver) -> None:
    from tracker.store import actuals as store
    from tracker.store import db

    runtime, collect = make()
    with db.session(engine, write=True) as session:
        for period, value in (("2026-05", "40000"), ("2026-06", "3000")):
            store.record(session, catalog=runtime.catalog, metric="ev_deliveries", period=period, value=value, now=NOW, force=True)
    serve(httpserver, {"total": 3000, "month": "2026-06"})
    result = collect()
    assert (result.outcome, result.recorded) == ("ok", 0)
    assert len(actuals(engine)) == 2

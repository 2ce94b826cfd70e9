"""The daemon's JSON pages as plain handlers (`/api/status`, `/api/goals/{id}`), and all of its
pages served by `tracker run` (`/` and `/goals/{id}` are tested apart in tests/test_pages.py)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import CATALOG
from tests.reportkit import AS_OF
from tests.test_report import cards, rows
from tests.test_report_cli import sampled  # noqa: F401 (a fixture)
from tracker.views import dashboard


@pytest.fixture
def runtime(sampled, sqlite_url):  # type: ignore[no-untyped-def]  # noqa: F811
    from tracker.catalog.settings import Settings
    from tracker.store.runtime import Runtime

    runtime = Runtime(Settings(database_url=sqlite_url, config=CATALOG), clock=lambda: AS_OF)
    yield runtime
    runtime.engine.dispose()


def test_api_status_is_the_json_of_status(runtime, catalog):
    from tracker.store import db
    from tracker.store.judging import evaluate_from_db

    status, content_type, body = dashboard.api_status(runtime)
    with db.session(runtime.engine) as session:
        expected = [e.to_json() for e in evaluate_from_db(session, catalog=catalog, now=AS_OF)]
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body) == json.loads(json.dumps(expected))


def test_api_goal_adds_the_actuals_and_target_revisions(runtime):
    status, _, body = dashboard.api_goal(runtime, "ev-deliveries-2025")
    goal = json.loads(body)
    assert status == 200
    assert goal["goal"] == "ev-deliveries-2025"
    assert [(t["value"], t["effective"]) for t in goal["targets"]] == [
        (300000, "2025-01-01"), (350000, "2025-03-01"), (400000, "2025-12-01")]
    deliveries = goal["actuals"]["ev_deliveries"]
    assert deliveries[0] == {"period": "2025-01", "value": 22000, "recorded_at": "2026-07-05T00:00:00+00:00"}
    assert [row["period"] for row in deliveries][-1] == "2026-06"
    # the verdict is the one the whole-catalog judgement gives for this goal
    from tracker.store import db
    from tracker.store.judging import evaluate_from_db

    with db.session(runtime.engine) as session:
        everyone = {e.goal: e.to_json() for e in evaluate_from_db(session, catalog=runtime.catalog, now=runtime.now())}
    assert {k: v for k, v in goal.items() if k not in ("targets", "actuals")} == everyone["ev-deliveries-2025"]


def test_api_goal_answers_404_for_an_unknown_id(runtime):
    status, content_type, body = dashboard.api_goal(runtime, "no-such-goal")
    assert (status, content_type) == (404, "application/json")
    answer = json.loads(body)
    assert answer["error"] == "no goal 'no-such-goal'" and "ev-deliveries-2026" in answer["goals"]


@pytest.mark.slow
def test_the_daemon_serves_the_page_and_the_api(sampled, sqlite_url, tmp_path, catalog):  # noqa: F811
    """`tracker run` in a subprocess answers on its HTTP port: `/`, `/api/status`,
    `/api/goals/{id}` (on the wall clock, so only what does not depend on the date is checked)."""
    import os
    from functools import partial

    from tests import polling
    from tests.conftest import ROOT
    from tests.test_daemon_e2e import DaemonProcess, free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(PYTHONPATH=str(ROOT), TRACKER_DATABASE_URL=sqlite_url, TRACKER_CONFIG=str(CATALOG),
               TRACKER_HTTP_PORT=str(port), TRACKER_LOG_FORMAT="json")
    daemon = DaemonProcess(env, tmp_path / "daemon.log", port)
    wait_for = partial(polling.wait_for, deadline=120.0)
    try:
        wait_for(lambda: (r := daemon.get("/healthz")) is not None and r.status_code == 200, "/healthz")
        def listed():  # the page shows the first cycle's verdicts once it has finished
            page = httpx.get(daemon.base + "/", timeout=30)
            return page if set(rows(page.text)) == {goal.id for goal in catalog.goals} else None

        page = wait_for(listed, "/ to list every goal")
        assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
        def drawn():  # 503 while the drawing child is slow to start on a loaded machine
            answer = httpx.get(daemon.base + "/goals/home-stores-2026", timeout=60)
            return answer if answer.status_code != 503 else None

        one_page = wait_for(drawn, "/goals/home-stores-2026")
        assert one_page.status_code == 200 and list(cards(one_page.text)) == ["home-stores-2026"]
        status = daemon.get("/api/status")
        assert status.headers["content-type"] == "application/json"
        assert sorted(item["goal"] for item in status.json()) == sorted(goal.id for goal in catalog.goals)
        one = daemon.get("/api/goals/home-stores-2026").json()
        assert one["goal"] == "home-stores-2026" and one["actuals"]["home_stores"][0]["period"] == "2025-12"
        missing = daemon.get("/api/goals/nope")
        assert missing.status_code == 404 and missing.json()["error"] == "no goal 'nope'"
    finally:
        assert daemon.stop() == 0

"""The daemon's HTTP endpoints on a loopback port, and the metrics they expose."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal

import httpx
import pytest

from tests.conftest import NOW


def evaluation(goal: str, status: str, attainment: float | None = 0.5, projected: float | None = 0.9):
    from tracker.core.verdict import Evaluation, Status

    return Evaluation(
        goal=goal, title=goal, kind="cumulative", period_start=date(2026, 1, 1), period_end=date(2027, 1, 1),
        status=Status(status), evaluated_at=NOW, target=Decimal(100), attainment=attainment,
        projected_attainment=projected,
    )


@dataclass
class FakeState:
    """What the web reads from the daemon: its metrics and its readiness checks."""

    metrics: object
    checks: dict = field(default_factory=lambda: {"database": (True, "reachable"), "catalog": (True, "13 goals"),
                                                  "scheduler": (True, "running")})

    def readiness(self):
        return self.checks


@pytest.fixture
def state():
    from tracker.service.metrics import DaemonMetrics

    return FakeState(DaemonMetrics())


@pytest.fixture
def serve(state):
    """Starts the server on an ephemeral loopback port; yields an httpx client for it."""
    from tracker.service.web import App, Server

    servers = []

    def start(app=None):
        server = Server(app or App(state), "127.0.0.1", 0).start()
        servers.append(server)
        return httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=5)

    yield start
    for server in servers:
        server.stop()


def families(text: str) -> dict:
    from prometheus_client.parser import text_string_to_metric_families

    return {family.name: family for family in text_string_to_metric_families(text)}


def test_healthz_and_readyz_when_all_is_well(serve):
    client = serve()
    assert (client.get("/healthz").status_code, client.get("/healthz").text) == (200, "ok\n")
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "checks": {
        "database": {"ok": True, "detail": "reachable"},
        "catalog": {"ok": True, "detail": "13 goals"},
        "scheduler": {"ok": True, "detail": "running"}}}


@pytest.mark.parametrize("failing", ["database", "catalog", "scheduler"])
def test_readyz_is_503_when_any_check_fails(serve, state, failing):
    state.checks[failing] = (False, "down")
    response = serve().get("/readyz")
    assert response.status_code == 503
    assert response.json()["ready"] is False
    assert response.json()["checks"][failing] == {"ok": False, "detail": "down"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nope", 404), ("POST", "/metrics", 405), ("DELETE", "/healthz", 405), ("PUT", "/readyz", 405)],
    ids=["unknown-path", "post", "delete", "put"],
)
def test_only_reads_are_served(serve, method, path, status):
    response = serve().request(method, path)
    assert response.status_code == status
    if status == 405:
        assert response.headers["allow"] == "GET, HEAD"


def test_a_route_is_one_line_in_the_table(serve, state):
    from tracker.service.web import ROUTES, App, Response

    # (a path of its own: /api/goals/{goal_id} is a real route now, tests/test_dashboard.py)
    routes = [*ROUTES, ("/api/things/{id}", lambda request: Response.json(200, {"thing": request.params["id"]}))]
    client = serve(App(state, routes))
    assert client.get("/api/things/ev-deliveries-2026").json() == {"thing": "ev-deliveries-2026"}
    assert client.get("/api/things/a/b").status_code == 404


def test_a_failing_handler_is_a_500_and_the_server_goes_on(serve, state):
    from tracker.service.web import ROUTES, App

    def broken(request):
        raise RuntimeError("boom")

    client = serve(App(state, [*ROUTES, ("/broken", broken)]))
    assert client.get("/broken").status_code == 500
    assert client.get("/healthz").status_code == 200


def test_metrics_parse_and_say_what_the_last_evaluation_found(serve, state):
    metrics = state.metrics
    metrics.observe_evaluation(
        [evaluation("ev-deliveries-2026", "at_risk", 0.4, 0.93), evaluation("home-stores-2026", "no_data", None, None)],
        {"ev_deliveries": datetime(2026, 7, 3, 8, 0, tzinfo=timezone.utc)},
    )
    metrics.evaluation_seconds.observe(0.2)
    metrics.observe_delivery({"ops": {"sent": 2, "failed": 1, "dead": 0}}, depth=3)
    text = serve().get("/metrics").text
    found = families(text)

    status = {(s.labels["goal"], s.labels["status"]): s.value for s in found["tracker_goal_status"].samples}
    assert status[("ev-deliveries-2026", "at_risk")] == 1.0
    assert sum(v for (goal, _), v in status.items() if goal == "ev-deliveries-2026") == 1.0
    assert status[("home-stores-2026", "no_data")] == 1.0
    assert len(status) == 2  # one series per goal, its status as the label: no zeros for the other five
    assert [(s.labels, s.value) for s in found["tracker_goal_attainment"].samples] == [({"goal": "ev-deliveries-2026"}, 0.4)]
    assert [s.value for s in found["tracker_goal_projected_attainment"].samples] == [0.93]
    [last] = found["tracker_metric_last_actual_timestamp_seconds"].samples
    assert last.labels == {"metric": "ev_deliveries"}
    assert last.value == datetime(2026, 7, 3, 8, 0, tzinfo=timezone.utc).timestamp()
    assert metrics.registry.get_sample_value("tracker_evaluation_duration_seconds_count") == 1
    sent = {s.name: s.value for s in found["tracker_notifications_sent"].samples}
    assert sent["tracker_notifications_sent_total"] == 2
    assert metrics.registry.get_sample_value("tracker_notifications_failed_total", {"receiver": "ops"}) == 1
    assert metrics.registry.get_sample_value("tracker_notifications_dead_total", {"receiver": "ops"}) == 0
    assert found["tracker_outbox_depth"].samples[0].value == 3


def test_a_goal_gone_from_the_catalog_leaves_metrics_at_the_next_evaluation(state):
    metrics = state.metrics
    metrics.observe_evaluation([evaluation("old-goal", "on_track")], {})
    assert metrics.sample("tracker_goal_status", {"goal": "old-goal", "status": "on_track"}) == 1
    metrics.observe_evaluation([evaluation("new-goal", "off_track")], {})
    assert metrics.sample("tracker_goal_status", {"goal": "old-goal", "status": "on_track"}) is None
    assert metrics.sample("tracker_goal_status", {"goal": "new-goal", "status": "off_track"}) == 1


def test_each_daemon_has_its_own_registry():
    from prometheus_client import REGISTRY

    from tracker.service.metrics import DaemonMetrics

    first, second = DaemonMetrics(), DaemonMetrics()
    first.observe_delivery({"ops": {"sent": 5}}, depth=None)
    assert second.registry.get_sample_value("tracker_notifications_sent_total", {"receiver": "ops"}) is None
    assert REGISTRY.get_sample_value("tracker_notifications_sent_total", {"receiver": "ops"}) is None


def _raw(port: int, data: bytes, wait: float = 5.0) -> tuple[bytes, float]:
    """Sends `data` on a fresh connection; returns all the server sent and when it closed."""
    import socket
    import time

    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as conn:
        conn.sendall(data)
        received = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    return received, time.monotonic() - started


@pytest.fixture
def server(state):
    from tracker.service.web import App, Server

    running = Server(App(state), "127.0.0.1", 0, idle_timeout=1).start()
    yield running
    running.stop()


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/readyz"])
def test_head_answers_the_headers_of_get_without_a_body(server, path):
    answer, _ = _raw(server.port, f"HEAD {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and body == b""
    get = httpx.get(f"http://127.0.0.1:{server.port}{path}")
    if path != "/metrics":  # the metrics' own figures move between the two requests
        assert f"content-length: {len(get.content)}".encode() in head.lower()


@pytest.mark.parametrize("opening", [
    bytes.fromhex("160301020001000200fc03") + b"\0" * 64,  # the start of a TLS ClientHello
    b"\x00\xff\xfe garbage",
])
def test_a_tls_hello_or_garbage_is_closed_at_once(server, opening):
    answer, seconds = _raw(server.port, opening)
    assert answer == b"" and seconds < 0.5


def test_a_half_sent_request_is_closed_after_the_idle_timeout(server):
    answer, seconds = _raw(server.port, b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
    assert answer == b"" and 0.9 <= seconds < 4.0


def test_stop_waits_for_the_request_in_flight(state):
    import threading

    from tracker.service.web import ROUTES, App, Response, Server

    entered, release = threading.Event(), threading.Event()

    def slow(_request):
        entered.set()
        release.wait(10)
        return Response(200, "done\n")

    running = Server(App(state, routes=[*ROUTES, ("/slow", slow)]), "127.0.0.1", 0).start()
    answers: list[httpx.Response] = []
    client = threading.Thread(target=lambda: answers.append(httpx.get(f"http://127.0.0.1:{running.port}/slow",
                                                                      timeout=10)))
    client.start()
    assert entered.wait(5)
    stopper = threading.Thread(target=running.stop)
    stopper.start()
    stopper.join(0.5)
    assert stopper.is_alive()  # still waiting for /slow
    release.set()
    stopper.join(10)
    client.join(10)
    assert not stopper.is_alive() and [a.text for a in answers] == ["done\n"]


@pytest.mark.parametrize("accept", ["", "PROMETHEUS"], ids=["text", "prometheus-openmetrics"])
def test_a_scrape_renders_no_goal_series_the_cycle_rendered(serve, state, monkeypatch, accept):
    from tracker.service.metrics import PROMETHEUS_ACCEPT, Snapshot

    state.metrics.observe_evaluation([evaluation("ev-deliveries-2026", "at_risk", 0.4, 0.93)], {})

    def refuse(_self):
        raise AssertionError("rendered at scrape time")

    monkeypatch.setattr(Snapshot, "families", refuse)
    header = PROMETHEUS_ACCEPT if accept else ""
    answer = serve().get("/metrics", headers={"Accept": header, "Accept-Encoding": "gzip"})
    assert answer.status_code == 200 and answer.headers["content-encoding"] == "gzip"
    assert 'tracker_goal_status{goal="ev-deliveries-2026",status="at_risk"} 1.0' in answer.text
    assert answer.headers["content-type"].startswith("application/openmetrics-text" if accept else "text/plain")

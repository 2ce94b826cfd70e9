"""/metrics and /api/status of a real daemon (its units, runner and HTTP server, in process,
on a loopback port) after an evaluation of the sample data: what the series say, that
promtool accepts a real scrape, the formats and gzip, that neither endpoint evaluates, HEAD
everywhere, and POST /-/reload as Prometheus's lifecycle API answers."""

from __future__ import annotations

import gzip
import json
import shutil
import socket
import subprocess
import zlib
from pathlib import Path

import httpx
import pytest

from tests.conftest import CATALOG, NOW, ROOT

SAMPLE = ROOT / "config" / "sample-actuals.csv"


def families(text: str) -> dict:
    from prometheus_client.parser import text_string_to_metric_families

    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(text: str, name: str) -> list:
    return [s for family in families(text).values() for s in family.samples if s.name == name]


class Live:
    """A daemon built as `tracker run` builds it, its catalog a copy it may edit."""

    def __init__(self, sqlite_url: str, tmp_path: Path, *, lifecycle: bool) -> None:
        from tracker.catalog.settings import HttpSettings, Settings
        from tracker.service.daemon import Daemon
        from tracker.service.jobs import Units, build_jobs
        from tracker.service.metrics import DaemonMetrics
        from tracker.service.web import App, Server
        from tracker.store.runtime import Runtime

        self.catalog = tmp_path / "goals.toml"
        self.catalog.write_text(CATALOG.read_text(encoding="utf-8"), encoding="utf-8")
        settings = Settings(database_url=sqlite_url, config=self.catalog, http_port=0,
                            http=HttpSettings(enable_lifecycle=lifecycle))
        self.runtime = Runtime(settings, clock=lambda: NOW)
        self.metrics = DaemonMetrics()
        self.units = Units(self.runtime, self.metrics, once=True)
        self.daemon = Daemon(self.runtime, self.metrics,
                             lambda catalog: build_jobs(catalog, settings=settings, units=self.units))
        self.server = Server(App(self.daemon), "127.0.0.1", 0).start()
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.server.port}", timeout=10)

    def close(self) -> None:
        self.client.close()
        self.server.stop()
        if self.daemon.scheduler is not None and self.daemon.scheduler_running():
            self.daemon.scheduler.shutdown(wait=True)
        self.units.close()
        self.runtime.engine.dispose()


@pytest.fixture
def live(cli, sqlite_url, tmp_path):
    assert cli("import", str(SAMPLE)).code == 0
    made = []

    def start(*, lifecycle: bool = False, evaluate: bool = True) -> Live:
        daemon = Live(sqlite_url, tmp_path, lifecycle=lifecycle)
        made.append(daemon)
        if evaluate:
            assert daemon.daemon.once() == 0  # the start-up jobs, through the runner, as `run --once`
        return daemon

    yield start
    for daemon in made:
        daemon.close()


def test_the_series_say_what_the_evaluation_found_and_what_runs(live):
    text = live().client.get("/metrics").text

    statuses = samples(text, "tracker_goal_status")
    assert len(statuses) == 13 and all(s.value == 1.0 for s in statuses)  # one series a goal, no zeros
    assert {s.labels["goal"]: s.labels["status"] for s in statuses}["aiot-gross-margin-2026"] == "off_track"
    [ev] = [s for s in samples(text, "tracker_goal_probability") if s.labels["goal"] == "ev-deliveries-2026"]
    assert 0.0 < ev.value < 0.5  # at risk (README's walk-through: 20%)
    # No value for goals without data: 11 goals with data have a probability, milestones too.
    assert {s.labels["goal"] for s in samples(text, "tracker_goal_attainment")} >= {"ev-deliveries-2026"}
    info = {s.labels["goal"]: s.labels for s in samples(text, "tracker_goal_info")}
    assert info["ev-deliveries-2026"] == {"goal": "ev-deliveries-2026", "business": "ev", "headline": "true"}
    assert len(info) == 13

    [build] = samples(text, "tracker_build_info")
    from tracker import __version__

    assert build.labels["version"] == __version__ and build.labels["python"].count(".") == 2
    assert samples(text, "process_resident_memory_bytes")[0].value > 0
    assert samples(text, "python_info")  # the platform collector
    assert samples(text, "tracker_config_last_reload_successful")[0].value == 1
    assert samples(text, "tracker_config_last_reload_success_timestamp_seconds")[0].value == NOW.timestamp()

    runs = samples(text, "tracker_job_runs_total")
    assert {(s.labels["task"], s.labels["outcome"]) for s in runs} >= {("evaluate", "ok"), ("deliver", "ok")}
    assert all("job" not in s.labels for s in runs)  # Prometheus's own label, never ours


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (.ci/run installs prometheus)")
def test_promtool_accepts_a_real_scrape(live):
    body = live().client.get("/metrics").content
    checked = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, timeout=60, check=False)
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, b"")


def test_gzip_is_one_member_and_openmetrics_ends_once(live):
    daemon = live()
    plain = daemon.client.get("/metrics", headers={"Accept-Encoding": "identity"})
    assert plain.headers.get("content-encoding") is None
    with httpx.stream("GET", f"{daemon.client.base_url}/metrics", headers={"Accept-Encoding": "gzip"}) as zipped:
        raw = b"".join(zipped.iter_raw())
        assert zipped.headers["content-encoding"] == "gzip"
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    body = inflate.decompress(raw)
    assert inflate.eof and inflate.unused_data == b""  # one gzip member: every client reads it whole
    assert body == gzip.decompress(raw)
    goal_series = ("tracker_goal_status", "tracker_goal_probability", "tracker_goal_info")
    for name in goal_series:
        assert samples(body.decode(), name) == samples(plain.text, name)
    assert samples(body.decode(), "tracker_build_info")  # the live part follows the goal part

    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    open_metrics = daemon.client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
    assert open_metrics.text.endswith("# EOF\n") and open_metrics.text.count("# EOF") == 1
    parsed = {f.name: f for f in text_string_to_metric_families(open_metrics.text)}
    assert parsed["tracker_goal"].type == "info" and parsed["tracker_build"].type == "info"
    assert len(parsed["tracker_goal_status"].samples) == 13


def test_api_status_is_gzip_when_accepted_and_the_same_json(live):
    daemon = live()
    plain = daemon.client.get("/api/status", headers={"Accept-Encoding": "identity"})
    assert plain.headers.get("content-encoding") is None and plain.headers["vary"] == "Accept-Encoding"
    with httpx.stream("GET", f"{daemon.client.base_url}/api/status", headers={"Accept-Encoding": "gzip"}) as zipped:
        raw = b"".join(zipped.iter_raw())
        assert zipped.headers["content-encoding"] == "gzip"
    assert gzip.decompress(raw) == plain.content and len(raw) < len(plain.content)
    assert [item["goal"] for item in json.loads(plain.content)] == [g.id for g in daemon.runtime.catalog.goals]


def test_neither_endpoint_evaluates_between_cycles(live, cli, monkeypatch):
    daemon = live()
    before = daemon.client.get("/api/status")
    assert before.headers["content-type"] == "application/json"

    import tracker.store.judging
    import tracker.views.dashboard

    def refuse(*_args, **_kwargs):
        raise AssertionError("a request evaluated")

    monkeypatch.setattr(tracker.store.judging, "evaluate_from_db", refuse)
    monkeypatch.setattr(tracker.views.dashboard, "evaluate_from_db", refuse)
    assert cli("record", "ev_deliveries", "2026-06", "52000").code == 0  # the next cycle will see it
    again = daemon.client.get("/api/status")
    assert again.status_code == 200 and again.content == before.content  # as the last cycle found it
    assert daemon.client.get("/metrics").status_code == 200
    [ev] = [item for item in again.json() if item["goal"] == "ev-deliveries-2026"]
    assert ev["status"] == "at_risk" and ev["evaluated_at"].startswith("2026-07-05")
    assert {item["goal"] for item in again.json()} == {s.labels["goal"] for s in
                                                      samples(daemon.client.get("/metrics").text, "tracker_goal_status")}

    monkeypatch.undo()
    daemon.units.evaluate(NOW)  # the next cycle
    [moved] = [item for item in daemon.client.get("/api/status").json() if item["goal"] == "ev-deliveries-2026"]
    assert moved["probability"] > ev["probability"]  # README's walk-through: 20% -> 63%


def test_api_status_is_judged_live_before_the_first_cycle(live):
    daemon = live(evaluate=False)
    answer = daemon.client.get("/api/status")
    assert answer.status_code == 200 and len(answer.json()) == 13
    assert samples(daemon.client.get("/metrics").text, "tracker_goal_status") == []  # nothing evaluated yet


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize(("path", "status"), [
    ("/healthz", 200), ("/metrics", 200), ("/api/status", 200), ("/readyz", 503),  # no scheduler runs here
    ("/nope", 404), ("/-/reload", 405),
])
def test_head_answers_without_a_body_everywhere(live, path, status):
    daemon = live()
    answer = _raw(daemon.server.port, f"HEAD {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status}".encode()) and body == b""
    if path in ("/healthz", "/api/status"):  # the others' figures move between requests
        length = len(daemon.client.get(path).content)
        assert f"content-length: {length}".encode() in head.lower()


def _edit_title(catalog: Path, title: str) -> None:
    text = catalog.read_text(encoding="utf-8")
    start = text.index('id = "ev-deliveries-2026"')
    line_start = text.index("title = ", start)
    line_end = text.index("\n", line_start)
    catalog.write_text(text[:line_start] + f"title = {json.dumps(title)}" + text[line_end:], encoding="utf-8")


def test_post_reload_rereads_the_catalog_when_the_lifecycle_api_is_on(live):
    daemon = live(lifecycle=True)
    daemon.daemon.start_scheduler()
    _edit_title(daemon.catalog, "EV deliveries, reloaded")
    answer = daemon.client.post("/-/reload")
    assert (answer.status_code, answer.text) == (200, "")
    assert daemon.runtime.catalog.goal("ev-deliveries-2026").title == "EV deliveries, reloaded"
    assert daemon.metrics.sample("tracker_catalog_reloads_total", {"outcome": "ok"}) == 1
    assert daemon.client.put("/-/reload").status_code == 200  # PUT too, as Prometheus

    daemon.catalog.write_text("this is = not [ toml", encoding="utf-8")
    failed = daemon.client.post("/-/reload")
    assert failed.status_code == 500 and failed.text.startswith("failed to reload config: catalog ")
    assert daemon.runtime.catalog.goal("ev-deliveries-2026").title == "EV deliveries, reloaded"  # kept
    text = daemon.client.get("/metrics").text
    assert samples(text, "tracker_config_last_reload_successful")[0].value == 0
    assert samples(text, "tracker_config_last_reload_success_timestamp_seconds")[0].value == NOW.timestamp()
    assert samples(text, "tracker_catalog_reloads_total") and daemon.metrics.sample(
        "tracker_catalog_reloads_total", {"outcome": "error"}) == 1

    refused = daemon.client.get("/-/reload")
    assert (refused.status_code, refused.headers["allow"]) == (405, "POST, PUT")


def test_post_reload_is_403_when_the_lifecycle_api_is_off(live):
    daemon = live(lifecycle=False)
    daemon.daemon.start_scheduler()
    _edit_title(daemon.catalog, "not to be read")
    answer = daemon.client.post("/-/reload")
    assert (answer.status_code, answer.text) == (403, "Lifecycle API is not enabled.\n")
    assert daemon.runtime.catalog.goal("ev-deliveries-2026").title != "not to be read"
    assert daemon.metrics.sample("tracker_catalog_reloads_total", {"outcome": "ok"}) is None
    assert daemon.client.post("/metrics").status_code == 405  # the rest stays read-only


def test_post_reload_waits_for_the_scheduler(live):
    daemon = live(lifecycle=True, evaluate=False)
    answer = daemon.client.post("/-/reload")
    assert (answer.status_code, answer.headers["retry-after"]) == (503, "1")

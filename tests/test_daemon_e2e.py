"""The real daemon, `python -m tracker run`, in a subprocess on a temporary SQLite database
with a loopback webhook receiver: it evaluates, delivers (signed), serves /healthz, /readyz
and /metrics, stops cleanly on SIGTERM, and after a restart neither resends nor forgets.

The daemon runs on the wall clock, as it must; the assertions do not depend on the date:
whatever the first evaluation queues must arrive exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from functools import partial
from pathlib import Path

import httpx
import pytest

from tests import polling
from tests.conftest import CATALOG, ROOT

pytestmark = pytest.mark.slow

SECRET = "whsec_ZTJlLWRhZW1vbi10ZXN0LXNpZ25pbmcta2V5"
DEADLINE = 30.0
wait_for = partial(polling.wait_for, deadline=DEADLINE)
CSV = "metric,period,value\n" + "".join(f"ev_deliveries,2026-{m:02d},1000\n" for m in range(1, 7))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]



class DaemonProcess:
    """One `tracker run` with its log file, and its HTTP endpoints."""

    def __init__(self, env: dict[str, str], log: Path, port: int) -> None:
        self.log = log
        self.base = f"http://127.0.0.1:{port}"
        with log.open("ab") as sink:
            self.process = subprocess.Popen([sys.executable, "-m", "tracker", "run"], env=env, cwd=log.parent,
                                            stdout=sink, stderr=sink)

    def get(self, path: str) -> httpx.Response | None:
        try:
            return httpx.get(self.base + path, timeout=2)
        except httpx.TransportError:
            return None

    def samples(self) -> dict:
        from prometheus_client.parser import text_string_to_metric_families

        found: dict = {}
        response = self.get("/metrics")  # None until the server listens
        for family in text_string_to_metric_families(response.text if response else ""):
            for sample in family.samples:
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return found

    def value(self, name: str, **labels) -> float:
        return self.samples().get((name, tuple(sorted(labels.items()))), 0.0)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=10)


def alerts_now(cli) -> list[tuple]:
    result = cli("alerts", "--json")
    assert result.code == 0, result.err
    return sorted((a["rule"], a["subject"], a["state"], a["since"]) for a in json.loads(result.out)["alerts"])


def test_the_daemon_evaluates_delivers_serves_and_restarts_without_resending(cli, sqlite_url, tmp_path, httpserver):
    from standardwebhooks import Webhook

    (tmp_path / "ev.csv").write_text(CSV)
    assert cli("import", str(tmp_path / "ev.csv")).code == 0
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=204)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(PYTHONPATH=str(ROOT), TRACKER_DATABASE_URL=sqlite_url, TRACKER_CONFIG=str(CATALOG),
               TRACKER_WEBHOOK_URL=httpserver.url_for("/hook"), TRACKER_WEBHOOK_SECRET=SECRET,
               TRACKER_HTTP_PORT=str(port), TRACKER_DELIVER__INTERVAL_SECONDS="0.2", TRACKER_LOG_FORMAT="json")
    log = tmp_path / "daemon.log"

    daemon = DaemonProcess(env, log, port)
    try:
        ready = wait_for(lambda: (r := daemon.get("/readyz")) is not None and r.status_code == 200 and r, "/readyz")
        assert ready.json()["checks"]["scheduler"]["ok"] is True
        assert daemon.get("/healthz").text == "ok\n"
        wait_for(lambda: daemon.value("tracker_job_runs_total", task="evaluate", outcome="ok") >= 1, "an evaluation")
        # Everything the evaluation queued is delivered: the outbox drains and the receiver has it.
        # (the shipped route's group_wait of 30 s comes first: siblings are collected, then sent)
        polling.wait_for(lambda: daemon.value("tracker_outbox_depth") == 0
                         and daemon.value("tracker_notifications_sent_total", receiver="default") == len(httpserver.log) > 0,
                         "delivery of every queued notification", deadline=DEADLINE + 60)
        samples = daemon.samples()
        goals = {dict(labels)["goal"] for (name, labels) in samples if name == "tracker_goal_status"}
        assert len(goals) == 13
        assert samples[("tracker_goal_status", (("goal", "ev-deliveries-2026"), ("status", "off_track")))] == 1.0
        assert ("tracker_metric_last_actual_timestamp_seconds", (("metric", "ev_deliveries"),)) in samples
        assert samples[("tracker_evaluation_duration_seconds_count", ())] >= 1
    finally:
        status = daemon.stop()
    assert status == 0

    webhook = Webhook(SECRET)
    first = []
    for request, _response in httpserver.log:
        webhook.verify(request.get_data(), dict(request.headers))  # signed with the secret
        first.append(request.headers["webhook-id"])
    assert len(set(first)) == len(first)
    remembered = alerts_now(cli)
    assert ("off-track", "goal:ev-deliveries-2026", "firing") in {entry[:3] for entry in remembered}

    # Restart: the catch-up evaluation re-sends nothing and the firing alerts are still known.
    daemon = DaemonProcess(env, log, port)
    try:
        wait_for(lambda: daemon.value("tracker_job_runs_total", task="evaluate", outcome="ok") >= 1, "the catch-up")
        passes = daemon.value("tracker_job_runs_total", task="deliver", outcome="ok")
        wait_for(lambda: daemon.value("tracker_job_runs_total", task="deliver", outcome="ok") >= passes + 2,
                 "two delivery passes after the catch-up evaluation")
        assert daemon.value("tracker_outbox_depth") == 0
        assert daemon.value("tracker_notifications_sent_total", receiver="default") == 0
        assert [request.headers["webhook-id"] for request, _ in httpserver.log] == first
        assert alerts_now(cli) == remembered
    finally:
        assert daemon.stop() == 0

    text = log.read_text(encoding="utf-8")
    events = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    assert [e["port"] for e in events if e["event"] == "http listening"] == [port, port]
    assert [e["event"] for e in events].count("daemon stopped") == 2
    assert SECRET not in text and SECRET.removeprefix("whsec_") not in text

"""The real Prometheus and Alertmanager as peers: Prometheus scrapes the daemon's /metrics,
the daemon pushes its alerts to Alertmanager's POST /api/v2/alerts, and our `alertmanager`
webhook body for a group is compared with the one Alertmanager itself sends.

Uses the Debian packages `prometheus` and `prometheus-alertmanager`: found on PATH (or in
/usr/bin), installed with apt-get when running as root where they are missing (`.ci/run`
installs them beforehand), and otherwise skipped with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import timedelta
from functools import partial
from pathlib import Path

import httpx
import pytest

from tests import polling
from tests.replica_helpers import OFF, ON, catalog_text, daemon_env, free_port, record
from tests.test_daemon_e2e import DaemonProcess

pytestmark = pytest.mark.slow
wait_for = partial(polling.wait_for, deadline=30.0, interval=0.1)
PACKAGES = {"prometheus": "prometheus", "prometheus-alertmanager": "prometheus-alertmanager"}


def find(name: str) -> str | None:
    return shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None)


@pytest.fixture(scope="module")
def binaries() -> dict[str, str]:
    """Paths of prometheus and prometheus-alertmanager; installs them with apt when root."""
    missing = [name for name in PACKAGES if find(name) is None]
    if missing and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *(PACKAGES[m] for m in missing)]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
            subprocess.run(install, env=env, capture_output=True)
        missing = [name for name in PACKAGES if find(name) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed, and cannot install them (needs root and apt-get)")
    return {name: find(name) for name in PACKAGES}  # type: ignore[misc]


class Peer:
    """A Prometheus or Alertmanager subprocess on a loopback port, logging to a file."""

    def __init__(self, argv: list[str], port: int, log: Path) -> None:
        self.base = f"http://127.0.0.1:{port}"
        with log.open("ab") as sink:
            self.process = subprocess.Popen(argv, stdout=sink, stderr=sink, cwd=log.parent)
        self.log = log

    def get(self, path: str, **params: str) -> httpx.Response | None:
        try:
            return httpx.get(self.base + path, params=params, timeout=2)
        except httpx.TransportError:
            return None

    def ready(self) -> bool:
        assert self.process.poll() is None, self.log.read_text()
        response = self.get("/-/ready")
        return response is not None and response.status_code == 200

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_alertmanager(binary: str, tmp_path: Path) -> Peer:
    config = tmp_path / "alertmanager.yml"
    config.write_text('route:\n  receiver: "null"\n  group_wait: 1s\nreceivers:\n  - name: "null"\n')
    port = free_port()
    argv = [binary, f"--config.file={config}", f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]
    return Peer(argv, port, tmp_path / "alertmanager.log")


def start_prometheus(binary: str, tmp_path: Path, target: str) -> Peer:
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"scrape_configs:\n  - job_name: kpi-tracker\n    static_configs:\n      - targets: ['{target}']\n"
    )
    port = free_port()
    argv = [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{port}"]
    return Peer(argv, port, tmp_path / "prometheus.log")


def scraped_attainment(prometheus: Peer, goal: str) -> float | None:
    response = prometheus.get("/api/v1/query", query=f'tracker_goal_attainment{{goal="{goal}"}}')
    if response is None or response.status_code != 200:
        return None
    result = response.json()["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def pushed_alerts(alertmanager: Peer, goal: str) -> list[dict]:
    response = alertmanager.get("/api/v2/alerts")
    if response is None or response.status_code != 200:
        return []
    return [alert for alert in response.json() if alert["labels"].get("goal") == goal]


def outbox(url: str) -> list[tuple]:
    """(event, state) of every queued notification, oldest first."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text("SELECT event, state FROM outbox ORDER BY id"))]
    finally:
        engine.dispose()


def test_prometheus_scrapes_goals_and_alertmanager_gets_our_alerts(binaries, sqlite_url, tmp_path):
    from tracker.store.db import ensure_schema, make_engine

    alertmanager = start_alertmanager(binaries["prometheus-alertmanager"], tmp_path)
    port = free_port()
    prometheus = start_prometheus(binaries["prometheus"], tmp_path, f"127.0.0.1:{port}")
    receiver = (f'[[receivers]]\nname = "am"\nurl = "{alertmanager.base}/api/v2/alerts"\n'
                'format = "alertmanager_api"\n')
    catalog = tmp_path / "goals.toml"
    catalog.write_text(catalog_text(1, extra=receiver))
    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    engine.dispose()
    record(sqlite_url, catalog, {"one": "100", "m0": OFF})
    env = daemon_env(sqlite_url, catalog, port, evaluate__interval_seconds="0.5", deliver__interval_seconds="0.2")
    daemon = None
    try:
        wait_for(alertmanager.ready, "Alertmanager ready")
        wait_for(prometheus.ready, "Prometheus ready")
        daemon = DaemonProcess(env, tmp_path / "daemon.log", port)

        assert wait_for(lambda: scraped_attainment(prometheus, "g0"), "Prometheus to scrape the goal") == 0.2
        (firing,) = wait_for(lambda: pushed_alerts(alertmanager, "g0"), "the firing alert in Alertmanager")
        assert firing["status"]["state"] == "active"
        assert firing["labels"] == {"alertname": "off-track", "goal": "g0", "team": "t0", "severity": "critical"}
        assert firing["annotations"]["summary"].startswith("Goal 0: ") and firing["endsAt"] > firing["startsAt"]
        assert firing["generatorURL"] == f"http://127.0.0.1:{port}/api/goals/g0"

        record(sqlite_url, catalog, {"m0": ON})
        # Resolved: pushed with endsAt = the resolve time, Alertmanager lists it no more.
        wait_for(lambda: ("alert.resolved", "sent") in outbox(sqlite_url), "the resolve pushed to Alertmanager")
        wait_for(lambda: not pushed_alerts(alertmanager, "g0"), "the alert resolved in Alertmanager")
        assert wait_for(lambda: scraped_attainment(prometheus, "g0") == 1.8, "Prometheus to see the recovery")
    finally:
        if daemon is not None:
            assert daemon.stop() == 0
        prometheus.stop()
        alertmanager.stop()


@pytest.mark.parametrize(
    ("tool", "args"),
    [("promtool", ["check", "config", "deploy/prometheus.yml"]),
     ("amtool", ["check-config", "deploy/alertmanager.yml"])],
    ids=["prometheus-example", "alertmanager-example"],
)
def test_the_deploy_examples_are_valid_configs(binaries, tool, args):
    from tests.conftest import ROOT

    binary = find(tool)  # shipped in the same packages as the servers
    assert binary is not None, f"{tool} missing though its package is installed"
    done = subprocess.run([binary, *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


def start_alertmanager_with_webhook(binary: str, tmp_path: Path, hook: str) -> Peer:
    """An Alertmanager that groups by business, as kpi-tracker does by default, and sends
    each group to `hook` in its webhook v4 format."""
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        'route:\n  receiver: "hook"\n  group_by: [business]\n  group_wait: 1s\n  group_interval: 1s\n'
        f'receivers:\n  - name: "hook"\n    webhook_configs:\n      - url: "{hook}"\n'
    )
    port = free_port()
    argv = [binary, f"--config.file={config}", f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]
    return Peer(argv, port, tmp_path / "alertmanager.log")


def test_our_alertmanager_body_for_a_group_is_the_one_alertmanager_sends(binaries, database_url, httpserver, tmp_path):
    """One cycle, two receivers: `am` pushes the group's alerts to the real Alertmanager, which
    groups them and posts its webhook; `hook` gets our `alertmanager` body for the same group.
    Same keys, groupKey, groupLabels, commonLabels and commonAnnotations."""
    from datetime import datetime, timezone

    from tests.alerting_helpers import StubJudge, evaluation, make_runtime
    from tracker.alerting.cycle import evaluate_cycle
    from tracker.catalog.routing import Receiver
    from tracker.core.verdict import Status
    from tracker.delivery import deliver_pass
    from tracker.store.db import ensure_schema, make_engine

    for path in ("/ours", "/theirs"):
        httpserver.expect_request(path, method="POST").respond_with_data("", status=200)
    alertmanager = start_alertmanager_with_webhook(binaries["prometheus-alertmanager"], tmp_path,
                                                   httpserver.url_for("/theirs"))
    engine = make_engine(database_url)
    ensure_schema(engine)
    try:
        wait_for(alertmanager.ready, "Alertmanager ready")
        runtime = make_runtime(engine, route={"group_wait": timedelta(0)})  # grouped by business, sent at once
        runtime.__dict__["catalog"] = runtime.catalog.model_copy(update={"receivers": (
            Receiver(name="am", url=f"{alertmanager.base}/api/v2/alerts", format="alertmanager_api"),
            Receiver(name="hook", url=httpserver.url_for("/ours"), format="alertmanager"),
        )})
        judge = StubJudge(evaluation(Status.OFF_TRACK), evaluation(Status.AT_RISK, goal="phone-asp-2026"))
        now = datetime.now(timezone.utc)  # Alertmanager keeps its own clock: push alerts that are live now
        assert evaluate_cycle(runtime, now=now, judge=judge).queued == 2  # one group, to each receiver
        assert deliver_pass(runtime, now=now).total("sent") == 2

        def posted(path: str) -> list[dict]:
            return [json.loads(request.get_data()) for request, _ in httpserver.log if request.path == path]

        # Under load Alertmanager may flush the group once before it has taken both alerts of
        # the batch (its group_wait is 1 s); its notification of the whole group follows.
        theirs = wait_for(lambda: [b for b in posted("/theirs") if len(b["alerts"]) == 2],
                          "Alertmanager's webhook for the whole group", deadline=30)[0]
        (ours,) = posted("/ours")
    finally:
        alertmanager.stop()
        engine.dispose()
    assert set(ours) == set(theirs)
    for key in ("version", "status", "groupKey", "groupLabels", "commonLabels", "commonAnnotations"):
        assert ours[key] == theirs[key], key
    assert ours["groupLabels"] == {"business": "ev"} and ours["commonLabels"]["business"] == "ev"
    assert len(ours["alerts"]) == len(theirs["alerts"]) == 2
    assert [set(a) for a in ours["alerts"]] == [set(a) for a in theirs["alerts"]]
    by_goal = {a["labels"]["goal"]: a for a in theirs["alerts"]}
    for alert in ours["alerts"]:
        mine = by_goal[alert["labels"]["goal"]]
        assert (alert["labels"], alert["annotations"], alert["status"]) == (
            mine["labels"], mine["annotations"], mine["status"])


def test_a_batch_pushed_to_alertmanager_lists_every_alert_once(binaries, database_url, tmp_path, monkeypatch):
    """Five firing alerts of one cycle go to the real Alertmanager in batched POSTs (two
    alerts a batch here, so three rows): it lists each alert once, with our fingerprint
    and annotations that name the goal only in the summary."""
    from datetime import datetime, timezone

    from sqlalchemy import select

    from tests.alerting_helpers import StubJudge, evaluation, make_runtime
    from tracker.alerting import dispatch
    from tracker.alerting.cycle import evaluate_cycle
    from tracker.catalog.routing import Receiver
    from tracker.core.verdict import Status
    from tracker.delivery import deliver_pass
    from tracker.delivery.formats import fingerprint
    from tracker.store import db
    from tracker.store.alert_tables import OutboxRow
    from tracker.store.db import ensure_schema, make_engine

    monkeypatch.setattr(dispatch, "BATCH_SIZE", 2)
    goals = ["ev-deliveries-2026", "home-stores-2026", "china-share-yearly", "ai-code-share", "phone-asp-2026"]
    alertmanager = start_alertmanager(binaries["prometheus-alertmanager"], tmp_path)
    engine = make_engine(database_url)
    ensure_schema(engine)
    try:
        wait_for(alertmanager.ready, "Alertmanager ready")
        runtime = make_runtime(engine, route={"group_wait": timedelta(0)})
        runtime.__dict__["catalog"] = runtime.catalog.model_copy(update={"receivers": (
            Receiver(name="am", url=f"{alertmanager.base}/api/v2/alerts", format="alertmanager_api"),)})
        titles = {goal: f"Goal {goal.upper()}" for goal in goals}
        judge = StubJudge(*(evaluation(Status.OFF_TRACK, goal=goal, title=titles[goal],
                                       summary=f"{titles[goal]}: projected 40% of target") for goal in goals))
        now = datetime.now(timezone.utc)  # Alertmanager keeps its own clock: push alerts that are live now
        evaluate_cycle(runtime, now=now, judge=judge)
        with db.session(engine) as session:
            rows = session.execute(select(OutboxRow).where(OutboxRow.receiver == "am")).scalars().all()
        assert len(rows) == 3 and sorted(len(json.loads(row.body)) for row in rows) == [1, 2, 2]
        assert deliver_pass(runtime, now=now).total("sent") == 3

        def listed() -> list[dict]:
            response = alertmanager.get("/api/v2/alerts")
            found = response.json() if response is not None and response.status_code == 200 else []
            return found if len(found) >= len(goals) else []

        alerts = wait_for(listed, "every alert in Alertmanager")
    finally:
        alertmanager.stop()
        engine.dispose()
    by_goal: dict[str, list[dict]] = {}
    for alert in alerts:
        by_goal.setdefault(alert["labels"]["goal"], []).append(alert)
    assert sorted(by_goal) == sorted(goals) and all(len(found) == 1 for found in by_goal.values())
    for goal, (alert,) in by_goal.items():
        assert alert["fingerprint"] == fingerprint(alert["labels"])  # Alertmanager's own, computed by us
        summary, description = alert["annotations"]["summary"], alert["annotations"]["description"]
        assert summary == f"{titles[goal]}: projected 40% of target"
        assert titles[goal] not in description and description.startswith("projected 40% of target")
        assert alert["generatorURL"] == f"http://127.0.0.1:9464/api/goals/{goal}"

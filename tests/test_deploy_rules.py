"""The sample Prometheus rules in deploy/ pass promtool's checks and their own unit tests,
and those tests catch the rule that stayed silent when every replica was down."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
pytestmark = pytest.mark.skipif(shutil.which("promtool") is None,
                                reason="promtool not installed (.ci/run installs the prometheus package)")


def promtool(*args: str, cwd: Path = DEPLOY) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False)


def test_the_rules_pass_promtool_check_and_the_config_loads_them():
    checked = promtool("check", "rules", "kpi-tracker.rules.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 4 rules found" in checked.stdout
    config = promtool("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr
    assert "kpi-tracker.rules.yml" in config.stdout  # prometheus.yml loads them


def test_the_rule_tests_pass_and_cover_every_rule():
    tested = promtool("test", "rules", "kpi-tracker.rules.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    rules = (DEPLOY / "kpi-tracker.rules.yml").read_text()
    cases = (DEPLOY / "kpi-tracker.rules.test.yml").read_text()
    names = [line.split("alert:")[1].strip() for line in rules.splitlines() if line.strip().startswith("- alert:")]
    assert len(names) == 4
    for name in names:  # each rule is tested firing, not only silent
        assert f"alertname: {name}\n        exp_alerts:\n          - exp_labels" in cases, name


def test_the_tests_catch_the_old_rule_that_missed_every_replica_down(tmp_path):
    old = (DEPLOY / "kpi-tracker.rules.yml").read_text().replace(
        'absent(tracker_leader{job="kpi-tracker"} == 1)', "sum(tracker_leader) < 1")
    (tmp_path / "kpi-tracker.rules.yml").write_text(old)
    shutil.copy(DEPLOY / "kpi-tracker.rules.test.yml", tmp_path)
    tested = promtool("test", "rules", "kpi-tracker.rules.test.yml", cwd=tmp_path)
    assert tested.returncode == 1
    assert (tested.stdout + tested.stderr).count("alertname: KpiTrackerNoLeader, time: 10m") == 2  # all down; never scraped

"""The built wheel installed in a fresh venv on each Python that is installed here (3.11, 3.12,
3.13; a version is skipped only when its interpreter is absent), running the everyday
commands from an unrelated directory with ResourceWarnings as errors (Python 3.13 shows an
unclosed SQLite connection by default). One wheel per session; one venv per version, kept in
.smoke-venvs/ (or TRACKER_SMOKE_VENVS) while the dependencies stay the same."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _interpreter(version: str, *candidates: str) -> str | None:
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version:
        return sys.executable
    found = [c for c in candidates if c and Path(c).is_file()] + [shutil.which(f"python{version}")]
    return next((c for c in found if c), None)


INTERPRETERS = {
    "3.11": _interpreter("3.11", "/root/.pyenv/versions/3.11.7/bin/python"),
    "3.12": _interpreter("3.12", "/root/.pyenv/versions/3.12.1/bin/python"),
    "3.13": _interpreter("3.13", "/root/.pyenv/versions/3.13.0/bin/python"),
}


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    [built] = out.glob("kpi_tracker-*.whl")
    return built


_venvs: dict[str, Path] = {}
# Venvs outlive the session, keyed by the Python version and the dependency list: a later run
# reinstalls only the wheel (seconds) instead of every dependency (minutes on a busy machine).
VENVS = Path(os.environ.get("TRACKER_SMOKE_VENVS", ROOT / ".smoke-venvs"))


def _dependency_key() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return hashlib.sha256(json.dumps(project["dependencies"]).encode()).hexdigest()[:12]


def venv_for(version: str, wheel: Path) -> Path:
    """A venv with the wheel installed: made once per version and dependency list, the
    wheel installed afresh once per session."""
    if version in _venvs:
        return _venvs[version]
    python = INTERPRETERS[version]
    if python is None:
        pytest.skip(f"Python {version} is not installed")
    VENVS.mkdir(parents=True, exist_ok=True)
    home = VENVS / f"{version}-{_dependency_key()}"
    with open(VENVS / f"{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two sessions at once build one venv, not two halves
        pip = [str(home / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile"]
        if (home / ".complete").is_file():
            pip += ["--no-deps", "--force-reinstall"]
        else:
            shutil.rmtree(home, ignore_errors=True)
            subprocess.run([python, "-m", "venv", str(home)], check=True, capture_output=True, timeout=300)
        installed = subprocess.run([*pip, str(wheel)], capture_output=True, text=True, timeout=1200, check=False)
        assert installed.returncode == 0, installed.stderr[-2000:]
        (home / ".complete").touch()
    _venvs[version] = home
    return home


@pytest.fixture(scope="session")
def venvs(wheel):
    return lambda version: venv_for(version, wheel)


@pytest.mark.parametrize("version", sorted(INTERPRETERS))
def test_the_installed_package_runs_its_commands_without_resource_warnings(venvs, version, tmp_path):
    home = venvs(version)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "PYTHON"))}
    env.update(PYTHONWARNINGS="error::ResourceWarning", TRACKER_DATABASE_URL=f"sqlite:///{tmp_path / 't.db'}",
               TRACKER_CONFIG=str(ROOT / "config" / "goals.toml"), TRACKER_LOG_FORMAT="json", TRACKER_HTTP_PORT="0")
    work = tmp_path / "elsewhere"
    work.mkdir()

    def tracker(*args: str) -> str:
        done = subprocess.run([str(home / "bin" / "tracker"), *args], capture_output=True, text=True, env=env,
                              cwd=work, timeout=120, check=False)
        assert "ResourceWarning" not in done.stderr, (args, done.stderr[-2000:])
        assert done.returncode == 0, (args, done.stderr[-2000:])
        return done.stdout

    assert "version" in tracker("info")
    assert tracker("import", str(ROOT / "config" / "sample-actuals.csv")).startswith("imported 103 actuals")
    assert "revision 2" in tracker("record", "ev_deliveries", "2026-06", "52000", "--source", "smoke")
    assert '"goal": "ev-deliveries-2026"' in tracker("status", "--json", "--at", "2026-07-05")
    assert "evaluated 13 goals" in tracker("evaluate", "--at", "2026-07-05")
    tracker("alerts")
    tracker("run", "--once")
    # The wheel carries what an installed command needs: the migrations and the packaged catalog.
    where = "import tracker, pathlib; print(pathlib.Path(tracker.__file__).parent)"
    site = subprocess.run([str(home / "bin" / "python"), "-c", where], capture_output=True, text=True,
                          cwd=work, check=True).stdout.strip()
    assert Path(site, "store", "_migrations").is_dir() and Path(site, "catalog", "_data", "goals.toml").is_file()
    assert Path(site) != ROOT / "tracker" and Path(site).parent.name == "site-packages"  # the wheel, not the tree

"""A newcomer's first run: after the README's install, the command works from any directory
with the shipped catalog, `tracker info` says which catalog file is in use and how it was
found, and `tracker --version` answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.conftest import CATALOG, ROOT


def installed(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed `tracker` command (the README's install puts it beside this Python), run
    from `cwd` with no TRACKER_CONFIG and no PYTHONPATH: as a newcomer runs it."""
    script = Path(sys.executable).parent / "tracker"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "tracker"]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_") and k != "PYTHONPATH"}
    if not script.exists():
        environment["PYTHONPATH"] = str(ROOT)  # run from a checkout without an install
    environment.update(TRACKER_DATABASE_URL=f"sqlite:///{cwd / 'tracker.db'}", TRACKER_LOG_FORMAT="json", **env)
    return subprocess.run(command + list(args), capture_output=True, text=True, env=environment, cwd=cwd, timeout=60, check=False)


def test_goals_works_from_any_directory_with_the_shipped_catalog(tmp_path: Path) -> None:
    done = installed("goals", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    goals = [row["goal"] for row in json.loads(done.stdout)]
    assert len(goals) == 13 and "ev-deliveries-2026" in goals


@pytest.mark.parametrize(
    ("setup", "env", "path", "found"),
    [
        (None, {}, CATALOG, "the packaged copy"),
        ("config/goals.toml", {}, Path("config/goals.toml"), "./config/goals.toml in the working directory"),
        ("mine.toml", {"TRACKER_CONFIG": "mine.toml"}, Path("mine.toml"), "setting TRACKER_CONFIG"),
    ],
    ids=["packaged", "working-directory", "setting"],
)
def test_info_shows_the_absolute_catalog_path_and_how_it_was_found(tmp_path, setup, env, path, found) -> None:  # type: ignore[no-untyped-def]
    if setup:
        (tmp_path / setup).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / setup).write_bytes(CATALOG.read_bytes())
    done = installed("info", "--json", cwd=tmp_path, **env)
    assert done.returncode == 0, done.stderr
    details = json.loads(done.stdout)
    expected = path if path.is_absolute() else tmp_path / path
    assert (details["config"], details["config_found"]) == (str(expected), found)
    text = installed("info", cwd=tmp_path, **env).stdout
    assert f"config         {expected} ({found})\n" in text


def test_the_catalog_in_use_is_the_one_info_names(tmp_path: Path) -> None:
    """./config/goals.toml in the working directory wins over the packaged copy."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "goals.toml").write_text('timezone = "Mars/Olympus"\n', encoding="utf-8")
    done = installed("goals", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"tracker: error: catalog {tmp_path / 'config' / 'goals.toml'}: ")


def test_the_packaged_copy_is_inside_a_wheel_or_beside_the_checkout(tmp_path: Path) -> None:
    from tracker.catalog.locate import packaged_catalog

    # a wheel: pyproject.toml's force-include puts config/goals.toml where packaged_catalog looks
    build = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["hatch"]["build"]
    assert build["targets"]["wheel"]["force-include"]["config/goals.toml"] == "tracker/catalog/_data/goals.toml"
    wheel = tmp_path / "site-packages" / "tracker" / "catalog"
    (wheel / "_data").mkdir(parents=True)
    (wheel / "_data" / "goals.toml").write_bytes(CATALOG.read_bytes())
    assert packaged_catalog(wheel) == wheel / "_data" / "goals.toml"
    # an editable install or a checkout: the repository's own file, the one source
    assert packaged_catalog() == CATALOG
    assert packaged_catalog(tmp_path / "elsewhere" / "tracker" / "catalog") is None


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_prints_the_installed_distribution_s_version(flag: str, tmp_path: Path) -> None:
    done = installed(flag, cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"kpi-tracker {version('kpi-tracker')}\n", "")
    assert not (tmp_path / "tracker.db").exists()

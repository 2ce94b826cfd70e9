"""csv_dir against a temporary folder, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.collector_helpers import actuals, catalog_with, collections, runtime_for

NOW = datetime(2026, 7, 5, 1, 0, tzinfo=timezone.utc)
HEADER = "metric,period,value\n"


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


@pytest.fixture
def collect(engine, tmp_path: Path):
    """collect() for a csv_dir source reading inbox/, named relative to the catalog file."""
    source = {"name": "drop", "kind": "csv_dir", "schedule": "*/5 * * * *", "directory": "inbox"}
    runtime = runtime_for(engine, catalog_with([source], tmp_path / "goals.toml"))
    (config,) = runtime.catalog.sources

    def run(now: datetime = NOW):
        from tracker.collectors.runner import collect as collect_now

        return collect_now(runtime, config, now=now)

    return run


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_files_are_imported_once_and_moved_to_done(collect, engine, inbox: Path) -> None:
    (inbox / "may.csv").write_text(HEADER + "ev_deliveries,2026-05,38000\nev_deliveries,2026-06,40000\n")
    (inbox / "notes.txt").write_text("not a csv: left alone")
    (inbox / "june.csv.part").write_text(HEADER + "ev_deliveries,2026-06,1\n")  # still being written
    result = collect()
    assert (result.outcome, result.recorded, result.error) == ("ok", 2, None)
    assert files(inbox) == ["done/may.csv", "june.csv.part", "notes.txt"]
    assert actuals(engine) == [
        ("2026-05", "38000", 1, True, "collector:drop"),
        ("2026-06", "40000", 1, True, "collector:drop"),
    ]
    assert collect(NOW + timedelta(minutes=5)).recorded == 0  # nothing new in the folder
    assert collections(engine) == [("drop", "ok", 2, None), ("drop", "ok", 0, None)]


def test_the_same_values_again_record_nothing_and_a_change_is_a_revision(collect, engine, inbox: Path) -> None:
    body = HEADER + "ev_deliveries,2026-05,38000\nev_deliveries,2026-06,40000\n"
    (inbox / "a.csv").write_text(body)
    collect()
    (inbox / "a.csv").write_text(body)  # the same file dropped again
    again = collect(NOW + timedelta(minutes=5))
    (inbox / "a.csv").write_text("metric,period,value,source\nev_deliveries,2026-06,40500,press release\n")
    revised = collect(NOW + timedelta(minutes=10))
    assert (again.recorded, revised.recorded) == (0, 1)
    assert actuals(engine)[1:] == [
        ("2026-06", "40000", 1, False, "collector:drop"),
        ("2026-06", "40500", 2, True, "collector:drop: press release"),
    ]
    assert files(inbox) == ["done/a.20260705T010500.csv", "done/a.20260705T011000.csv", "done/a.csv"]


@pytest.mark.parametrize(
    "body, reason",
    [
        pytest.param(HEADER + "ev_deliveries,2026-05,38000\nev_deliveries,2026-06,1500000\n",
                     "bad.csv line 3: value 1500000 for ev_deliveries is above its maximum 150000 vehicles; check the unit",
                     id="out-of-bounds"),
        pytest.param("month,value\n2026-05,3\n", "bad.csv line 1: header 'month,value' is not metric,period,value", id="header"),
        pytest.param(HEADER + "ev_deliveries,2026-Q2,3\n", "bad.csv line 2: period '2026-Q2' is a quarter", id="granularity"),
        pytest.param(HEADER + "ev_deliveries,2026-05,38000\nev_deliveries,2026-06,3000\n",
                     "bad.csv line 3: value 3000 for ev_deliveries 2026-06 is more than ten times below 38000", id="tenfold"),
    ],
)
def test_a_bad_file_is_quarantined_with_its_reason_and_records_nothing(collect, engine, inbox: Path, body, reason) -> None:
    (inbox / "bad.csv").write_text(body)
    (inbox / "good.csv").write_text(HEADER + "home_stores,2026-05,800\n")
    result = collect()
    assert files(inbox) == ["done/good.csv", "quarantine/bad.csv", "quarantine/bad.csv.reason.txt"]
    written = (inbox / "quarantine" / "bad.csv.reason.txt").read_text()
    assert reason in written and written.startswith(str(inbox / "bad.csv"))
    assert (inbox / "quarantine" / "bad.csv").read_text() == body  # kept as it came, for a person to fix
    assert actuals(engine) == []
    assert actuals(engine, "home_stores") == [("2026-05", "800", 1, True, "collector:drop")]
    assert (result.outcome, result.recorded) == ("failed", 1)
    assert result.error.startswith("1 file(s) quarantined: bad.csv: ") and reason in result.error


def test_a_missing_folder_is_a_failure(collect, engine, inbox: Path) -> None:
    inbox.rmdir()
    result = collect()
    assert (result.outcome, result.error) == ("failed", f"directory {inbox} does not exist")
    assert collections(engine) == [("drop", "failed", 0, result.error)]

"""What was known when, through the real command line and database: known-since on record
and import, `--known-at` (revisions included), backtests of the real 2025 series as it was
published, and period bounds that follow a change of time zone."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import CATALOG, table_dump

XIAOMI_2025 = Path(__file__).resolve().parent / "data" / "xiaomi-ev-2025.csv"  # a copy of shared/data


def _ev(cli, *args: str) -> dict:
    (found,) = [g for g in json.loads(cli("status", "--json", *args).out) if g["goal"] == "ev-deliveries-2025"]
    return found


def test_a_revision_recorded_after_t_is_not_seen_known_at_t(cli):
    assert cli("record", "ev_deliveries", "2025-01", "20000", "--known-since", "2025-02-01T10:00").code == 0
    assert cli("record", "ev_deliveries", "2025-01", "22897", "--known-since", "2025-03-01T10:00").code == 0
    early = _ev(cli, "--known-at", "2025-02-15")
    later = _ev(cli, "--known-at", "2025-03-15")
    assert (early["actual"], early["known_at"]) == (20000, "2025-02-14T16:00:00+00:00")
    assert later["actual"] == 22897
    before = _ev(cli, "--known-at", "2025-01-31")
    assert before["status"] == "no_data" and before["actual"] is None


def test_import_reads_the_known_since_column(cli, tmp_path):
    data = tmp_path / "history.csv"
    data.write_text("metric,period,value,known_since\nev_deliveries,2025-01,22897,2025-02-01T10:00+08:00\n"
                    "ev_deliveries,2025-02,23972,\n")
    assert cli("import", str(data)).code == 0
    rows = json.loads(cli("actuals", "ev_deliveries", "--json").out)
    assert [r["period"] for r in rows] == ["2025-01", "2025-02"]
    assert _ev(cli, "--known-at", "2025-02-15")["actual"] == 22897  # February's row is known only now


@pytest.mark.parametrize(
    "args, message",
    [
        (("record", "ev_deliveries", "2025-01", "1", "--known-since", "2999-01-01"),
         "known-since 2999-01-01 is in the future"),
        (("record", "ev_deliveries", "2025-03", "1", "--known-since", "2025-02-01"),
         "known-since 2025-02-01 is before 2025-03 begins: a figure is known after its period starts"),
        (("record", "ev_deliveries", "2025-03", "1", "--known-since", "soon"),
         "time 'soon' is not ISO 8601 (like 2026-07-05 or 2026-07-05T09:30+08:00)"),
        (("status", "--known-at", "yesterday"), "time 'yesterday' is not ISO 8601"),
        (("backtest", "--from", "2025-06-01", "--to", "2025-01-01"), "--from 2025-06-01 is after --to 2025-01-01"),
        (("backtest", "--from", "2025-01-01", "--to", "2025-02-01", "--goal", "nope"), "goal 'nope' is not in the catalog"),
    ],
    ids=["future", "before-its-period", "not-a-time", "known-at-not-a-time", "from-after-to", "unknown-goal"],
)
def test_bad_times_are_one_line_exit_2_and_write_nothing(cli, sqlite_url, args, message):
    assert cli("record", "ev_deliveries", "2024-12", "100").code == 0
    before = table_dump(sqlite_url)
    done = cli(*args)
    assert done.code == 2 and message in done.err and len(done.err.strip().splitlines()) == 1
    assert table_dump(sqlite_url) == before


def test_a_bad_known_since_in_a_file_names_the_line_and_imports_nothing(cli, sqlite_url, tmp_path):
    data = tmp_path / "history.csv"
    data.write_text("metric,period,value,known_since\nev_deliveries,2025-01,1,2025-02-01\nev_deliveries,2025-02,1,2999-01-01\n")
    before = table_dump(sqlite_url)
    done = cli("import", str(data))
    assert done.code == 2 and f"{data} line 3: known-since 2999-01-01 is in the future" in done.err
    assert table_dump(sqlite_url) == before


@pytest.fixture
def published(cli):
    assert cli("import", str(XIAOMI_2025)).code == 0
    return cli


def test_backtest_of_2025_as_published(published):
    """Loaded with publication dates: never off track once the first quarter is known, on
    track from 5 October, achieved when the year closes."""
    done = published("backtest", "--from", "2025-01-05", "--to", "2026-01-05", "--every", "month",
                     "--goal", "ev-deliveries-2025", "--json")
    assert done.code == 0, done.err
    verdicts = {v["date"]: v for v in json.loads(done.out)}
    assert len(verdicts) == 13 and verdicts["2025-01-05"]["status"] == "no_data"
    after_q1 = [d for d in verdicts if d >= "2025-04-05"]
    assert [d for d in after_q1 if verdicts[d]["status"] == "off_track"] == []
    assert {verdicts[d]["status"] for d in after_q1 if "2025-10-05" <= d <= "2025-12-05"} == {"on_track"}
    assert verdicts["2026-01-05"]["status"] == "achieved"
    assert {v["outcome"] for v in verdicts.values()} == {"met"}
    assert all(v["right"] in (True, None) for d, v in verdicts.items() if d >= "2025-04-05")


def test_backtest_table_scores_closed_windows(published):
    done = published("backtest", "--from", "2025-10-05", "--to", "2025-12-05", "--goal", "ev-deliveries-2025")
    assert done.code == 0 and "on track" in done.out
    assert done.out.strip().splitlines()[-1] == (
        "3 verdicts; 3 on windows now closed: 3 right, 0 wrong (at risk and open windows are not scored)")


def test_stored_bounds_follow_a_change_of_time_zone(cli, sqlite_url, tmp_path):
    """Recorded in Shanghai, judged in Los Angeles: January still counts toward 2025."""
    assert cli("record", "ev_deliveries", "2025-01", "22897").code == 0
    moved = tmp_path / "goals.toml"
    shutil.copy(CATALOG, moved)
    moved.write_text(moved.read_text().replace('timezone = "Asia/Shanghai"', 'timezone = "America/Los_Angeles"'))
    env = {"TRACKER_CONFIG": str(moved)}
    status = json.loads(cli("status", "--json", "--at", "2025-02-20", env=env).out)
    (ev,) = [g for g in status if g["goal"] == "ev-deliveries-2025"]
    assert ev["actual"] == 22897
    (row,) = table_dump(sqlite_url)
    start = datetime(2025, 1, 1, tzinfo=ZoneInfo("America/Los_Angeles")).astimezone(timezone.utc)
    assert start.replace(tzinfo=None).isoformat(" ") in str(row)
    assert ("period_bounds_zone", "America/Los_Angeles") in table_dump(sqlite_url, "store_meta")

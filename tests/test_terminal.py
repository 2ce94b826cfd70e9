"""Terminal output: tables and listings fit the width without cutting a goal id or a date,
text wraps at words, times are in the catalog's zone, and commands log only warnings on a
terminal unless asked."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import CATALOG, ROOT
from tracker.cli.tables import Choice, Column, layout, write_table
from tracker.core.instants import format_instant
from tracker.service.logs import command_level

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("moment, zone, shown", [
    (datetime(2026, 7, 4, 16, 0, tzinfo=UTC), SHANGHAI, "2026-07-05 00:00+08:00"),
    (datetime(2026, 7, 4, 16, 0, 30, tzinfo=UTC), SHANGHAI, "2026-07-05 00:00:30+08:00"),
    (datetime(2026, 7, 4, 16, 0, 0, 999, tzinfo=UTC), SHANGHAI, "2026-07-05 00:00:00+08:00"),
    (datetime(2026, 7, 4, 16, 0), SHANGHAI, "2026-07-05 00:00+08:00"),  # naive from a database: UTC
    (datetime(2026, 1, 10, 12, 0, tzinfo=UTC), ZoneInfo("America/New_York"), "2026-01-10 07:00-05:00"),
    (datetime(2026, 3, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))), ZoneInfo("UTC"), "2026-02-28 18:30+00:00"),
], ids=["minutes", "seconds", "microseconds", "naive-utc", "negative-offset", "to-utc"])
def test_format_instant(moment, zone, shown) -> None:  # type: ignore[no-untyped-def]
    assert format_instant(moment, zone) == shown


def test_format_instant_reads_back_as_the_same_instant() -> None:
    from tracker.core.periods import parse_instant

    moment = datetime(2026, 7, 4, 16, 0, 30, tzinfo=UTC)
    assert parse_instant(format_instant(moment, SHANGHAI), SHANGHAI) == moment


COLUMNS = [Column("goal"), Column("status"), Column("progress", narrow=0, drop=4), Column("extra", drop=1),
           Column("data through")]
ROW = ["ev-deliveries-2026", (("at risk", "yellow"), (" 63%", None)),
       Choice((("████░░░░░░ 40%", None),), (("40%", None),)), "54,667/month", "2026-06-30"]


@pytest.mark.parametrize("width, shown, narrowed", [
    (200, ["goal", "status", "progress", "extra", "data through"], set()),
    (78, ["goal", "status", "progress", "extra", "data through"], {"progress"}),  # the bar goes first
    (60, ["goal", "status", "progress", "data through"], {"progress"}),  # then the least important column
    (55, ["goal", "status", "data through"], {"progress"}),
    (45, ["goal", "status", "data through"], {"progress"}),  # then the status wraps at its space
], ids=["all", "bar-first", "drop", "drop-progress", "wrap"])
def test_layout_gives_up_the_bar_then_columns_then_wraps(width, shown, narrowed) -> None:  # type: ignore[no-untyped-def]
    kept, widths, slim = layout(COLUMNS, [ROW], width)
    assert [COLUMNS[c].name for c in kept] == shown
    assert {COLUMNS[c].name for c in slim} == narrowed
    assert widths[0] == len("ev-deliveries-2026") and widths[4] >= len("2026-06-30")


def table_text(width: int, rows=(ROW,)) -> list[str]:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    write_table(out, "Goals", COLUMNS, list(rows), width=width, color=False)
    return out.getvalue().splitlines()


@pytest.mark.parametrize("width", [200, 80, 60, 45, 44])
def test_tables_fit_and_never_cut_an_id_or_a_date(width) -> None:  # type: ignore[no-untyped-def]
    lines = table_text(width)
    assert all(len(line) <= width for line in lines), lines
    body = "\n".join(lines)
    assert "ev-deliveries-2026" in body and "2026-06-30" in body


def test_a_table_too_narrow_for_an_id_overflows_rather_than_cut_it() -> None:
    lines = table_text(20)
    assert any("ev-deliveries-2026" in line for line in lines)


def test_wrapped_status_keeps_its_words_and_colour() -> None:
    out = io.StringIO()
    write_table(out, "Goals", COLUMNS, [ROW], width=44, color=True)
    lines = out.getvalue().splitlines()
    status = [line.split("│")[2].strip() for line in lines if line.startswith("│")]
    assert status == ["\x1b[33mat\x1b[0m", "\x1b[33mrisk\x1b[0m", "63%"]  # words whole, each in its colour


def test_rows_keep_their_order_and_columns_line_up() -> None:
    rows = [[f"g{i:03d}", "ok", Choice((("█ 1%", None),), (("1%", None),)), "x", "2026-01-01"] for i in range(50)]
    lines = table_text(80, rows)
    body = [line for line in lines if line.startswith("│")]
    assert [line.split("│")[1].strip() for line in body] == [f"g{i:03d}" for i in range(50)]
    assert len({len(line) for line in lines[1:]}) == 1


@pytest.mark.parametrize("verbose, explicit, terminal, level", [
    (0, None, True, "warning"),
    (0, None, False, "info"),
    (1, None, True, "info"),
    (2, None, True, "debug"),
    (0, "error", True, "error"),
    (0, "info", True, "info"),
    (1, "error", True, "info"),
], ids=["terminal", "pipeline", "-v", "-vv", "env-error", "env-info", "-v-wins"])
def test_command_level(verbose, explicit, terminal, level) -> None:  # type: ignore[no-untyped-def]
    fields = {"log_level"} if explicit else set()
    settings = SimpleNamespace(log_level=explicit or "info", model_fields_set=fields)
    assert command_level(settings, verbose, terminal) == level


def run_with_terminal_stderr(args: list[str], env: dict[str, str], cwd) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    """Runs the command line with stderr on a pseudo-terminal (stdout a pipe), as a person
    at a terminal runs it with the answer piped; returns status, stdout and stderr."""
    leader, follower = pty.openpty()
    done = subprocess.Popen([sys.executable, "-m", "tracker", *args], stdout=subprocess.PIPE, stderr=follower,
                            env=env, cwd=cwd, text=True)
    os.close(follower)
    err = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        err += chunk
    out = done.stdout.read() if done.stdout else ""
    code = done.wait(timeout=120)
    os.close(leader)
    return code, out, err.decode(errors="replace")


def test_evaluate_on_a_terminal_prints_its_answer_without_log_lines(cli, sqlite_url, tmp_path) -> None:
    assert cli("import", str(ROOT / "config" / "sample-actuals.csv")).code == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env |= {"TRACKER_DATABASE_URL": sqlite_url, "TRACKER_CONFIG": str(CATALOG), "PYTHONPATH": str(ROOT)}
    code, out, err = run_with_terminal_stderr(["evaluate", "--at", "2026-07-05"], env, tmp_path)
    assert code == 0 and out.startswith("evaluated 13 goals as of 2026-07-05 00:00+08:00: 6 firing")
    assert err.strip() == ""
    # each later evaluation has something to say: the groups are due, then stale alerts fire
    code, _, err = run_with_terminal_stderr(["evaluate", "--at", "2026-07-05T01:00"],
                                            env | {"TRACKER_LOG_LEVEL": "info"}, tmp_path)
    assert code == 0 and "notification queued" in err
    code, _, err = run_with_terminal_stderr(["evaluate", "--at", "2026-09-15", "-v"], env, tmp_path)
    assert code == 0 and "alert firing" in err


def test_a_pipeline_still_gets_info_lines(cli) -> None:
    assert cli("record", "ev_deliveries", "2026-01", "10000").code == 0
    done = cli("evaluate", "--at", "2026-07-05")
    assert done.code == 0
    assert '"level": "info"' in done.err


@pytest.mark.parametrize("width", [60, 80, 120])
def test_status_and_alerts_fit_the_width_with_ids_and_dates_whole(prepared_cli, catalog, width) -> None:  # type: ignore[no-untyped-def]
    env = {"COLUMNS": str(width)}
    status = prepared_cli("status", "--at", "2026-09-15", env=env)
    alerts = prepared_cli("alerts", env=env)
    assert status.code == 0 and alerts.code == 0, (status.err, alerts.err)
    for done in (status, alerts):
        too_long = [line for line in done.out.splitlines() if len(line) > width]
        assert too_long == [], too_long
    words = set(re.split(r"[\s│┃()]+", status.out))
    assert {goal.id for goal in catalog.goals} <= words  # every id whole, on one line
    assert "2026-06-30" in words and "STALE" in words
    for line in alerts.out.splitlines():
        assert not re.search(r"\d{4}-\d{2}$", line) and not re.search(r"^\s*-\d{2}\b", line)  # no date split
    assert "2026-09-15 00:00+08:00" in alerts.out  # since when, in the catalog's zone
    assert _whole_words(alerts.out, prepared_cli("alerts", env={"COLUMNS": "1000"}).out)


def _whole_words(wrapped: str, unwrapped: str) -> bool:
    """Wrapping only moved line breaks: the same words in the same order."""
    return wrapped.split() == unwrapped.split()


@pytest.fixture
def prepared_cli(cli):  # type: ignore[no-untyped-def]
    """The sample actuals, and an evaluation in September, when the summer's figures are late."""
    assert cli("import", str(ROOT / "config" / "sample-actuals.csv")).code == 0
    assert cli("evaluate", "--at", "2026-09-15").code == 0
    return cli

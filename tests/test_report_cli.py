"""`tracker report`, run as a user runs it (a subprocess), on the sample actuals."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import NOW, table_dump
from tests.reportkit import SAMPLE
from tests.test_cli_actuals import assert_refused
from tests.test_report import cards, rows
from tracker.core.verdict import Status
from tracker.views.report import STATUS_WORDS

AT = "2026-07-05"


@pytest.fixture
def sampled(sqlite_url, catalog):
    """A database holding the illustrative sample actuals, written in-process."""
    from tracker.store import actuals as store
    from tracker.store import db
    from tracker.store.importer import read_csv

    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    with db.session(engine, write=True) as session:
        store.import_rows(session, catalog=catalog, rows=read_csv(SAMPLE), now=NOW)
    engine.dispose()
    return table_dump(sqlite_url)


def test_report_writes_a_page_that_agrees_with_status(cli, sampled, catalog, tmp_path):
    out = tmp_path / "report.html"
    result = cli("report", "--at", AT, "--out", str(out))
    assert result.code == 0, result.err
    assert result.out.startswith(f"wrote {out} (13 goals as of 2026-07-05 00:00 Asia/Shanghai)")
    page = out.read_text(encoding="utf-8")
    status = json.loads(cli("status", "--at", AT, "--json").out)
    by_goal, drawn = rows(page), cards(page)
    assert set(by_goal) == {goal.id for goal in catalog.goals}
    for item in status:  # the page says, in words, what `tracker status` says
        word = STATUS_WORDS[Status(item["status"])][0]
        assert re.search(rf'class="status {item["status"]}">.*?{word}</span>', by_goal[item["goal"]])
        needs = item["status"] in ("off_track", "at_risk", "missed") or item["stale"]
        assert drawn.get(item["goal"], "").count("<svg") == (1 if needs else 0), item["goal"]
    assert not list(tmp_path.glob(".report.html.*"))  # no temporary file left behind


def test_report_file_gets_the_usual_mode_not_mkstemps_private_one(cli, sampled, tmp_path):
    import os
    import stat

    out = tmp_path / "shared.html"
    assert cli("report", "--at", AT, "--out", str(out)).code == 0
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


def test_report_without_out_prints_the_page(cli, sampled):
    result = cli("report", "--at", AT)
    assert result.code == 0, result.err
    assert result.out.startswith("<!doctype html>") and result.out.rstrip().endswith("</html>")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--at", "July"], "time 'July' is not ISO 8601", id="bad-time"),
        pytest.param(["--out", "{tmp}/missing/report.html"], "folder {tmp}/missing does not exist", id="no-folder"),
        pytest.param(["--out", "{tmp}"], "is a directory; give a file name", id="a-folder"),
        pytest.param(["--color"], "No such option: --color", id="bad-option"),
    ],
)
def test_report_refuses_bad_input_and_writes_nothing(cli, sampled, sqlite_url, tmp_path, args, message):
    def files() -> list[Path]:  # the validated catalog's cache (XDG_CACHE_HOME) is no output
        return sorted(path for path in tmp_path.rglob("*") if not path.is_relative_to(tmp_path / "cache"))

    before = files()
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert_refused(cli("report", *args), message.replace("{tmp}", str(tmp_path)))
    assert files() == before
    assert table_dump(sqlite_url) == sampled

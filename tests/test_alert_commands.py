"""The alert commands in a subprocess: bad input exits 2 and writes nothing."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.conftest import CATALOG, table_dump

TABLES = ("silences", "alerts", "outbox", "notify_log")


def dump(url: str) -> dict[str, list]:
    return {table: table_dump(url, table) for table in TABLES}


@pytest.fixture(scope="module")
def silenced_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with one silence, made once (migrating in each subprocess is slow)."""
    from tracker.catalog.model import load_catalog
    from tracker.store import db, silences

    path = tmp_path_factory.mktemp("template") / "tracker.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.ensure_schema(engine)
    now = datetime(2026, 7, 5, tzinfo=timezone.utc)
    with db.session(engine, write=True) as session:
        silences.set_silence(session, catalog=load_catalog(CATALOG), goal="home-stores-2026",
                             until=datetime(2099, 1, 1, tzinfo=timezone.utc), comment=None, now=now)
    engine.dispose()
    return path


def test_silence_and_unsilence_a_goal(cli, sqlite_url: str) -> None:
    done = cli("silence", "ev-deliveries-2026", "--until", "2099-01-01T08:00", "--comment", "annual review")
    assert done.code == 0, done.err
    assert done.out.strip() == "silenced ev-deliveries-2026 until 2099-01-01 08:00+08:00"
    (row,) = table_dump(sqlite_url, "silences")
    assert json.loads(row[1]) == ['goal="ev-deliveries-2026"'] and row[4] == "annual review"
    assert cli("unsilence", "ev-deliveries-2026").out.strip() == "unsilenced ev-deliveries-2026"
    (listed,) = json.loads(cli("silences", "--json").out)
    assert (listed["state"], listed["comment"], listed["matchers"]) == ("expired", "annual review",
                                                                       ['goal="ev-deliveries-2026"'])
    assert cli("unsilence", "ev-deliveries-2026").out.strip() == "ev-deliveries-2026 was not silenced"


def test_silence_by_matchers_list_and_end_it_by_id(cli, sqlite_url: str) -> None:
    done = cli("silence", "--match", 'business="ev"', "--match", 'severity=~"critical|warning"',
               "--until", "2099-01-01", "--comment", "Q3 plan under review", "--author", "li")
    assert done.code == 0, done.err
    silence_id = done.out.split()[1].rstrip(":")
    assert done.out.strip() == (f'silence {silence_id}: business="ev", severity=~"critical|warning" '
                                "until 2099-01-01 00:00+08:00")
    (item,) = json.loads(cli("silences", "--json").out)
    assert (item["id"], item["state"], item["created_by"], item["comment"]) == (
        silence_id, "active", "li", "Q3 plan under review")
    text = cli("silences").out
    assert f"{silence_id} active  until 2099-01-01 00:00+08:00 by li: Q3 plan under review" in text
    ended = cli("unsilence", silence_id)
    assert ended.code == 0 and ended.out.startswith(f"silence {silence_id} ended at ")
    assert json.loads(cli("silences", "--json").out)[0]["state"] == "expired"
    assert cli("silences").code == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (("silence", "no-such-goal", "--until", "2099-01-01"), "goal 'no-such-goal' is not in the catalog"),
        (("silence", "ev-deliveries-2026", "--until", "2020-01-01"), "is not in the future"),
        (("silence", "ev-deliveries-2026", "--until", "next tuesday"), "is not ISO 8601"),
        (("silence", "ev-deliveries-2026"), "Missing option '--until'"),
        (("unsilence", "no-such-goal"), "no goal or silence 'no-such-goal'"),
        (("evaluate", "--at", "2026-13-45"), "is not ISO 8601"),
        (("silence", "--match", 'business~"ev"', "--until", "2099-01-01"), "--match 'business~\"ev\"' is not a matcher"),
        (("silence", "--match", 'business=~"("', "--until", "2099-01-01"), "bad regular expression"),
        (("silence", "--match", 'goal=~"(?!x)"', "--until", "2099-01-01"), "not RE2 regular expressions"),
        (("silence", "ev-deliveries-2026", "--match", 'business="ev"', "--until", "2099-01-01"), "not both"),
        (("silence", "--until", "2099-01-01"), "give a GOAL or --match"),
        (("silence", "--match", 'business="ev"', "--until", "2020-01-01"), "is not in the future"),
    ],
    ids=["unknown-goal", "past-until", "malformed-until", "missing-until", "unsilence-unknown", "malformed-at",
         "bad-operator", "bad-regex", "lookahead", "goal-and-match", "neither", "match-past-until"],
)
def test_bad_input_exits_2_and_writes_nothing(
    cli, sqlite_url: str, silenced_db: Path, args: tuple[str, ...], message: str
) -> None:
    shutil.copy(silenced_db, sqlite_url.removeprefix("sqlite:///"))
    before = dump(sqlite_url)
    assert before["silences"]
    done = cli(*args)
    assert done.code == 2
    assert message in done.err and len(done.err.strip().splitlines()) == 1
    assert "Traceback" not in done.err
    assert dump(sqlite_url) == before


def test_alerts_and_deliver_on_an_empty_database(cli) -> None:
    done = cli("alerts", "--json")
    assert done.code == 0, done.err
    assert json.loads(done.out) == {"alerts": [], "receivers": []}
    assert cli("alerts").out.strip() == "no alerts pending or firing"
    deliver = cli("deliver", "--replay-dead")
    assert deliver.code == 0, deliver.err
    assert deliver.out.splitlines() == ["requeued 0 dead notifications", "0 notifications still queued"]


def test_evaluate_then_alerts_lists_what_fires(cli) -> None:
    for month in range(1, 7):  # 20,000 a month: far below the pace for 550,000 a year
        assert cli("record", "ev_deliveries", f"2026-{month:02d}", "20000").code == 0
    done = cli("evaluate", "--at", "2026-07-05")
    assert done.code == 0, done.err
    last = done.out.strip().splitlines()[-1]  # (logging goes where tracker.service.logs sends it)
    assert last.startswith("evaluated 13 goals as of 2026-07-05 00:00+08:00: ") and "queued" in last
    listed = json.loads(cli("alerts", "--json").out)
    ev = [a for a in listed["alerts"] if a["subject"] == "goal:ev-deliveries-2026"]
    assert [(a["rule"], a["state"], a["severity"]) for a in ev] == [("off-track", "firing", "critical")]
    assert ev[0]["summary"].startswith("EV deliveries 2026")
    assert "queued 0 notifications; 4 groups waiting (the first due 2026-07-05 00:00:30+08:00" in last
    again = cli("evaluate", "--at", "2026-07-05T01:00").out.strip().splitlines()[-1]
    assert again.endswith("queued 4 notifications")  # the groups have waited out group_wait
    assert cli("evaluate", "--at", "2026-07-05T02:00").out.strip().endswith("queued 0 notifications")

"""evaluate_from_db on SQLite and PostgreSQL, and `tracker status` through the real CLI."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

from tests.conftest import table_dump
from tests.evalkit import local
from tracker.store import actuals as store
from tracker.store import db
from tracker.store.judging import evaluate_from_db

RECORDED = datetime(2026, 3, 5, tzinfo=timezone.utc)


def test_evaluate_from_db_reads_exact_current_values_as_of(engine, catalog):
    with db.session(engine, write=True) as session:
        for metric, period, value in [
            ("ev_deliveries", "2026-01", "30000"), ("ev_deliveries", "2026-02", "31000"),
            ("ev_deliveries", "2026-02", "32000"),  # a revision: the newest counts
            ("ev_deliveries", "2026-05", "40000"),  # after the as-of instant: unseen
            ("ai_generated_lines", "2026-Q1", "0.1"), ("ai_generated_lines", "2026-Q1", "0.3"),
            ("total_code_lines", "2026-Q1", "1.0"),
        ]:
            store.record(session, catalog=catalog, metric=metric, period=period, value=value, now=RECORDED)
    with db.session(engine) as session:
        results = {e.goal: e for e in evaluate_from_db(session, catalog=catalog, now=local("2026-04-03"))}
    assert (results["ev-deliveries-2026"].actual, results["ev-deliveries-2026"].status) == (Decimal(62000), "at_risk")
    assert results["ai-code-share"].actual == Decimal("0.3")  # exact: equality meets at_least
    assert results["ai-code-share"].status == "achieved"
    assert results["home-stores-2026"].status == "no_data"


def test_status_json(cli):
    assert cli("record", "ev_deliveries", "2026-01", "30000").code == 0
    assert cli("record", "ev_deliveries", "2026-02", "32000").code == 0
    done = cli("status", "--at", "2026-04-03", "--json")
    assert done.code == 0, done.err
    rows = {row["goal"]: row for row in json.loads(done.out)}
    ev = rows["ev-deliveries-2026"]
    assert (ev["status"], ev["actual"], ev["expected"], ev["data_through"]) == ("at_risk", 62000, 66000, "2026-02-28")
    assert ev["period"] == {"start": "2026-01-01", "end": "2027-01-01"}
    assert {"goal", "title", "kind", "target", "projected", "attainment", "projected_attainment",
            "required_rate", "stale", "evaluated_at"} <= ev.keys()
    assert rows["home-stores-2026"]["status"] == "no_data" and rows["home-stores-2026"]["actual"] is None


def test_status_table_shows_status_in_words(cli):
    assert cli("record", "ev_deliveries", "2026-01", "30000").code == 0
    done = cli("status", "--at", "2026-04-11", env={"COLUMNS": "200"})
    assert done.code == 0, done.err
    line = next(line for line in done.out.splitlines() if "ev-deliveries-2026" in line)
    assert "at risk" in line and "STALE" in line and "30,000" in line


def test_status_refuses_a_bad_time(cli, sqlite_url):
    assert cli("record", "ev_deliveries", "2026-01", "30000").code == 0
    before = table_dump(sqlite_url)
    done = cli("status", "--at", "last tuesday")
    assert done.code == 2
    assert done.err.strip() == (
        "tracker: error: time 'last tuesday' is not ISO 8601 (like 2026-07-05 or 2026-07-05T09:30+08:00)"
    )
    assert table_dump(sqlite_url) == before

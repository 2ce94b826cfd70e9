"""The command line for actuals, run as a user runs it (a subprocess)."""

import json

import pytest

from tests.conftest import table_dump

SEED = [("ev_deliveries", "2026-02", "4000"), ("home_stores", "2026-02", "600")]


@pytest.fixture
def seeded(sqlite_url, catalog):
    """A database with two actuals, written in-process (quicker than the CLI)."""
    from tests.conftest import NOW
    from tracker.store import actuals as store
    from tracker.store import db

    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    with db.session(engine, write=True) as session:
        for metric, period, value in SEED:
            store.record(session, catalog=catalog, metric=metric, period=period, value=value, now=NOW)
    engine.dispose()
    return table_dump(sqlite_url)


def assert_refused(result, message):
    assert result.code == 2, result
    *logged, last = result.err.strip().splitlines()
    # `tracker run` logs its refusal first, as the same line
    assert [json.loads(line)["reason"] for line in logged] in ([], [last.removeprefix("tracker: error: ")]), result.err
    lines = [last]
    assert lines[0].startswith("tracker: error: ")
    assert message in lines[0]
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    "args, message",
    [
        (["ev_delivery", "2026-03", "1"], "unknown metric 'ev_delivery'; the catalog has: "),
        (["ev_deliveries", "2026-Q1", "1"], "period '2026-Q1' is a quarter, but ev_deliveries is recorded by month (like 2026-03)"),
        (["ev_deliveries", "2026-13", "1"], "period '2026-13' has no month 13; months run from 1 to 12"),
        (["rnd_spend", "2026-Q5", "1"], "period '2026-Q5' has no quarter 5"),
        (["ev_deliveries", "March", "1"], "is not one of the forms 2026, 2026-H1, 2026-Q3, 2026-03, 2026-03-15"),
        (["ev_deliveries", "2026-03", "many"], "value 'many' is not a decimal number"),
        (["ev_deliveries", "2026-03", "NaN"], "value 'NaN' is not a decimal number"),
        (["ev_deliveries", "2026-03", "inf"], "value 'inf' is not a decimal number"),
        (["ev_deliveries", "2026-03", "4,500"], "without thousands separators"),
        (["ev_deliveries", "2026-03", "--", "-5"], "value -5 for ev_deliveries is below its minimum 0 vehicles"),
        (["ev_deliveries", "2026-03", "150001"], "is above its maximum 150000 vehicles; check the unit"),
        (["ev_deliveries", "2026-03", "40001"], "more than ten times above 4000 for 2026-02; check the unit, or pass --force"),
        (["ev_deliveries", "2026-03"], "Missing argument 'value'. (see 'tracker record --help')"),
        (["ev_deliveries", "2026-03", "1", "--frce"], "No such option: --frce"),
    ],
)
def test_record_refuses_bad_input_and_writes_nothing(cli, sqlite_url, seeded, args, message):
    assert_refused(cli("record", *args), message)
    assert table_dump(sqlite_url) == seeded


def test_record_with_force_accepts_the_jump(cli, sqlite_url, seeded):
    done = cli("record", "ev_deliveries", "2026-03", "40001", "--force", "--source", "press release")
    assert done.code == 0 and done.out.strip() == "recorded ev_deliveries 2026-03 = 40001 vehicles"
    assert len(table_dump(sqlite_url)) == len(seeded) + 1


@pytest.mark.parametrize(
    "env, message",
    [
        ({"TRACKER_CONFIG": "/nonexistent/goals.toml"}, "catalog /nonexistent/goals.toml: file not found"),
        ({"TRACKER_HTTP_PORT": "abc"}, "setting TRACKER_HTTP_PORT: Input should be a valid integer"),
        ({"TRACKER_WEBHOOK_SECRET": "hunter2"}, "setting TRACKER_WEBHOOK_SECRET: must start with 'whsec_'"),
        ({"TRACKER_WEBHOOK_SECRET": "whsec_%%%"}, "setting TRACKER_WEBHOOK_SECRET: the key after 'whsec_' must be non-empty base64"),
        ({"TRACKER_DATABASE_URL": "not a url"}, "setting TRACKER_DATABASE_URL: 'not a url' is not a database URL"),
    ],
)
def test_bad_settings_are_bad_input(cli, sqlite_url, seeded, env, message):
    result = cli("record", "ev_deliveries", "2026-03", "4100", env=env)
    assert_refused(result, message)
    assert "hunter2" not in result.err
    assert table_dump(sqlite_url) == seeded


def test_malformed_catalog_is_bad_input(cli, sqlite_url, seeded, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text('[metrics.x]\ntitle = "X"\nunit = "u"\ngranularity = "fortnight"\naggregation = "sum"\n[[goals]]\n', encoding="utf-8")
    result = cli("record", "x", "2026-03", "1", env={"TRACKER_CONFIG": str(broken)})
    assert_refused(result, f"catalog {broken}: metric x, field granularity: Input should be")
    assert table_dump(sqlite_url) == seeded
    assert_refused(cli("check-config", env={"TRACKER_CONFIG": str(broken)}), "metric x, field granularity")


def _csv(tmp_path, body, name="actuals.csv"):
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return str(path)


def test_import_all_rows(cli, sqlite_url, seeded, tmp_path):
    body = "metric,period,value,source,note\nev_deliveries,2026-02,4600,press,restated\nhome_stores,2026-03,640,,opened 40\nev_deliveries,2026-03,4500,press,\n"
    done = cli("import", _csv(tmp_path, body))
    assert done.code == 0 and done.out.startswith("imported 3 actuals from ") and "unchanged" not in done.out
    listing = json.loads(cli("actuals", "ev_deliveries", "--json").out)
    assert [(a["period"], a["value"], a["revision"], a["current"]) for a in listing] == [
        ("2026-02", 4000, 1, False),
        ("2026-02", 4600, 2, True),
        ("2026-03", 4500, 1, True),
    ]
    assert listing[1]["note"] == "restated" and listing[1]["source"] == "press"


def test_import_again_skips_unchanged_rows_and_says_how_many(cli, database_url, tmp_path):
    env = {"TRACKER_DATABASE_URL": database_url}
    first = "metric,period,value\nev_deliveries,2026-02,4000\nev_deliveries,2026-03,4500\nhome_stores,2026-03,640\n"
    path = _csv(tmp_path, first)
    assert cli("import", path, env=env).out.strip() == f"imported 3 actuals from {path}"
    again = cli("import", path, env=env)
    assert again.code == 0 and again.out.strip() == f"imported 0 actuals from {path}; 3 unchanged, skipped"
    before = table_dump(database_url)
    changed = _csv(tmp_path, "metric,period,value\nev_deliveries,2026-02,4000.0\nev_deliveries,2026-03,4600\nhome_stores,2026-03,6.4E2\n", "b.csv")
    done = cli("import", changed, env=env)
    assert done.out.strip() == f"imported 1 actuals from {changed}; 2 unchanged, skipped"
    assert len(table_dump(database_url)) == len(before) + 1


def test_excel_filler_rows_and_padding_are_skipped(cli, sqlite_url, seeded, tmp_path):
    body = "\ufeffmetric,period,value,,\r\n,,,,\r\nev_deliveries,2026-03,4500,,\r\n,,,,\r\n\r\n,,\r\nhome_stores,2026-03,640\r\n,,,,\r\n"
    done = cli("import", _csv(tmp_path, body))
    assert done.code == 0, done.err
    assert done.out.startswith("imported 2 actuals from ")
    assert len(table_dump(sqlite_url)) == len(seeded) + 2


def test_a_sep_line_naming_a_comma_is_read_past(cli, sqlite_url, seeded, tmp_path):
    done = cli("import", _csv(tmp_path, "sep=,\nmetric,period,value\nev_deliveries,2026-03,4500\n"))
    assert done.code == 0 and done.out.startswith("imported 1 actuals")


@pytest.mark.parametrize(
    "body, message",
    [
        ("metric,period,value\nev_deliveries,2026-03,4500\nev_deliveries,2026-04,45x\nhome_stores,2026-03,640\n", "actuals.csv line 3: value '45x' is not a decimal number"),
        ("metric,period,value\nev_deliveries,2026-03,4500\nhome_stores,2026-Q2,640\n", "actuals.csv line 3: period '2026-Q2' is a quarter"),
        ("metric,period,value\nev_deliveries,2026-03,4500\nev_deliveries,2026-04,45001\n", "actuals.csv line 3: value 45001 for ev_deliveries 2026-04 is more than ten times"),
        ("metric,period,value\nev_deliveries,2026-03,4500,extra\n", "actuals.csv line 2: 4 fields where the header has 3"),
        ("metric,value,period\nev_deliveries,4500,2026-03\n", "actuals.csv line 1: header 'metric,value,period' is not metric,period,value[,known_since,source,note]"),
        ("", "actuals.csv: empty file"),
        ("metric;period;value\nev_deliveries;2026-03;4500\n", "actuals.csv line 1: the header is separated by semicolons, not commas; save it as CSV with commas (in Excel: 'CSV UTF-8 (Comma delimited)')"),
        ("metric\tperiod\tvalue\nev_deliveries\t2026-03\t4500\n", "actuals.csv line 1: the header is separated by tabs, not commas"),
        ("sep=;\nmetric;period;value\n", "actuals.csv line 1: the file says its separator is ';', not a comma; save it as CSV with commas"),
        ("metric,period,value\nev_deliveries,2026-03,4500\nev_deliveries;2026-04;4500\n", "actuals.csv line 3: 1 fields where the header has 3 (it seems separated by semicolons; save it as CSV with commas"),
        ("metric,period,value\nev_deliveries,2026-03,4500\n,,\nhome_stores,2026-03,640\nev_deliveries,2026-04,4600\nev_deliveries,2026-03,4550\n", "actuals.csv line 6: ev_deliveries 2026-03 is also on line 2; give each metric and period once per file (the newest figure)"),
        ("metric,period,value\nev_deliveries,2026-04,45000\nev_deliveries,2026-03,4400\n", "actuals.csv line 2: value 45000 for ev_deliveries 2026-04 is more than ten times above 4400 for 2026-03"),
        ("metric,period,value\nev_deliveries,2026-03,4500\nev_deliveries,9999-12,4500\n", "actuals.csv line 3: period '9999-12' is outside the years 1900 to 9000"),
        ("metric,period,value,known_since\nev_deliveries,2026-03,4500,0001-01-01\n", "actuals.csv line 2: time '0001-01-01' is outside the years 1900 to 9000"),
        ("metric,period,value\nev_deliveries,2026-03,1E70\n", "actuals.csv line 2: value '1E70' has 71 characters written out"),
        ("metric,period,value,,\nev_deliveries,2026-03,4500,,x\n", "actuals.csv line 2: 5 fields where the header has 3"),
    ],
)
def test_import_with_a_bad_row_imports_nothing(cli, sqlite_url, seeded, tmp_path, body, message):
    assert_refused(cli("import", _csv(tmp_path, body)), message)
    assert table_dump(sqlite_url) == seeded


def test_import_of_a_missing_file(cli, sqlite_url, seeded, tmp_path):
    assert_refused(cli("import", str(tmp_path / "nope.csv")), "nope.csv: file not found")
    assert table_dump(sqlite_url) == seeded


def test_actuals_of_an_unknown_metric(cli):
    assert_refused(cli("actuals", "nope"), "unknown metric 'nope'")


def test_goals_json_lists_the_catalog_with_revisions(cli):
    goals = {g["goal"]: g for g in json.loads(cli("goals", "--json").out)}
    assert len(goals) == 13
    assert goals["ev-deliveries-2026"]["target"] == 550000
    assert goals["ev-deliveries-2026"]["period"] == {"start": "2026-01-01", "end": "2027-01-01"}
    assert [t["value"] for t in goals["ev-deliveries-2025"]["targets"]] == ["300000", "350000", "400000"]
    assert goals["ai-code-share"]["recurs"] == "quarter"
    assert goals["ev-deliveries-2026"]["source"]["publisher"] == "Goldman Sachs"
    table = cli("goals", env={"COLUMNS": "200"}).out
    assert "300,000 (2025-01-01) -> 350,000 (2025-03-01) -> 400,000 (2025-12-01)" in " ".join(table.split())


def test_info_masks_secrets(cli, tmp_path):
    env = {
        "TRACKER_WEBHOOK_SECRET": "whsec_c2VjcmV0LXNpZ25pbmcta2V5LW9mLWluZm8tdGVzdA==",
        "TRACKER_WEBHOOK_URL": "https://hooks.slack.example/services/T000/B000/XXXXSECRETPATH",
    }
    done = cli("info", "--json", env=env)
    assert done.code == 0
    assert "c2VjcmV0LXNpZ25pbmcta2V5" not in done.out and "XXXXSECRETPATH" not in done.out
    details = json.loads(done.out)
    assert details["settings"]["webhook_secret"] == "**********"
    assert details["settings"]["webhook_url"] == "https://hooks.slack.example/..."
    assert details["revision"] is None or details["revision"] == details["head_revision"]


def test_db_upgrade_then_info_shows_the_revision(cli):
    from tracker.store.db import head_revision

    done = cli("db", "upgrade")
    assert done.code == 0 and done.out.strip().endswith(f": empty -> {head_revision()}")
    again = cli("db", "upgrade")
    assert again.out.strip().endswith(f": {head_revision()} -> {head_revision()}")
    details = json.loads(cli("info", "--json").out)
    assert details["revision"] == details["head_revision"]


def test_check_config_ok(cli):
    done = cli("check-config")
    assert done.code == 0 and "OK (13 goals, 17 metrics" in done.out


def test_help_lists_commands_without_error(cli):
    done = cli("--help")
    assert done.code == 0 and "record" in done.out and "import" in done.out


@pytest.mark.parametrize(
    "value, message",
    [
        (None, "receiver ops: secret: environment variable OPS_SECRET is not set"),
        ("whsec_!!notbase64", "receiver ops: secret (OPS_SECRET): the key after 'whsec_' must be non-empty base64"),
        ("plain", "receiver ops: secret (OPS_SECRET): must start with 'whsec_'"),
    ],
)
def test_a_receiver_that_means_to_sign_needs_a_good_secret(cli, tmp_path, value, message):
    catalog = tmp_path / "goals.toml"
    from tests.conftest import CATALOG

    catalog.write_text(
        CATALOG.read_text(encoding="utf-8")
        + '\n[[receivers]]\nname = "ops"\nurl = "https://ops.example/hook"\nsecret_env = "OPS_SECRET"\n',
        encoding="utf-8",
    )
    env = {"TRACKER_CONFIG": str(catalog)} | ({"OPS_SECRET": value} if value else {})
    assert_refused(cli("check-config", env=env), message)
    assert_refused(cli("run", "--once", env={**env, "TRACKER_HTTP_PORT": "0"}), message)


def test_run_once_with_a_bad_database_url_is_one_line(cli):
    result = cli("run", "--once", env={"TRACKER_DATABASE_URL": "foo://x", "TRACKER_HTTP_PORT": "0"})
    assert_refused(result, "setting TRACKER_DATABASE_URL: use sqlite:///PATH or postgresql+psycopg://")


def test_working_commands_answer_on_stdout_and_log_json_to_stderr(cli, seeded):
    """`evaluate` and `deliver` use the shared log setup: stdout is the answer alone, stderr
    JSON lines with the webhook URL's path (Slack's token) masked."""
    token = "T000SECRETPATH"
    env = {"TRACKER_WEBHOOK_URL": f"http://127.0.0.1:9/services/{token}", "TRACKER_LOG_FORMAT": "json"}
    evaluated = cli("evaluate", "--at", "2026-07-05", env=env)
    assert evaluated.code == 0 and len(evaluated.out.strip().splitlines()) == 1
    assert evaluated.out.startswith("evaluated 13 goals")
    delivered = cli("deliver", env=env)
    assert delivered.code == 0
    assert not any(line.startswith("{") for line in delivered.out.splitlines())
    logged = [json.loads(line) for line in (evaluated.err + delivered.err).splitlines() if line.strip()]
    assert logged and all("event" in entry for entry in logged)
    assert token not in evaluated.err + delivered.err + evaluated.out + delivered.out


@pytest.mark.parametrize(
    "args, answer",
    [
        (["phone_gross_profit", "2026-Q3", "-500"], "recorded phone_gross_profit 2026-Q3 = -500 RMB million"),
        (["phone_gross_profit", "2026-Q3", "-500", "--source", "-5"], "recorded phone_gross_profit 2026-Q3 = -500 RMB million"),
        (["--source", "q3 release", "phone_gross_profit", "2026-Q3", "-.5"], "recorded phone_gross_profit 2026-Q3 = -0.5 RMB million"),
        (["phone_gross_profit", "2026-Q3", "-1.5E2", "--force"], "recorded phone_gross_profit 2026-Q3 = -150 RMB million"),
        (["ev_deliveries", "2026-03", "4E3"], "recorded ev_deliveries 2026-03 = 4000 vehicles"),
        (["ev_deliveries", "2026-03", "1E2", "--force"], "recorded ev_deliveries 2026-03 = 100 vehicles"),
        (["ev_deliveries", "2026-03", "4.5e3"], "recorded ev_deliveries 2026-03 = 4500 vehicles"),
        (["ev_deliveries", "2026-03", "--", "4000"], "recorded ev_deliveries 2026-03 = 4000 vehicles"),
    ],
)
def test_record_takes_values_as_users_type_them(cli, seeded, args, answer):
    done = cli("record", *args)
    assert done.code == 0, done.err
    assert done.out.strip() == answer
    stored = json.loads(cli("actuals", args[0] if not args[0].startswith("-") else args[2], "--json").out)
    assert str(stored[-1]["value"]) == answer.split(" = ")[1].split()[0]


def test_record_help_still_works_beside_negative_values(cli):
    done = cli("record", "--help")
    assert done.code == 0 and "-500" in done.out and "Usage: tracker record" in done.out


@pytest.mark.parametrize(
    "args, message",
    [
        (["ev_deliveries", "9999-12", "1"], "period '9999-12' is outside the years 1900 to 9000"),
        (["ev_deliveries", "0001-01", "1"], "period '0001-01' is outside the years 1900 to 9000"),
        (["ev_deliveries", "1899-12", "1"], "period '1899-12' is outside the years 1900 to 9000"),
        (["ev_deliveries", "2026-03", "1", "--known-since", "9999-01-01"], "is outside the years 1900 to 9000"),
        (["phone_gross_profit", "2026-Q3", "-5x"], "value '-5x' is not a decimal number"),
        (["ev_deliveries", "2026-03", "1E70"], "value '1E70' has 71 characters written out; at most 64 are kept"),
        (["ev_deliveries", "2026-03", "-1", "--frce"], "No such option: --frce"),
    ],
)
def test_record_refuses_far_years_long_numbers_and_unknown_options(cli, sqlite_url, seeded, args, message):
    assert_refused(cli("record", *args), message)
    assert table_dump(sqlite_url) == seeded


LONG_METRIC = "m" * 101


@pytest.fixture
def long_names_catalog(tmp_path):
    from tests.conftest import CATALOG

    path = tmp_path / "goals.toml"
    path.write_text(
        CATALOG.read_text(encoding="utf-8")
        + f'\n[metrics.{LONG_METRIC}]\ntitle = "Long"\nunit = "u"\ngranularity = "month"\naggregation = "sum"\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    "extra, message",
    [
        (["ev_deliveries", "2026-03", "4100", "--source", "s" * 201], "source is 201 characters long; at most 200 are kept"),
        (["ev_deliveries", "2026-03", "4100", "--note", "n" * 2001], "note is 2001 characters long; at most 2000 are kept"),
        ([LONG_METRIC, "2026-03", "1"], "metric name 'mmmmmmmmmmmmmmmmmmmm'... is 101 characters long; the database keeps at most 100 (shorten it in the catalog)"),
    ],
    ids=["source", "note", "metric"],
)
def test_texts_longer_than_their_columns_are_refused_on_both_databases(cli, database_url, long_names_catalog, extra, message):
    env = {"TRACKER_DATABASE_URL": database_url, "TRACKER_CONFIG": str(long_names_catalog)}
    assert cli("record", "ev_deliveries", "2026-02", "4000", env=env).code == 0
    before = table_dump(database_url)
    assert_refused(cli("record", *extra, env=env), message)
    body = f"metric,period,value,source,note\n{extra[0]},{extra[1]},{extra[2]},{extra[4] if extra[3:4] == ['--source'] else ''},{extra[4] if extra[3:4] == ['--note'] else ''}\n"
    path = long_names_catalog.parent / "long.csv"
    path.write_text(body, encoding="utf-8")
    assert_refused(cli("import", str(path), env=env), f"long.csv line 2: {message}")
    assert table_dump(database_url) == before


@pytest.mark.parametrize(
    "body, message",
    [
        ("metric,period,value\nev_deliveries,2026-03,4500\nev_deliveries,2026-03,4600\n", "line 3: ev_deliveries 2026-03 is also on line 2"),
        ("metric,period,value\nev_deliveries,2026-03,40001\n", "line 2: value 40001 for ev_deliveries 2026-03 is more than ten times above 4000 for 2026-02"),
        ("metric,period,value\nev_deliveries,2026-03,4500\nhome_stores,2026-03,x\n", "line 3: value 'x' is not a decimal number"),
    ],
    ids=["duplicate", "jump-from-stored", "late-bad-row"],
)
def test_import_refusals_write_nothing_on_both_databases(cli, database_url, tmp_path, body, message):
    env = {"TRACKER_DATABASE_URL": database_url}
    assert cli("record", "ev_deliveries", "2026-02", "4000", env=env).code == 0
    before = table_dump(database_url)
    assert_refused(cli("import", _csv(tmp_path, body), env=env), message)
    assert table_dump(database_url) == before


def test_import_on_a_terminal_shows_rows_percent_rate_and_time_left(sqlite_url, tmp_path):
    """stderr is a pseudo-terminal, as in a user's shell: the bar reads and writes, in rows."""
    import os
    import pty
    import subprocess
    import sys

    from tests.conftest import CATALOG, ROOT

    rows = "".join(f"ev_deliveries,{year}-{month:02d},{4000 + month}\n" for year in range(1990, 2026) for month in range(1, 13))
    path = _csv(tmp_path, "metric,period,value\n" + rows)
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update({"TRACKER_DATABASE_URL": sqlite_url, "TRACKER_CONFIG": str(CATALOG), "PYTHONPATH": str(ROOT),
                "TRACKER_LOG_FORMAT": "json", "COLUMNS": "80"})
    child = subprocess.Popen([sys.executable, "-m", "tracker", "import", path], stdout=subprocess.PIPE,
                             stderr=follower, env=env, cwd=tmp_path)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0 and out.decode().startswith("imported 432 actuals")
    text = shown.decode(errors="replace")
    assert "reading" in text and "writing" in text
    assert "432/432" in text and "100%" in text and "rows/s" in text
    assert "0:00:00" in text  # rich's time-left column, at the end of each phase


def test_a_tiny_value_is_stored_and_listed_written_out(cli, sqlite_url):
    """Below 1e-6 str(Decimal) switches to an exponent; the database text and the listing
    keep the figure as the user wrote it."""
    import sqlite3

    assert cli("record", "rnd_spend", "2026-Q3", "0.0000001").code == 0
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as raw:
        assert raw.execute("SELECT value FROM actuals").fetchall() == [("0.0000001",)]
    listed = cli("actuals", "rnd_spend").out
    assert "0.0000001" in listed and "E-7" not in listed

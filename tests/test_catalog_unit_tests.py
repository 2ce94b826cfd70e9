"""`tracker test`: a catalog's unit tests, run in memory through the production cycle.

The command is run as users run it (a subprocess) on the shipped catalog's own test file, on
a passing and a failing file of a small catalog (each kind of failed expectation and the line
it prints), on malformed files (exit 2, one line, nothing written), with its JUnit report read
back by a JUnit parser. The configured database is never opened and no receiver is called.
The pure parts (expectations, TOML line numbers, the file parser) are tested by tables.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from junitparser import Failure as JUnitFailure
from junitparser import JUnitXml

from tests.conftest import ROOT
from tracker.catalog.testfile import load_test_file
from tracker.catalog.testspecs import TestFileError
from tracker.catalog.toml_lines import line_of, statement_lines
from tracker.core import expectations as ex

MINI = """\
timezone = "UTC"

[metrics.sales]
title = "Sales"
unit = "units"
granularity = "month"
aggregation = "sum"
min = 0
max = 100000
grace = "5d"

[[goals]]
id = "sales-2026"
title = "Sales 2026"
kind = "cumulative"
metric = "sales"
period = "2026"
target = 1200
labels = { team = "a" }
source = { document = "plan.txt", publisher = "Example", published = 2026-01-01, quote = "1,200 units in 2026" }

[[rules]]
name = "off-track"
condition = "off_track"
severity = "critical"
for = "2h"

[[receivers]]
name = "ops"
url = "RECEIVER_URL"
format = "slack"

[[routes]]
receiver = "ops"
group_by = ["goal", "alertname"]
"""

INPUTS = """\
catalog = "mini.toml"
interval = "1h"

[[input]]
metric = "sales"
period = "2026-01"
values = "40 40 40 40 _ 40"
"""

PASSING = INPUTS + """
[[test]]
at = 2026-07-05T00:00:00Z

[[test.goal]]
goal = "sales-2026"
status = "off_track"
actual = 200
probability = "< 0.2"
projected = "704.692 +- 0.5%"
stale = true
missing_periods = ["2026-05"]

[[test.alert]]
rule = "off-track"
labels = ['goal="sales-2026"']
state = "pending"

[[test]]
at = 2026-07-05T02:00:00Z

[[test.alert]]
rule = "off-track"
labels = { goal = "sales-2026", severity = "critical" }
state = "firing"

[[test.alert]]
rule = "at-risk"
state = "absent"

[[test.notification]]               # May is missing: stale-metric went out after group_wait
receiver = "ops"
group = { alertname = "stale-metric", goal = "sales-2026" }
count = 1

[[test.notification]]               # off-track has only just fired: group_wait
receiver = "ops"
group = { alertname = "off-track", goal = "sales-2026" }
count = 0

[[test]]
name = "after group_wait"
at = 2026-07-05T02:00:30Z

[[test.notification]]
receiver = "ops"
format = "slack"
group = { alertname = "off-track", goal = "sales-2026" }
event = "firing"
count = 1
"""

FAILING = INPUTS + """
[[test]]
at = 2026-07-05T00:00:00Z

[[test.goal]]
goal = "sales-2026"
status = "on_track"
probability = ">= 0.8"
projected = "2000 +- 1%"
actual = "null"
stale = false
missing_periods = []

[[test.alert]]
rule = "off-track"
labels = { goal = "sales-2026" }
state = "firing"

[[test.alert]]
rule = "at-risk"
state = "pending"

[[test.notification]]
receiver = "ops"
format = "native"
count = 1

[[test]]
name = "stale-metric, two hours on"
at = 2026-07-05T02:00:00Z

[[test.alert]]
rule = "stale-metric"
state = "absent"

[[test.notification]]
receiver = "ops"
group = { alertname = "off-track", goal = "sales-2026" }
"""

AT = "at 2026-07-05T00:00:00+00:00"
LATER = "at 2026-07-05T02:00:00+00:00 (stale-metric, two hours on)"
FAILURES = [
    f"t.test.toml:14: {AT}: goal sales-2026, field status: expected on_track, got off_track",
    f"t.test.toml:15: {AT}: goal sales-2026, field probability: expected >= 0.8, got 0.049591",
    f"t.test.toml:16: {AT}: goal sales-2026, field projected: expected 2000 +- 1%, got 704.692",
    f"t.test.toml:17: {AT}: goal sales-2026, field actual: expected null, got 200",
    f"t.test.toml:18: {AT}: goal sales-2026, field stale: expected false, got true",
    f"t.test.toml:19: {AT}: goal sales-2026, field missing_periods: expected [], got [2026-05]",
    f't.test.toml:24: {AT}: alert off-track {{goal="sales-2026"}}: expected firing, got pending',
    f"t.test.toml:28: {AT}: alert at-risk: expected pending, got absent",
    f"t.test.toml:32: {AT}: notification to ops, format: expected native, got slack",
    (f"t.test.toml:33: {AT}: notification to ops: expected 1 notification, got 0 (queued since the previous test: "
    "nothing)"),
    f"t.test.toml:41: {LATER}: alert stale-metric: expected absent, got firing",
    (f't.test.toml:43: {LATER}: notification to ops group {{alertname="off-track", goal="sales-2026"}}: expected at '
    'least 1 notification, got 0 (queued since the previous test: ops {alertname="stale-metric", '
    'goal="sales-2026"} firing at 2026-07-05T00:00:30+00:00)'),
]


@pytest.fixture
def mini(tmp_path: Path, httpserver) -> Path:  # type: ignore[no-untyped-def]
    """The small catalog beside the test files, its receiver a loopback server that must
    never be called."""
    (tmp_path / "mini.toml").write_text(MINI.replace("RECEIVER_URL", httpserver.url_for("/hook")))
    return tmp_path


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------- the command


def test_the_shipped_catalog_passes_its_own_tests_without_touching_the_database(cli, tmp_path: Path) -> None:
    before = files_under(tmp_path)
    done = cli("test", str(ROOT / "config" / "goals.test.toml"), env={"HOME": str(tmp_path)})
    assert (done.code, done.err) == (0, "")
    assert done.out == f"Unit Testing: {ROOT / 'config' / 'goals.test.toml'}\n  SUCCESS\n"
    assert not (tmp_path / "tracker.db").exists()  # TRACKER_DATABASE_URL names it: never opened
    assert files_under(tmp_path) == before  # nothing written anywhere under the working folder


def test_a_passing_file_prints_success_and_calls_no_receiver(cli, mini: Path, httpserver) -> None:  # type: ignore[no-untyped-def]
    (mini / "t.test.toml").write_text(PASSING)
    (mini / "tracker.db").write_bytes(b"not a database: opening it as one would fail")
    before = files_under(mini)
    done = cli("test", "t.test.toml")
    assert (done.code, done.out, done.err) == (0, "Unit Testing: t.test.toml\n  SUCCESS\n", "")
    assert httpserver.log == []  # the notification was queued for ops, never sent
    assert files_under(mini) == before  # the configured database file is untouched


def test_each_failed_expectation_prints_file_line_time_expected_and_actual(cli, mini: Path) -> None:
    (mini / "t.test.toml").write_text(FAILING)
    done = cli("test", "t.test.toml", "--junit", "report.xml")
    assert done.code == 1 and done.err == ""
    assert done.out.splitlines() == ["Unit Testing: t.test.toml", "  FAILED:", *(f"    {f}" for f in FAILURES)]

    report = JUnitXml.fromfile(str(mini / "report.xml"))
    suites = list(report)
    assert [s.name for s in suites] == ["t.test.toml"] and (suites[0].tests, suites[0].failures) == (2, 2)
    cases = list(suites[0])
    assert [c.name for c in cases] == ["at 2026-07-05T00:00:00+00:00", "stale-metric, two hours on"]
    first = cases[0].result[0]
    assert isinstance(first, JUnitFailure) and first.message == "10 expectations failed at 2026-07-05T00:00:00+00:00"
    assert first.text.splitlines() == FAILURES[:10]
    assert cases[1].result[0].text.splitlines() == FAILURES[10:]


def test_json_gives_the_same_failures_for_scripts(cli, mini: Path) -> None:
    (mini / "t.test.toml").write_text(FAILING)
    done = cli("test", "t.test.toml", "--json")
    assert done.code == 1
    answer = json.loads(done.out)
    assert answer["passed"] is False
    tests = answer["files"][0]["tests"]
    assert [t["passed"] for t in tests] == [False, False]
    assert [f["message"] for t in tests for f in t["failures"]] == FAILURES
    assert tests[0]["failures"][1] == {
        "file": "t.test.toml", "line": 15, "at": "2026-07-05T00:00:00+00:00",
        "subject": "goal sales-2026, field probability", "expected": ">= 0.8", "actual": "0.049591",
        "message": FAILURES[1],
    }


def test_a_malformed_file_is_one_line_exit_2_and_nothing_is_written(cli, mini: Path) -> None:
    (mini / "good.test.toml").write_text(PASSING)
    (mini / "bad.test.toml").write_text(PASSING.replace('state = "pending"', 'state = "pendng"'))
    before = files_under(mini)
    done = cli("test", "good.test.toml", "bad.test.toml", "--junit", "report.xml")
    assert (done.code, done.out) == (2, "")
    assert done.err == ("tracker: error: bad.test.toml:24: [[test.alert]], field state: 'pendng' is not one of "
                        "firing, pending, inhibited, silenced, absent\n")
    assert files_under(mini) == before  # no report, no database
    done = cli("test", "good.test.toml", "--junit", "reports/report.xml")
    assert (done.code, done.out) == (2, "")
    assert done.err == "tracker: error: --junit reports/report.xml: folder reports does not exist\n"


# ---------------------------------------------------------------------------- malformed files, by table

MALFORMED = [
    ("catalog = \"mini.toml\"\n[[test]\nat = 1\n", "t.test.toml:2: not valid TOML: "),
    (INPUTS, "t.test.toml:1: the file has no [[test]]"),
    (INPUTS + "[[test]]\nat = 2026-07-05\n", "t.test.toml:8: [[test]]: expects nothing (add [[test.goal]]"),
    (INPUTS + "[[test]]\nat = 2026-07-05\n[[test.goal]]\ngoal = \"sales-2027\"\nstatus = \"on_track\"\n",
     "t.test.toml:11: [[test.goal]]: goal 'sales-2027' is not in the catalog"),
    (INPUTS + "[[test]]\nat = 2026-07-05\n[[test.goal]]\ngoal = \"sales-2026\"\nprobabilty = 0.5\n",
     "t.test.toml:12: [[test.goal]]: unknown key 'probabilty' (known: goal, status, target,"),
    (INPUTS + "[[test]]\nat = 2026-07-05\n[[test.goal]]\ngoal = \"sales-2026\"\nprojected = \"about 700\"\n",
     ("t.test.toml:12: [[test.goal]], field projected: 'about 700' is not a number, a comparison (>= 0.8) or a "
     "tolerance (531000 +- 1%)")),
    (INPUTS + "[[test]]\nat = 2026-07-05\n[[test.goal]]\ngoal = \"sales-2026\"\nstatus = \"late\"\n",
     "t.test.toml:12: [[test.goal]], field status: 'late' is not a status (on_track, at_risk"),
    (INPUTS + "[[test]]\nat = 2026-07-05\n[[test.alert]]\nrule = \"off-trak\"\nstate = \"firing\"\n",
     "t.test.toml:11: [[test.alert]]: rule 'off-trak' is not a rule of the catalog (off-track, at-risk,"),
    (INPUTS + "[[test]]\nat = 2026-07-05\n[[test.alert]]\nrule = \"at-risk\"\nlabels = ['goal=~\"(\"']\n"
     "state = \"firing\"\n", "t.test.toml:12: [[test.alert]], field labels: goal=~'(': bad regular expression"),
    (INPUTS.replace("40 40 40 40 _ 40", "40 40 400000"), ("t.test.toml:7: [[input]] sales 2026-03: value 400000 for sales is "
     "above its maximum 100000 units")),
    (INPUTS.replace('period = "2026-01"', 'period = "2026-Q1"'), ("t.test.toml:6: [[input]], field period: "
     "period '2026-Q1' is a quarter, but sales is recorded by month")),
    (INPUTS.replace('metric = "sales"', 'metric = "sale"'), ("t.test.toml:5: [[input]], field metric: unknown "
     "metric 'sale'")),
    (INPUTS.replace('interval = "1h"', 'start = 2026-08-01\ninterval = "1h"')
     + "[[test]]\nat = 2026-07-05\n[[test.alert]]\nrule = \"at-risk\"\nstate = \"absent\"\n",
     "t.test.toml:2: [[test]] at 2026-07-05T00:00:00+00:00 is before start 2026-08-01T00:00:00+00:00"),
    (INPUTS.replace('interval = "1h"', 'interval = "hourly"')
     + "[[test]]\nat = 2026-07-05\n[[test.alert]]\nrule = \"at-risk\"\nstate = \"absent\"\n",
     "t.test.toml:2: the file, field interval: duration 'hourly' is not like 30s"),
    (INPUTS.replace('interval = "1h"', 'start = 2020-01-01\ninterval = "1m"')
     + "[[test]]\nat = 2026-07-05\n[[test.alert]]\nrule = \"at-risk\"\nstate = \"absent\"\n",
     ("t.test.toml:3: from start to the last test is 3,422,880 evaluations of 1m (at most 10,000): use a longer "
     "interval or a later start")),
    (INPUTS.replace('"mini.toml"', '"missing.toml"')
     + "[[test]]\nat = 2026-07-05\n[[test.alert]]\nrule = \"at-risk\"\nstate = \"absent\"\n",
     "t.test.toml:1: catalog: catalog "),
    (INPUTS + "[[silence]]\nmatchers = ['team=\"a\"']\nends = 2026-07-01\n"
     "[[test]]\nat = 2026-07-05\n[[test.alert]]\nrule = \"at-risk\"\nstate = \"absent\"\n",
     "t.test.toml:10: [[silence]]: ends 2026-07-01T00:00:00+00:00 is not after starts 2026-07-05T00:00:00+00:00"),
    (INPUTS + "[[test]]\nat = 2026-07-05\n[[test.notification]]\nreceiver = \"ops\"\ncount = -1\n",
     "t.test.toml:12: [[test.notification]], field count: '-1' is not a whole number"),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_malformed_files_name_the_file_and_line(mini: Path, text: str, message: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(mini)
    (mini / "t.test.toml").write_text(text)
    with pytest.raises(TestFileError) as raised:
        load_test_file(Path("t.test.toml"), default_catalog=mini / "mini.toml")
    assert str(raised.value).startswith(message), str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_receiver_the_catalog_does_not_have_is_malformed(mini: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tracker.service.catalog_tests import run_file

    monkeypatch.chdir(mini)
    (mini / "t.test.toml").write_text(INPUTS + "[[test]]\nat = 2026-07-05\n[[test.notification]]\nreceiver = \"pager\"\n")
    spec = load_test_file(Path("t.test.toml"), default_catalog=mini / "mini.toml")
    with pytest.raises(TestFileError, match=r"^t.test.toml:10: \[\[test.notification\]\]: receiver 'pager' gets "
                                             r"nothing with this catalog \(its receivers: ops\)$"):
        run_file(spec)


# ---------------------------------------------------------------------------- pure parts, by table

NUMBERS = [
    # expectation, actual, holds
    (531000, 531000, True),
    (531000, 531001, False),
    (0.8, 0.8, True),
    ("0.8", Decimal("0.80"), True),
    (">= 0.8", 0.8, True),
    (">= 0.8", 0.799999, False),
    ("> 0.8", 0.8, False),
    ("< 3", 2.5, True),
    ("<= 3", 3, True),
    ("!= 0", 0, False),
    ("= 5", 5, True),
    ("531000 +- 1%", 536310, True),
    ("531000 +- 1%", 536311, False),
    ("531000 +- 1%", 525690, True),
    ("531000 +- 5000", 526000, True),
    ("531000 ± 5000", 525999, False),
    ("-0.05 +- 10%", -0.055, True),
    ("1_000", 1000, True),
    ("null", None, True),
    ("null", 0, False),
    (">= 0.8", None, False),
    ("0", True, False),  # a flag is not a number
]


@pytest.mark.parametrize(("expected", "actual", "holds"), NUMBERS)
def test_numeric_expectations(expected, actual, holds: bool) -> None:  # type: ignore[no-untyped-def]
    assert ex.number_check(expected).holds(actual) is holds


@pytest.mark.parametrize(("raw", "shown"), [(531000, "531000"), (">=0.8", ">= 0.8"), ("= 2", "2"),
                                             ("531000 +-1%", "531000 +- 1%"), ("null", "null")])
def test_numeric_expectations_print_as_written(raw, shown: str) -> None:  # type: ignore[no-untyped-def]
    assert str(ex.number_check(raw)) == shown


@pytest.mark.parametrize("raw", ["about 5", ">= x", "5 +- -1", "NaN", True, [1], "5 +- 1%%"])
def test_bad_numeric_expectations_are_refused(raw) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises((ValueError, TypeError)):
        ex.number_check(raw)


ALERTS = [
    # expected state, alerts seen (state, muted), holds
    ("absent", [], True),
    ("absent", [("pending", None)], False),
    ("pending", [("pending", None)], True),
    ("pending", [("firing", None)], False),
    ("firing", [("firing", "inhibited by off-track goal:x")], True),
    ("firing", [("pending", None)], False),
    ("inhibited", [("firing", "inhibited by off-track goal:x")], True),
    ("inhibited", [("firing", None)], False),
    ("inhibited", [("firing", "silenced by 1 until 2026-08-01 00:00 UTC")], False),
    ("silenced", [("firing", "silenced by 1 until 2026-08-01 00:00 UTC")], True),
    ("silenced", [("pending", "silenced by 1 until 2026-08-01 00:00 UTC")], False),
]


@pytest.mark.parametrize(("expected", "seen", "holds"), ALERTS)
def test_alert_states(expected: str, seen: list, holds: bool) -> None:
    assert ex.alert_state_holds(expected, [ex.AlertSeen(*s) for s in seen]) is holds


def test_other_expectations() -> None:
    assert ex.status_check(["at_risk", "off_track"]).holds("off_track")
    assert str(ex.status_check(["at_risk", "off_track"])) == "one of at_risk, off_track"
    assert not ex.flag_check(False).holds(0)  # a flag is true or false, never a number
    assert ex.list_check(["2026-05"]).holds(["2026-05"]) and not ex.list_check([]).holds(["2026-05"])
    assert ex.describe_alerts([ex.AlertSeen("firing", "inhibited by x")]) == "firing (inhibited by x)"


LINES_DOC = '''\
catalog = "x"
note = """
[[test]]
status = "in a string"
"""
[[input]]
metric = 'a'
values = [
  1,
  2,
]
[[test]]
at = 1
[[test.goal]]
goal = "g"
"status" = "on_track"
[[test.goal]]  # a comment
goal = "h"
x = { a = 1 }
[[ test ]]
at = 2
[[test.alert]]
rule = "r"
labels.goal = "g"
'''

LINES = [
    (("catalog",), 1),
    (("note",), 2),
    (("input", 0), 6),
    (("input", 0, "values"), 8),
    (("test", 0), 12),  # the header inside the string is not one
    (("test", 0, "goal", 0, "status"), 16),
    (("test", 0, "goal", 1), 17),
    (("test", 0, "goal", 1, "x", "a"), 19),  # inside an inline table: its key's line
    (("test", 1), 20),
    (("test", 1, "alert", 0), 22),
    (("test", 1, "alert", 0, "labels", "goal"), 24),
    (("test", 1, "alert", 0, "state"), 22),  # absent: the enclosing table's line
]


@pytest.mark.parametrize(("path", "line"), LINES)
def test_toml_line_numbers(path: tuple, line: int) -> None:
    assert line_of(statement_lines(LINES_DOC), path) == line


def test_toml_line_numbers_skip_lookalikes_in_multiline_strings_and_arrays() -> None:
    lines = statement_lines(LINES_DOC)
    assert ("test", 2) not in lines and ("status",) not in lines
    assert sorted(k for k in lines if len(k) == 2 and k[0] == "test") == [("test", 0), ("test", 1)]


# ---------------------------------------------------------------------------- the runner, in process

SOURCE = """
[[sources]]
name = "sales-feed"
kind = "http_json"
schedule = "0 9 * * *"
url = "http://127.0.0.1:9/sales.json"
metric = "sales"
value_path = "value"
period = "previous"
failures_before_alert = 2
"""

COLLECTIONS = INPUTS + """
[[collection]]
source = "sales-feed"
at = 2026-07-04T09:00:00Z
outcome = "failed"
error = "HTTP 503"

[[collection]]
source = "sales-feed"
at = 2026-07-05T09:00:00Z
outcome = "failed"
error = "HTTP 503"

[[input]]                           # May arrives late: stale-metric resolves
metric = "sales"
period = "2026-05"
value = 40
known_since = 2026-07-05T12:00:00Z

[[test]]
at = 2026-07-05T08:00:00Z

[[test.alert]]
rule = "source-failing"
state = "absent"                    # one failure: below failures_before_alert

[[test.alert]]
rule = "stale-metric"
labels = { metric = "sales" }
state = "firing"

[[test]]
at = 2026-07-05T10:00:00Z

[[test.alert]]
rule = "source-failing"
labels = { source = "sales-feed", metric = "sales" }
state = "firing"

[[test.alert]]
rule = "stale-metric"
labels = { goal = "sales-2026" }
state = "inhibited"                 # the failing source explains the late metric

[[test]]
at = 2026-07-05T12:00:00Z

[[test.goal]]
goal = "sales-2026"
stale = false
missing_periods = []

[[test.alert]]
rule = "stale-metric"
state = "absent"

[[test.notification]]
receiver = "ops"
group = { alertname = "stale-metric", goal = "sales-2026" }
event = "resolved"
count = 1
"""


def test_collector_runs_raise_source_failing_which_inhibits_the_late_metric(mini: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tracker.service.catalog_tests import run_file

    monkeypatch.chdir(mini)
    (mini / "mini.toml").write_text((mini / "mini.toml").read_text() + SOURCE)
    (mini / "t.test.toml").write_text(COLLECTIONS)
    result = run_file(load_test_file(Path("t.test.toml"), default_catalog=mini / "mini.toml"))
    assert [(c.case.name, c.failures) for c in result.cases] == [
        ("at 2026-07-05T08:00:00+00:00", []), ("at 2026-07-05T10:00:00+00:00", []),
        ("at 2026-07-05T12:00:00+00:00", []),
    ]


def test_a_collection_of_a_source_the_catalog_lacks_is_malformed(mini: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(mini)
    (mini / "t.test.toml").write_text(COLLECTIONS)
    with pytest.raises(TestFileError, match=r"^t.test.toml:10: \[\[collection\]\]: source 'sales-feed' is not in "
                                             r"the catalog's \[\[sources\]\] \(it has none\)$"):
        load_test_file(Path("t.test.toml"), default_catalog=mini / "mini.toml")


def test_a_muted_alert_expected_otherwise_says_why_it_is_muted(mini: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tracker.service.catalog_tests import failure_text, run_file

    monkeypatch.chdir(mini)
    (mini / "mini.toml").write_text((mini / "mini.toml").read_text() + SOURCE)
    (mini / "t.test.toml").write_text(COLLECTIONS.replace('state = "inhibited"', 'state = "silenced"'))
    result = run_file(load_test_file(Path("t.test.toml"), default_catalog=mini / "mini.toml"))
    assert [failure_text(result, case, f) for case in result.cases for f in case.failures] == [
        ('t.test.toml:50: at 2026-07-05T10:00:00+00:00: alert stale-metric {goal="sales-2026"}: expected silenced, '
        "got firing (inhibited by source-failing source:sales-feed)")
    ]


def test_without_a_catalog_key_the_catalog_in_use_is_tested(mini: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(mini)
    (mini / "t.test.toml").write_text(PASSING.replace('catalog = "mini.toml"\n', ""))
    spec = load_test_file(Path("t.test.toml"), default_catalog=mini / "mini.toml")
    assert spec.catalog.path == mini / "mini.toml" and [g.id for g in spec.catalog.goals] == ["sales-2026"]

"""A catalog's unit-test file (`tracker test FILE`), read and checked before anything runs.

```toml
catalog = "goals.toml"            # beside this file; default: the catalog in use
start = 2026-07-05T00:00:00+08:00 # the fake clock's first evaluation (default: the first test)
interval = "1h"                   # evaluations every interval after it (default 1h)

[[input]]                         # actuals, known from their period's end unless known_since
metric = "ev_deliveries"
period = "2026-01"
values = "40000 42000 _ 45000"    # a series from `period` on; `_` leaves a period out

[[silence]]                       # as `tracker silence --match`, from `starts` until `ends`
matchers = ['business="ev"']
ends = 2026-08-01

[[test]]
at = 2026-07-05T00:00:30+08:00
[[test.goal]]
goal = "ev-deliveries-2026"
status = "at_risk"
projected = "531000 +- 1%"
[[test.alert]]
rule = "at-risk"
labels = { goal = "ev-deliveries-2026" }
state = "firing"                  # firing | pending | inhibited | silenced | absent
[[test.notification]]
receiver = "log"
group = { business = "ev" }
count = 1
```

Times are TOML date-times (with or without an offset), dates or ISO 8601 strings; without an
offset they are read in the catalog's time zone. Every problem is one TestFileError naming
the file and the line of the table or key at fault.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tracker.catalog.model import Catalog, load_catalog
from tracker.catalog.testspecs import (
    AlertExpectation,
    Case,
    CollectionSpec,
    FieldCheck,
    GoalExpectation,
    InputSpec,
    NotificationExpectation,
    SilenceSpec,
    TestFile,
    TestFileError,
)
from tracker.catalog.toml_lines import line_of, statement_lines
from tracker.core import expectations as ex
from tracker.core.durations import format_duration, parse_duration
from tracker.core.errors import BadInput
from tracker.core.matchers import Matcher, parse_all
from tracker.core.periods import parse_instant
from tracker.core.validation import (
    check_bounds,
    find_metric,
    parse_period_for,
    parse_value,
)

DEFAULT_INTERVAL = timedelta(hours=1)  # the daemon's default schedule: hourly
MAX_EVALUATIONS = 10_000  # a year of hourly cycles; more is a test that would run for an hour
MISSING = "_"  # a period left out of a series, as promtool writes a missing sample

NUMERIC = ("target", "actual", "expected", "projected", "baseline", "attainment", "projected_attainment",
           "required_rate", "probability", "projected_low", "projected_high", "recent_rate")
GOAL_FIELDS: dict[str, Callable[[Any], Any]] = {
    "status": ex.status_check,
    **{name: ex.number_check for name in NUMERIC},
    "stale": ex.flag_check,
    "deadline_near": ex.flag_check,
    "missing_periods": ex.list_check,
    "stale_metrics": ex.list_check,
    "data_through": lambda raw: ex.text_check(raw.isoformat() if isinstance(raw, date) else raw),
}
EVENTS = ("firing", "resolved")


class _Reader:
    """Reads one table of the file, reporting problems at the line of the key at fault."""

    def __init__(self, path: Path, lines: dict, at: tuple, table: Any, known: tuple[str, ...], what: str) -> None:
        self.path, self.lines, self.at, self.what = path, lines, at, what
        self.line = line_of(lines, at)
        if not isinstance(table, dict):
            self.fail(f"{what} must be a table")
        self.table: dict[str, Any] = table
        for key in table:
            if key not in known:
                self.fail(f"{what}: unknown key {key!r} (known: {', '.join(known)})", key)

    def line_at(self, key: str) -> int:
        return line_of(self.lines, self.at + (key,))

    def fail(self, message: str, key: str | None = None) -> None:
        line = self.line_at(key) if key else self.line
        raise TestFileError(f"{self.path}:{line}: {message}")

    def get(self, key: str, parse: Callable[[Any], Any] | None = None, *, required: bool = False) -> Any:
        if key not in self.table:
            if required:
                self.fail(f"{self.what}: {key} is required")
            return None
        raw = self.table[key]
        if parse is None:
            return raw
        try:
            return parse(raw)
        except (ValueError, TypeError, BadInput) as problem:
            self.fail(f"{self.what}, field {key}: {problem}", key)

    def text(self, key: str, *, required: bool = False) -> str | None:
        def must_be_text(raw: Any) -> str:
            if not isinstance(raw, str) or not raw.strip():
                raise ValueError(f"{ex.show(raw)!r} is not a non-empty string")
            return raw

        return self.get(key, must_be_text, required=required)

    def array(self, key: str) -> list[tuple[tuple, Any]]:
        items = self.table.get(key, [])
        if not isinstance(items, list):
            items = [items]
        return [(self.at + (key, index), item) for index, item in enumerate(items)]


def instant_of(value: Any, tz: ZoneInfo) -> datetime:
    """A TOML date-time, date or ISO 8601 string as an aware UTC instant."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=tz).astimezone(UTC)
    if isinstance(value, str):
        return parse_instant(value, tz)
    raise ValueError(f"{ex.show(value)!r} is not a time (a TOML date-time, a date or an ISO 8601 string)")


def load_test_file(path: Path, *, default_catalog: Path) -> TestFile:
    """Reads and checks a test file; the catalog it names is loaded and validated too."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TestFileError(f"{path}:1: file not found") from None
    except (OSError, UnicodeDecodeError) as problem:
        raise TestFileError(f"{path}:1: cannot be read ({getattr(problem, 'strerror', None) or problem})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as problem:
        raise TestFileError(f"{path}:{_toml_line(problem)}: not valid TOML: {problem}") from None
    lines = statement_lines(text)
    top = _Reader(path, lines, (), data, ("catalog", "start", "interval", "webhook_url", "input", "silence",
                                          "collection", "test"), "the file")
    catalog = _catalog(top, path, default_catalog)
    tz = catalog.timezone
    inputs = tuple(spec for at, item in top.array("input") for spec in _inputs(path, lines, at, item, catalog))
    cases = tuple(sorted((_case(path, lines, at, item, catalog) for at, item in top.array("test")),
                         key=lambda case: case.at))
    if not cases:
        top.fail("the file has no [[test]]")
    start = top.get("start", lambda raw: instant_of(raw, tz)) or cases[0].at
    late = [case for case in cases if case.at < start]
    if late:
        top.fail(f"[[test]] at {late[0].at.isoformat()} is before start {start.isoformat()}", "start")
    interval = top.get("interval", _interval) or DEFAULT_INTERVAL
    steps = (cases[-1].at - start) / interval
    if steps > MAX_EVALUATIONS:
        top.fail(f"from start to the last test is {int(steps):,} evaluations of {format_duration(interval)} "
                 f"(at most {MAX_EVALUATIONS:,}): use a longer interval or a later start",
                 "interval" if "interval" in top.table else None)
    webhook_url = top.text("webhook_url")
    if webhook_url is not None and not webhook_url.startswith(("http://", "https://")):
        top.fail("field webhook_url: must be an http:// or https:// URL", "webhook_url")
    silences = tuple(_silence(path, lines, at, item, tz, start) for at, item in top.array("silence"))
    collections = tuple(_collection(path, lines, at, item, catalog) for at, item in top.array("collection"))
    return TestFile(path, catalog, start, interval, webhook_url, inputs, silences, collections, cases)


def _toml_line(problem: tomllib.TOMLDecodeError) -> int:
    # tomllib's message ends "(at line N, column M)"; 3.14 adds the attribute
    line = getattr(problem, "lineno", None)
    if line:
        return int(line)
    text = str(problem)
    marker = "(at line "
    if marker in text:
        return int(text.split(marker, 1)[1].split(",", 1)[0].rstrip(")"))
    return 1


def _catalog(top: _Reader, path: Path, default: Path) -> Catalog:
    named = top.text("catalog")
    target = (path.parent / named) if named else default  # the located catalog in use
    try:
        return load_catalog(target)
    except BadInput as problem:
        top.fail(f"catalog: {problem}", "catalog" if named else None)
    raise AssertionError("unreachable")


def _interval(raw: Any) -> timedelta:
    value = parse_duration(raw) if isinstance(raw, str) else None
    if value is None or value <= timedelta(0):
        raise ValueError(f"{ex.show(raw)!r} is not a positive duration such as 1h or 1d")
    return value


def _inputs(path: Path, lines: dict, at: tuple, item: Any, catalog: Catalog) -> list[InputSpec]:
    reader = _Reader(path, lines, at, item, ("metric", "period", "value", "values", "known_since", "force",
                                             "source", "note"), "[[input]]")
    metric = reader.get("metric", lambda raw: find_metric(catalog.metrics, reader.text("metric")), required=True)
    first = reader.get("period", lambda raw: parse_period_for(metric, reader.text("period")), required=True)
    if ("value" in reader.table) == ("values" in reader.table):
        reader.fail("[[input]]: give value (one period) or values (a series), not both and not neither")
    key = "values" if "values" in reader.table else "value"
    series = _series(reader) if key == "values" else [reader.get("value", _value_text)]
    known = reader.get("known_since", lambda raw: instant_of(raw, catalog.timezone))
    force = bool(reader.get("force", _flag))
    out = []
    for offset, value in enumerate(series):
        if value is None:
            continue
        period = first.shift(offset)
        try:
            check_bounds(metric, parse_value(value))
        except BadInput as problem:
            reader.fail(f"[[input]] {metric.name} {period}: {problem}", key)
        end = datetime.combine(period.end, time(), tzinfo=catalog.timezone).astimezone(UTC)
        out.append(InputSpec(reader.line, metric.name, period.label, value, known or end, known is not None,
                             force, reader.text("source"), reader.text("note")))
    return out


def _value_text(raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise TypeError(f"{ex.show(raw)!r} is not a number")
    return str(raw).strip()


def _flag(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise TypeError(f"{ex.show(raw)!r} is not true or false")
    return raw


def _series(reader: _Reader) -> list[str | None]:
    raw = reader.table["values"]
    items = raw.split() if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items:
        reader.fail("[[input]], field values: a series such as \"40000 42000 _ 45000\" or [40000, 42000]", "values")
    return [None if item == MISSING else reader.get("values", lambda _r, item=item: _value_text(item))
            for item in items]


def _silence(path: Path, lines: dict, at: tuple, item: Any, tz: ZoneInfo, start: datetime) -> SilenceSpec:
    reader = _Reader(path, lines, at, item, ("matchers", "goal", "starts", "ends", "comment"), "[[silence]]")
    if ("matchers" in reader.table) == ("goal" in reader.table):
        reader.fail("[[silence]]: give matchers or goal, not both and not neither")
    goal = reader.text("goal")
    matchers = parse_all({"goal": goal}) if goal else reader.get("matchers", _matchers)
    starts = reader.get("starts", lambda raw: instant_of(raw, tz)) or start
    ends = reader.get("ends", lambda raw: instant_of(raw, tz), required=True)
    if ends <= starts:
        reader.fail(f"[[silence]]: ends {ends.isoformat()} is not after starts {starts.isoformat()}", "ends")
    return SilenceSpec(reader.line, matchers, starts, ends, reader.text("comment"))


def _matchers(raw: Any) -> tuple[Matcher, ...]:
    found = parse_all(raw)
    if not found:
        raise ValueError("at least one matcher, such as 'business=\"ev\"'")
    return found


def _collection(path: Path, lines: dict, at: tuple, item: Any, catalog: Catalog) -> CollectionSpec:
    reader = _Reader(path, lines, at, item, ("source", "at", "outcome", "error"), "[[collection]]")
    source = reader.text("source", required=True)
    names = [s.name for s in catalog.sources]
    if source not in names:
        reader.fail(f"[[collection]]: source {source!r} is not in the catalog's [[sources]] "
                    f"({', '.join(names) or 'it has none'})", "source")
    outcome = reader.get("outcome", _choice(("ok", "failed")), required=True)
    when = reader.get("at", lambda raw: instant_of(raw, catalog.timezone), required=True)
    return CollectionSpec(reader.line, source, when, outcome, reader.text("error"))


def _choice(allowed: tuple[str, ...]) -> Callable[[Any], str]:
    def pick(raw: Any) -> str:
        if raw not in allowed:
            raise ValueError(f"{ex.show(raw)!r} is not one of {', '.join(allowed)}")
        return raw

    return pick


def _case(path: Path, lines: dict, at: tuple, item: Any, catalog: Catalog) -> Case:
    reader = _Reader(path, lines, at, item, ("at", "name", "goal", "alert", "notification"), "[[test]]")
    when = reader.get("at", lambda raw: instant_of(raw, catalog.timezone), required=True)
    name = reader.text("name") or f"at {when.astimezone(catalog.timezone).isoformat()}"
    goals = tuple(_goal(path, lines, where, entry, catalog) for where, entry in reader.array("goal"))
    alerts = tuple(_alert(path, lines, where, entry, catalog) for where, entry in reader.array("alert"))
    notes = tuple(_notification(path, lines, where, entry) for where, entry in reader.array("notification"))
    if not (goals or alerts or notes):
        reader.fail("[[test]]: expects nothing (add [[test.goal]], [[test.alert]] or [[test.notification]])")
    return Case(reader.line, name, when, goals, alerts, notes, named="name" in reader.table)


def _goal(path: Path, lines: dict, at: tuple, item: Any, catalog: Catalog) -> GoalExpectation:
    reader = _Reader(path, lines, at, item, ("goal", *GOAL_FIELDS), "[[test.goal]]")
    goal = reader.text("goal", required=True)
    if goal not in {g.id for g in catalog.goals}:
        reader.fail(f"[[test.goal]]: goal {goal!r} is not in the catalog (see 'tracker goals')", "goal")
    checks = tuple(FieldCheck(key, reader.get(key, GOAL_FIELDS[key]), reader.line_at(key))
                   for key in reader.table if key != "goal")
    if not checks:
        reader.fail(f"[[test.goal]] {goal}: expects nothing (add status, probability, projected, ...)")
    return GoalExpectation(reader.line, goal, checks)


def _alert(path: Path, lines: dict, at: tuple, item: Any, catalog: Catalog) -> AlertExpectation:
    reader = _Reader(path, lines, at, item, ("rule", "labels", "state"), "[[test.alert]]")
    rule = reader.text("rule", required=True)
    names = [r.name for r in catalog.effective_rules()]
    if rule not in names:
        reader.fail(f"[[test.alert]]: rule {rule!r} is not a rule of the catalog ({', '.join(names)})", "rule")
    matchers = reader.get("labels", parse_all) or ()
    state = reader.get("state", _choice(ex.ALERT_STATES), required=True)
    return AlertExpectation(reader.line, rule, matchers, state, reader.line_at("state"))


def _notification(path: Path, lines: dict, at: tuple, item: Any) -> NotificationExpectation:
    reader = _Reader(path, lines, at, item, ("receiver", "group", "event", "format", "count"),
                     "[[test.notification]]")
    return NotificationExpectation(
        reader.line,
        reader.text("receiver", required=True),  # type: ignore[arg-type]
        reader.get("group", _labels),
        reader.get("event", _choice(EVENTS)),
        reader.text("format"),
        reader.get("count", _count),
        reader.line_at("format"),
        reader.line_at("count"),
    )


def _labels(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping) or not all(isinstance(v, str) for v in raw.values()):
        raise ValueError("the group's labels as a table of strings, such as { business = \"ev\" }")
    return {str(k): v for k, v in raw.items()}


def _count(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ValueError(f"{ex.show(raw)!r} is not a whole number of notifications (0 or more)")
    return raw

"""`check-config` checks what `run` checks (the same one line for the same fault), warns of
TRACKER_* variables that nothing reads, blames a bad TRACKER_HTTP_HOST on the host, and the
catalog's pace weights must sum to 100 (or to 1)."""

from __future__ import annotations

import copy
import errno
import socket
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import CATALOG


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TRACKER_EVALUATE__CRON": "61 * * * *"},
         ("setting TRACKER_EVALUATE__CRON: '61 * * * *' is not a crontab expression (Error validating expression "
         "'61': the last value (61) is higher than the maximum value (59))")),
        ({"TRACKER_EVALUATE__CRON": "every hour"}, "setting TRACKER_EVALUATE__CRON: 'every hour' is not a crontab"),
        ({"TRACKER_HTTP_HOST": "192.0.2.1"},  # TEST-NET-1: an address no machine of ours has
         "setting TRACKER_HTTP_HOST: '192.0.2.1' is not an address of this machine (Cannot assign requested address)"),
        ({"TRACKER_HTTP_HOST": "no-such-host.invalid"}, ("setting TRACKER_HTTP_HOST: 'no-such-host.invalid' is not an "
         "address of this machine (")),
        ({"TRACKER_DATABASE_URL": "mysql://db/kpi"},
         "setting TRACKER_DATABASE_URL: use sqlite:///PATH or postgresql+psycopg://..."),
    ],
    ids=["cron-minute-61", "cron-words", "host-not-here", "host-unresolvable", "database-kind"],
)
def test_check_config_refuses_what_run_refuses_with_the_same_line(cli, tmp_path, env, message) -> None:  # type: ignore[no-untyped-def]
    env = {"TRACKER_HTTP_PORT": "9464", **env}
    checked = cli("check-config", env=env)
    assert checked.code == 2 and checked.out == ""
    assert checked.err.startswith(f"tracker: error: {message}") and checked.err.count("\n") == 1
    ran = cli("run", env=env)
    assert ran.code == 2
    assert ran.err.splitlines()[-1] == checked.err.rstrip("\n")
    assert not (tmp_path / "tracker.db").exists()


def test_check_config_passes_the_shipped_catalog_and_default_settings(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("check-config")
    assert (done.code, done.err) == (0, "")
    assert done.out == f"{CATALOG}: OK (13 goals, 17 metrics, 6 rules, 0 receivers, 0 sources)\n"


def test_unknown_tracker_variables_are_warned_of_with_the_nearest_name(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    done = cli("check-config", env={"TRACKER_DATABSE_URL": "sqlite:////elsewhere.db", "TRACKER_EVALUATE_CRON": "5 * * * *",
                                    "TRACKER_ZZZ": "1", "TRACKER_evaluate__cron": "0 * * * *"})
    assert done.code == 0 and done.out.endswith(": OK (13 goals, 17 metrics, 6 rules, 0 receivers, 0 sources)\n")
    assert done.err.splitlines() == [
        "tracker: warning: TRACKER_DATABSE_URL is not a setting and is ignored (did you mean TRACKER_DATABASE_URL?)",
        "tracker: warning: TRACKER_EVALUATE_CRON is not a setting and is ignored (did you mean TRACKER_EVALUATE__CRON?)",
        "tracker: warning: TRACKER_ZZZ is not a setting and is ignored",
    ]
    assert not (tmp_path / "tracker.db").exists()


def test_the_daemon_logs_the_same_warnings(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    done = cli("run", "--once", env={"TRACKER_WEBHOK_URL": "http://127.0.0.1:9/hook"})
    assert done.code == 0, done.err
    warnings = [e["event"] for e in map(json.loads, done.err.splitlines()) if e["level"] == "warning"]
    assert "TRACKER_WEBHOK_URL is not a setting and is ignored (did you mean TRACKER_WEBHOOK_URL?)" in warnings


@pytest.mark.parametrize(
    ("environ", "catalog", "warned"),
    [
        ({"TRACKER_CONFIG": "x", "TRACKER_DELIVER__CONCURRENCY": "2", "TRACKER_EVALUATE": "{}"}, None, []),
        ({"TRACKER_TEST_POSTGRES_URL": "x", "TRACKER_TEST_REQUIRE_BROWSER": "1"}, None, []),  # the test suite's own
        ({"PATH": "/bin", "TRACKERS": "1", "MY_TRACKER_X": "1"}, None, []),  # not ours
        ({"TRACKER_HOOK_SECRET": "whsec_x"}, SimpleNamespace(receivers=[SimpleNamespace(secret_env="TRACKER_HOOK_SECRET")]), []),
        ({"TRACKER_API_TOKEN": "t"}, SimpleNamespace(sources=[SimpleNamespace(env_names=lambda: ["TRACKER_API_TOKEN"])]), []),
        ({"TRACKER_HOOK_SECRET": "whsec_x"}, None,
         ["TRACKER_HOOK_SECRET is not a setting and is ignored (did you mean TRACKER_WEBHOOK_SECRET?)"]),
        ({"TRACKER_HTTP__PORT": "1"}, None,
         ["TRACKER_HTTP__PORT is not a setting and is ignored (did you mean TRACKER_HTTP_PORT?)"]),
        ({"tracker_log_formt": "json"}, None,
         ["tracker_log_formt is not a setting and is ignored (did you mean TRACKER_LOG_FORMAT?)"]),
    ],
    ids=["settings", "test-suite", "other-prefixes", "receiver-secret", "source-header", "unreferenced", "nested-typo",
         "lower-case"],
)
def test_unknown_variables(environ, catalog, warned) -> None:  # type: ignore[no-untyped-def]
    from tracker.catalog.environment import unknown_variables

    assert unknown_variables(environ, catalog) == warned


@pytest.mark.parametrize(
    ("problem", "port"),
    [
        (OSError(errno.EADDRINUSE, "Address already in use"), True),
        (OSError(errno.EACCES, "Permission denied"), True),  # a port below 1024
        (OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address"), False),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), False),
        (ValueError("Invalid host/port specified."), False),  # waitress, for a host it cannot resolve
    ],
    ids=["in-use", "privileged", "not-here", "unresolvable", "waitress"],
)
def test_a_failed_listen_is_blamed_on_the_port_only_when_the_port_is_at_fault(problem, port) -> None:  # type: ignore[no-untyped-def]
    from tracker.cli.daemon import _port_fault

    assert _port_fault(problem) is port


# ----------------------------------------------------------------- pace weights
def _with_pace(weights: list[float]) -> dict:
    data = tomllib.loads(CATALOG.read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    next(g for g in data["goals"] if g["id"] == "ev-deliveries-2026")["pace"] = weights
    return data


@pytest.mark.parametrize(
    ("weights", "refused"),
    [
        ([6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 10, 10], None),
        ([0.06, 0.06, 0.07, 0.07, 0.08, 0.08, 0.09, 0.09, 0.1, 0.1, 0.1, 0.1], None),
        ([20, 25, 25, 30], None),  # quarters
        ([100 / 12] * 12, None),  # float shares that sum to 100 within rounding
        ([10] * 12, "pace weights sum to 120; they are shares of the target and must sum to 100 (or to 1)"),
        ([35, 35, 35, 35], "pace weights sum to 140; they are shares of the target and must sum to 100 (or to 1)"),
        ([0.2, 0.2, 0.2, 0.2], "pace weights sum to 0.8; they are shares of the target and must sum to 100 (or to 1)"),
    ],
    ids=["percent", "fractions", "quarters", "float-percent", "sum-120", "sum-140", "sum-0.8"],
)
def test_pace_weights_must_sum_to_100_or_1(weights, refused) -> None:  # type: ignore[no-untyped-def]
    from tracker.catalog.model import parse_catalog
    from tracker.core.errors import ConfigError

    if refused is None:
        assert parse_catalog(_with_pace(weights)).goal("ev-deliveries-2026").pace == tuple(weights)
        return
    with pytest.raises(ConfigError) as raised:
        parse_catalog(_with_pace(weights), Path("goals.toml"))
    assert str(raised.value) == f"catalog goals.toml: goal ev-deliveries-2026: {refused}"


def test_check_config_refuses_pace_weights_summing_to_140_and_writes_nothing(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    catalog = tmp_path / "goals.toml"
    text = CATALOG.read_text(encoding="utf-8")
    shipped = "pace = [6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 10, 10]"
    assert shipped in text
    catalog.write_text(text.replace(shipped, "pace = [6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 30, 40]"), encoding="utf-8")
    for command in ("check-config", "record"):
        args = (command,) if command == "check-config" else (command, "ev_deliveries", "2026-01", "30000")
        done = cli(*args, env={"TRACKER_CONFIG": str(catalog)})
        assert done.code == 2
        assert done.err == (f"tracker: error: catalog {catalog}: goal ev-deliveries-2026: pace weights sum to 150; "
                            "they are shares of the target and must sum to 100 (or to 1)\n")
    assert not (tmp_path / "tracker.db").exists()

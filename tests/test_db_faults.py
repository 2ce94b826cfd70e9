"""Database faults end in one line on stderr, exit 2 (the setting names something that cannot
work) or 1 (the server is not there), and leave the database as it was: real files (a
directory, garbage bytes, chmod 0444, a read-only folder), a newer schema, an in-memory URL,
a closed PostgreSQL port and a database the server does not have.

The tests run as root on CI, and root ignores file modes. The permission tests therefore run
the command with the capabilities that bypass them taken away (setpriv's bounding set), so
the kernel checks the modes as it would for anyone else; as another user they run as is.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CATALOG, ROOT, table_dump
from tracker.store.db import head_revision

HEAD = head_revision()  # the newest migration this checkout ships
_NO_BYPASS = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]


def tracker(*args: str, url: str, cwd: Path, unprivileged: bool = False, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    environment.update(TRACKER_DATABASE_URL=url, TRACKER_CONFIG=str(CATALOG), PYTHONPATH=str(ROOT),
                       TRACKER_LOG_FORMAT="json", TRACKER_HTTP_PORT="0", PYTHONDONTWRITEBYTECODE="1")
    environment.update(env)
    command = [sys.executable, "-m", "tracker", *args]
    if unprivileged and os.geteuid() == 0:
        command = _NO_BYPASS + command
    return subprocess.run(command, capture_output=True, text=True, env=environment, cwd=cwd, timeout=120, check=False)


def one_line(done: subprocess.CompletedProcess[str], code: int, message: str) -> None:
    assert done.returncode == code, done.stderr
    assert done.stderr == f"tracker: error: {message}\n"


def daemon_refused(done: subprocess.CompletedProcess[str], code: int, message: str) -> None:
    """The daemon's refusal: the one line last, after a log event that carries the same line."""
    assert done.returncode == code, done.stderr
    *logged, last = done.stderr.splitlines()
    assert last == f"tracker: error: {message}"
    event = json.loads(logged[-1])
    assert (event["event"], event["level"]) == ("daemon cannot run", "error")
    assert _credentials(event["reason"]) == _credentials(message)  # the log masks them its own way
    assert "daemon crashed" not in done.stderr and "Traceback" not in done.stderr


def _credentials(text: str) -> str:
    return re.sub(r"://[^@\s/]*@", "://USER@", text)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of a folder and its bytes."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    """A folder holding a migrated database with one actual, closed cleanly (no -wal left)."""
    folder = tmp_path / "data"
    folder.mkdir()
    database = folder / "tracker.db"
    done = tracker("record", "ev_deliveries", "2026-01", "30000", url=f"sqlite:///{database}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["tracker.db"]
    return database


# -------------------------------------------------------------- what the file is
def test_a_directory_as_the_database_is_named_as_such(tmp_path: Path) -> None:
    folder = tmp_path / "var"
    folder.mkdir()
    message = (f"setting TRACKER_DATABASE_URL: {folder} is a directory, not a SQLite file; name a file in it, "
               f"e.g. sqlite:///{folder / 'tracker.db'}")
    for args in (("status",), ("record", "ev_deliveries", "2026-01", "1"), ("check-config",)):
        one_line(tracker(*args, url=f"sqlite:///{folder}", cwd=tmp_path), 2, message)
    assert list(folder.iterdir()) == []


def test_a_file_of_garbage_is_not_a_database_and_stays_as_it_was(tmp_path: Path) -> None:
    garbage = tmp_path / "tracker.db"
    garbage.write_bytes(bytes(range(256)) * 40)
    message = (f"database {garbage}: the file is not a SQLite database; point TRACKER_DATABASE_URL at a tracker "
               "database or at a new file")
    for args in (("status",), ("record", "ev_deliveries", "2026-01", "1"), ("db", "upgrade")):
        one_line(tracker(*args, url=f"sqlite:///{garbage}", cwd=tmp_path), 2, message)
    assert snapshot(tmp_path) == {"tracker.db": bytes(range(256)) * 40}


def test_a_schema_from_a_newer_tracker_is_refused_naming_both_versions(recorded: Path, tmp_path: Path) -> None:
    with sqlite3.connect(recorded) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    connection.close()
    before = snapshot(recorded.parent)
    url = f"sqlite:///{recorded}"
    message = f"database {recorded}: schema 0099 is newer than this tracker knows ({HEAD}); upgrade kpi-tracker"
    for args in (("status",), ("record", "ev_deliveries", "2026-02", "31000"), ("db", "upgrade"), ("evaluate",)):
        one_line(tracker(*args, url=url, cwd=tmp_path), 2, message)
    assert snapshot(recorded.parent) == before


def test_the_daemon_logs_a_newer_schema_as_the_same_line_and_exits_2(recorded: Path, tmp_path: Path) -> None:
    with sqlite3.connect(recorded) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    connection.close()
    rows = table_dump(f"sqlite:///{recorded}")
    message = f"database {recorded}: schema 0099 is newer than this tracker knows ({HEAD}); upgrade kpi-tracker"
    for args in (("run", "--once"), ("run",)):
        daemon_refused(tracker(*args, url=f"sqlite:///{recorded}", cwd=tmp_path), 2, message)
    assert table_dump(f"sqlite:///{recorded}") == rows


# -------------------------------------------------------------- permissions
def test_a_read_only_file_refuses_writes_in_one_line_and_still_reads(recorded: Path, tmp_path: Path) -> None:
    recorded.chmod(0o444)
    before = recorded.read_bytes()
    url = f"sqlite:///{recorded}"
    message = (f"database {recorded}: the file is read-only for this user; make it writable "
               f"(chmod u+w {recorded}) or point TRACKER_DATABASE_URL at another file")
    one_line(tracker("record", "ev_deliveries", "2026-02", "31000", url=url, cwd=tmp_path, unprivileged=True), 2, message)
    daemon_refused(tracker("run", "--once", url=url, cwd=tmp_path, unprivileged=True), 2, message)
    shown = tracker("actuals", "ev_deliveries", "--json", url=url, cwd=tmp_path, unprivileged=True)
    assert shown.returncode == 0, shown.stderr
    assert [row["value"] for row in json.loads(shown.stdout)] == [30000]
    assert recorded.read_bytes() == before


def test_a_read_only_folder_still_serves_status_and_refuses_writes(recorded: Path, tmp_path: Path) -> None:
    folder = recorded.parent
    before = snapshot(folder)
    folder.chmod(0o555)
    try:
        url = f"sqlite:///{recorded}"
        status = tracker("status", "--at", "2026-02-05", "--json", url=url, cwd=tmp_path, unprivileged=True)
        assert status.returncode == 0, status.stderr
        ev = next(item for item in json.loads(status.stdout) if item["goal"] == "ev-deliveries-2026")
        assert ev["actual"] == 30000
        message = (f"database {recorded}: its folder {folder} is read-only for this user, and SQLite writes "
                   "tracker.db-wal and tracker.db-shm beside the file; make the folder writable")
        one_line(tracker("record", "ev_deliveries", "2026-02", "31000", url=url, cwd=tmp_path, unprivileged=True), 2, message)
        daemon_refused(tracker("run", url=url, cwd=tmp_path, unprivileged=True), 2,
                       f"database {recorded}: cannot create the daemon's lock file {recorded}.lock (permission "
                       f"denied); the daemon needs to write in {folder}")
        fresh = folder / "new.db"
        one_line(tracker("record", "ev_deliveries", "2026-02", "31000", url=f"sqlite:///{fresh}", cwd=tmp_path,
                         unprivileged=True), 2, f"database {fresh}: cannot create it, this user may not write in {folder}")
        below = folder / "sub" / "new.db"
        one_line(tracker("status", url=f"sqlite:///{below}", cwd=tmp_path, unprivileged=True), 2,
                 f"database {below}: cannot create it, this user may not write in {folder}")
        assert snapshot(folder) == before
    finally:
        folder.chmod(0o755)


def test_the_permission_tests_really_drop_root_s_bypass(tmp_path: Path) -> None:
    """Guards the two tests above: without it they would pass vacuously under root."""
    locked = tmp_path / "locked"
    locked.write_text("x")
    locked.chmod(0o444)
    command = [sys.executable, "-c", f"open({str(locked)!r}, 'a')"]
    if os.geteuid() == 0:
        command = _NO_BYPASS + command
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and "PermissionError" in done.stderr


# -------------------------------------------------------------- in memory
@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"], ids=["empty", "named"])
def test_an_in_memory_database_is_refused_for_writes(url: str, tmp_path: Path) -> None:
    message = ("setting TRACKER_DATABASE_URL: sqlite:// is an in-memory database, gone when the command ends, "
               "so nothing is written; name a file: sqlite:///PATH")
    (tmp_path / "one.csv").write_text("metric,period,value\nev_deliveries,2026-01,30000\n", encoding="utf-8")
    for args in (("record", "ev_deliveries", "2026-01", "30000"), ("import", "one.csv"), ("run", "--once"),
                 ("check-config",)):
        done = tracker(*args, url=url, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert done.stderr.splitlines()[-1] == f"tracker: error: {message}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.csv"]


# -------------------------------------------------------------- PostgreSQL
def test_postgresql_unreachable_is_an_outside_failure_exit_1(tmp_path: Path) -> None:
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))  # bound, not listening: nothing else takes the port meanwhile
        port = held.getsockname()[1]
        url = f"postgresql+psycopg://tracker:pw@127.0.0.1:{port}/tracker"
        shown = f"postgresql+psycopg://tracker:***@127.0.0.1:{port}/tracker"
        message = f"database {shown}: cannot reach PostgreSQL (Connection refused); is the server up?"
        for args in (("status",), ("record", "ev_deliveries", "2026-01", "1")):
            one_line(tracker(*args, url=url, cwd=tmp_path), 1, message)
        daemon_refused(tracker("run", url=url, cwd=tmp_path), 1, message)


@pytest.mark.postgres
def test_a_database_the_server_does_not_have_is_named_and_not_created(postgres_server_url: str, tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(postgres_server_url).set(database="tracker_no_such_db")
    shown = url.render_as_string(hide_password=True)
    message = (f"database {shown}: PostgreSQL has no database 'tracker_no_such_db'; create it "
               "(createdb tracker_no_such_db) or fix TRACKER_DATABASE_URL")
    for args in (("status",), ("record", "ev_deliveries", "2026-01", "1"), ("db", "upgrade")):
        one_line(tracker(*args, url=url.render_as_string(hide_password=False), cwd=tmp_path), 2, message)
    admin = create_engine(postgres_server_url)
    with admin.connect() as connection:
        found = connection.execute(text("SELECT count(*) FROM pg_database WHERE datname = 'tracker_no_such_db'"))
        assert found.scalar() == 0
    admin.dispose()


# -------------------------------------------------------------- the catalog file
def test_a_catalog_that_is_not_utf8_names_the_byte_and_line(tmp_path: Path) -> None:
    catalog = tmp_path / "goals.toml"
    catalog.write_bytes(CATALOG.read_bytes().replace(b"# Pace weights", b"# Pace w\xe9ights", 1))
    line = CATALOG.read_bytes().split(b"# Pace weights")[0].count(b"\n") + 1
    database = tmp_path / "tracker.db"
    message = f"catalog {catalog}: not UTF-8 text (byte 0xe9 on line {line}); save it as UTF-8"
    for args in (("goals",), ("check-config",), ("record", "ev_deliveries", "2026-01", "1"), ("run",)):
        one_line(tracker(*args, url=f"sqlite:///{database}", cwd=tmp_path, TRACKER_CONFIG=str(catalog)), 2, message)
    assert not database.exists()


# -------------------------------------------------------------- the mapping itself
def _sqlite_error(name: str) -> sqlite3.Error:
    error = sqlite3.OperationalError("driver text")
    error.sqlite_errorname = name  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize(
    ("problem", "code", "starts"),
    [
        (_sqlite_error("SQLITE_NOTADB"), 2, "database {db}: the file is not a SQLite database"),
        (_sqlite_error("SQLITE_CORRUPT"), 1, "database {db}: the file is damaged (SQLITE_CORRUPT)"),
        (_sqlite_error("SQLITE_READONLY_DIRECTORY"), 2, "database {db}: its folder {dir} is read-only"),
        (_sqlite_error("SQLITE_CANTOPEN"), 2, "database {db}: the folder {dir} does not exist"),
        (PermissionError(13, "Permission denied", "{dir}"), 2, "database {db}: cannot create it, this user may not"),
        (_sqlite_error("SQLITE_FULL"), None, None),  # a full disk: the driver's words, exit 1
        (_sqlite_error("SQLITE_BUSY"), None, None),
    ],
    ids=["not-a-db", "corrupt", "read-only-folder", "no-folder", "cannot-create", "full", "busy"],
)
def test_sqlite_faults_map_to_user_errors(problem, code, starts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.engine import make_url

    from tracker.store.faults import explain

    db = tmp_path / "missing" / "tracker.db"
    if isinstance(problem, OSError):
        problem.filename = str(db.parent)
    explained = explain(problem, make_url(f"sqlite:///{db}"))
    if code is None:
        assert explained is None
        return
    assert explained.exit_code == code
    assert str(explained).startswith(starts.format(db=db, dir=db.parent))


@pytest.mark.parametrize(
    ("text", "code", "says"),
    [
        ('connection failed: connection to server at "10.0.0.9", port 5432 failed: Connection refused', 1,
         "cannot reach PostgreSQL (Connection refused); is the server up?"),
        ('connection failed: connection to server at "10.0.0.9", port 5432 failed: timeout expired', 1,
         "cannot reach PostgreSQL (timeout expired)"),
        ("failed to resolve host 'db.invalid': [Errno -2] Name or service not known", 1, "cannot reach PostgreSQL"),
        ("consuming input failed: server closed the connection unexpectedly", 1, "cannot reach PostgreSQL"),
        ('connection failed: connection to server at "10.0.0.9", port 5432 failed: FATAL:  database "kpi" does not exist',
         2, "PostgreSQL has no database 'kpi'; create it (createdb kpi) or fix TRACKER_DATABASE_URL"),
        (('connection failed: connection to server at "10.0.0.9", port 5432 failed: FATAL:  password authentication '
         'failed for user "kpi"'), 2, "the server refused the login (password authentication failed for user"),
        ('duplicate key value violates unique constraint "actuals_pkey"', None, None),
    ],
    ids=["refused", "timeout", "no-host", "lost", "no-database", "login", "not-a-fault"],
)
def test_postgresql_faults_map_to_user_errors(text: str, code: int | None, says: str | None) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    from tracker.store.faults import explain

    url = make_url("postgresql+psycopg://kpi:secret@10.0.0.9/kpi")
    explained = explain(psycopg.OperationalError(text), url)
    if code is None:
        assert explained is None
        return
    assert explained.exit_code == code
    assert str(explained).startswith(f"database postgresql+psycopg://kpi:***@10.0.0.9/kpi: {says}")
    assert "secret" not in str(explained)

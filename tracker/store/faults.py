"""Database faults as one line a user can act on: the one place where SQLite, PostgreSQL and
file-system failures become `TrackerError`s.

`explain(problem, url)` maps a driver error or an `OSError` met while opening the database
to a `ConfigError` (exit 2: the setting names something that cannot work, such as a
directory, a file that is not a database, a read-only file or folder, a database PostgreSQL
does not have) or to `Unavailable` (exit 1: the server cannot be reached now; retrying later
may work). `install(engine)` makes every engine raise those instead of SQLAlchemy's errors,
so commands, migrations and the daemon's jobs all report the same line. Errors it does not
know (a full disk, a lock held too long, a missing table) pass through unchanged.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import event
from sqlalchemy.engine import URL, Engine

from tracker.core.errors import ConfigError, TrackerError, Unavailable

_SETTING = "TRACKER_DATABASE_URL"

# libpq's words for a server that is not there (yet, or any more); psycopg gives no SQLSTATE
# for failures at connection time, only the server's or libpq's text.
_UNREACHABLE = re.compile(
    r"connection refused|could not connect|timeout expired|failed to resolve host|"
    r"could not translate host name|no route to host|network is unreachable|"
    r"server closed the connection|the database system is (?:starting up|shutting down|in recovery mode)|"
    r"terminating connection due to administrator command|connection is (?:lost|closed)|"
    r"consuming input failed|sending query failed",
    re.IGNORECASE,
)
_NO_DATABASE = re.compile(r'database "([^"]+)" does not exist')
_LOGIN = re.compile(r'role "[^"]+" does not exist|password authentication failed[^\n]*|no password supplied', re.IGNORECASE)


class SchemaTooNew(ConfigError):
    """The database was migrated by a newer kpi-tracker than this one."""


def schema_too_new(url: URL, found: str, head: str) -> SchemaTooNew:
    return SchemaTooNew(
        f"database {where(url)}: schema {found} is newer than this tracker knows ({head}); "
        "upgrade kpi-tracker"
    )


def where(url: URL) -> str:
    """The database as the user named it: the SQLite file, or the URL without its password."""
    if url.get_backend_name() == "sqlite":
        return sqlite_path(url) or ":memory:"
    return url.render_as_string(hide_password=True)


def sqlite_path(url: URL) -> str | None:
    """The file of a SQLite URL (also when written as a `file:` URI); None in memory."""
    database = url.database or ""
    if database.startswith("file:"):
        database = unquote(database.removeprefix("file:").split("?", 1)[0])
    return None if database in ("", ":memory:") else database


def explain(problem: BaseException, url: URL) -> TrackerError | None:
    """The user's error for a driver error or OSError met on `url`'s database, or None."""
    if isinstance(problem, TrackerError):
        return problem
    original = getattr(problem, "orig", None) or problem
    if url.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        return _sqlite(original, path) if path else None
    if url.get_backend_name() == "postgresql":
        return _postgres(original, where(url))
    return None


def _sqlite(problem: BaseException, path: str) -> TrackerError | None:
    file = Path(path)
    if isinstance(problem, OSError):
        return _cannot_create(file, problem)
    name = getattr(problem, "sqlite_errorname", "") or ""
    if name.startswith("SQLITE_NOTADB"):
        return ConfigError(
            f"database {path}: the file is not a SQLite database; point {_SETTING} at a tracker "
            "database or at a new file"
        )
    if name.startswith("SQLITE_CORRUPT"):
        return Unavailable(f"database {path}: the file is damaged ({name}); restore it from a backup")
    if name.startswith("SQLITE_READONLY"):
        return _read_only(file, directory_named=name == "SQLITE_READONLY_DIRECTORY")
    if name.startswith("SQLITE_CANTOPEN"):
        return _cannot_open(file)
    return None


def _read_only(file: Path, *, directory_named: bool) -> ConfigError:
    folder = file.parent
    if not directory_named and not os.access(file, os.W_OK):
        return ConfigError(
            f"database {file}: the file is read-only for this user; make it writable "
            f"(chmod u+w {file}) or point {_SETTING} at another file"
        )
    if directory_named or not os.access(folder, os.W_OK):
        return ConfigError(
            f"database {file}: its folder {folder} is read-only for this user, and SQLite writes "
            f"{file.name}-wal and {file.name}-shm beside the file; make the folder writable"
        )
    return ConfigError(f"database {file}: SQLite opened it read-only; check its permissions and its folder's")


def _cannot_open(file: Path) -> ConfigError:
    if file.is_dir():
        return directory(file)
    if not file.parent.is_dir():
        return ConfigError(f"database {file}: the folder {file.parent} does not exist")
    if file.exists() and not os.access(file, os.R_OK):
        return ConfigError(f"database {file}: this user may not read the file; check its permissions")
    if not file.exists() and not os.access(file.parent, os.W_OK):
        return ConfigError(f"database {file}: cannot create it, its folder {file.parent} is read-only for this user")
    return ConfigError(f"database {file}: SQLite cannot open the file; check its permissions and its folder's")


def _cannot_create(file: Path, problem: OSError) -> ConfigError:
    if file.is_dir():
        return directory(file)
    # the folder it could not write in: the file's, or the parent of a folder it had to make
    folder = Path(problem.filename).parent if problem.filename else file.parent
    if isinstance(problem, PermissionError):
        return ConfigError(f"database {file}: cannot create it, this user may not write in {folder}")
    reason = (problem.strerror or type(problem).__name__).lower()
    return ConfigError(f"database {file}: cannot create it ({reason})")


def directory(file: Path) -> ConfigError:
    return ConfigError(
        f"setting {_SETTING}: {file} is a directory, not a SQLite file; name a file in it, "
        f"e.g. sqlite:///{file / 'tracker.db'}"
    )


def _postgres(problem: BaseException, shown: str) -> TrackerError | None:
    first = (str(problem).strip().splitlines() or [""])[0]
    text = re.sub(r"^connection failed: connection to server at [^:]+ failed: (?:FATAL:\s+)?", "", first)
    missing = _NO_DATABASE.search(first)
    if missing:
        name = missing.group(1)
        return ConfigError(
            f"database {shown}: PostgreSQL has no database {name!r}; create it (createdb {name}) "
            f"or fix {_SETTING}"
        )
    login = _LOGIN.search(first)
    if login:
        return ConfigError(f"database {shown}: the server refused the login ({login.group(0)}); check {_SETTING}")
    if _UNREACHABLE.search(str(problem)):
        return Unavailable(f"database {shown}: cannot reach PostgreSQL ({text.strip()[:160]}); is the server up?")
    return None


def install(engine: Engine) -> None:
    """Makes `engine` raise the explained error in place of SQLAlchemy's, wherever it is used."""

    @event.listens_for(engine, "handle_error")
    def _explain(context: Any) -> None:
        if context.is_pre_ping:  # the pool reconnects on its own; nothing to tell anyone yet
            return
        explained = explain(context.original_exception, engine.url)
        if explained is not None:
            raise explained

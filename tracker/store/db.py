"""Engines, sessions and migrations.

SQLite is set up for one daemon and several CLI writers at once: WAL, NORMAL sync, foreign
keys, a busy timeout, and `BEGIN IMMEDIATE` for write transactions so that two writers queue
instead of failing with "database is locked" half way through. A new database is migrated on
first use; checking that an existing one is current reads the migration files' revision ids
as text, because importing alembic would cost a CLI call ~0.4 s. Failures become one-line
errors in tracker.store.faults; a database from a newer tracker is refused before anything
touches it.

A SQLite file in a folder this user may not write (and with no `-wal` beside it, so no writer
has it open) is opened immutable and read-only: WAL mode would otherwise need to create the
`-shm` file there even to read, and `tracker status` must work on a database it may only read.
"""

from __future__ import annotations

import os
import re
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError

from tracker.core.errors import ConfigError, TrackerError
from tracker.core.urls import mask_password
from tracker.store import faults

if TYPE_CHECKING:
    from sqlmodel import Session

_IMMEDIATE = "tracker_immediate"
_REVISION = re.compile(r'^revision\s*(?::\s*str\s*)?=\s*["\']([^"\']+)["\']', re.MULTILINE)
_DOWN = re.compile(r'^down_revision\s*(?::[^=]*)?=\s*(.+)$', re.MULTILINE)
_MIGRATION_LOCK = 7_263_001  # PostgreSQL advisory lock key: one migrator at a time


def migrations_path() -> Path:
    """The Alembic script directory: packaged in a wheel, or alembic/ beside the package."""
    packaged = Path(__file__).parent / "_migrations"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "alembic"


_EPHEMERAL = "tracker_ephemeral"  # an execution option: in memory on purpose


def make_engine(url: str, *, ephemeral: bool = False) -> Engine:
    """An engine for `url`; SQLite files are created 0600 and tuned for concurrent writers.
    `ephemeral`: an in-memory database meant to vanish (`tracker test`), so writes are allowed."""
    try:
        parsed = make_url(url)
    except Exception:
        shown = mask_password(url)
        raise ConfigError(f"setting TRACKER_DATABASE_URL: {shown!r} is not a database URL") from None
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed)
    elif parsed.get_backend_name() == "postgresql":
        engine = create_engine(url, pool_pre_ping=True)
    else:
        raise ConfigError("setting TRACKER_DATABASE_URL: use sqlite:///PATH or postgresql+psycopg://...")
    faults.install(engine)
    if ephemeral:
        engine = engine.execution_options(**{_EPHEMERAL: True})
    return _closing(engine)


def _closing(engine: Engine) -> Engine:
    """Closes the engine's pooled connections when it is dropped, or at exit if it never is:
    an unclosed SQLite connection is a ResourceWarning (shown by default on Python 3.13).
    The finalizer holds the pool, not the engine, so the engine can still be collected."""
    weakref.finalize(engine, engine.pool.dispose)
    return engine


def check_url(url: str) -> None:
    """What `make_engine` refuses, without creating or opening anything (for check-config)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ConfigError(f"setting TRACKER_DATABASE_URL: {mask_password(url)!r} is not a database URL") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError("setting TRACKER_DATABASE_URL: use sqlite:///PATH or postgresql+psycopg://...")
    path = faults.sqlite_path(parsed) if parsed.get_backend_name() == "sqlite" else None
    if path and Path(path).is_dir():
        raise faults.directory(Path(path))


def is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and faults.sqlite_path(url) is None


def refuse_memory(url: URL) -> None:
    """An in-memory SQLite database ends with the process: a write there would be lost."""
    if is_memory(url):
        raise ConfigError(
            "setting TRACKER_DATABASE_URL: sqlite:// is an in-memory database, gone when the command "
            "ends, so nothing is written; name a file: sqlite:///PATH"
        )


def _sqlite_engine(parsed: URL) -> Engine:
    path = faults.sqlite_path(parsed)
    if path:
        try:
            _create_private_file(Path(path))
        except OSError as problem:
            raise faults.explain(problem, parsed) or problem from None
        if _read_only_folder(Path(path)):
            parsed = parsed.set(database=f"file:{quote(path)}", query={"mode": "ro", "immutable": "1", "uri": "true"})
    engine = create_engine(parsed, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Leave transaction control to the "begin" hook below (pysqlite's own is wrong for this).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        immediate = connection.get_execution_options().get(_IMMEDIATE)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _read_only_folder(path: Path) -> bool:
    wal = path.with_name(path.name + "-wal")
    return path.is_file() and not wal.exists() and not os.access(path.parent, os.W_OK)


def _create_private_file(path: Path) -> None:
    if path.exists():
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(path))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass  # another process created it first; it chose the mode


@contextmanager
def paced(engine: Engine) -> Iterator[None]:
    """Around one of several back-to-back write transactions: on SQLite, waits as long
    after it as it held the lock. Another process's writer (`tracker record`) waits in
    SQLite's busy handler, which retries every few to 100 ms: with no gap between the
    transactions it rarely finds the lock free and waited for all of them (1.3 s for
    one cycle's chunks at 100,000 goals). PostgreSQL's writers do not share one lock."""
    began = time.monotonic()
    yield
    if engine.dialect.name == "sqlite":
        time.sleep(time.monotonic() - began)


def writer(engine: Engine) -> Engine:
    """The same engine, but its transactions take SQLite's write lock when they begin."""
    return engine.execution_options(**{_IMMEDIATE: True})


@contextmanager
def session(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session that commits on success and rolls back on error. A write session on an
    in-memory database is refused: what it wrote would be lost when the process ends."""
    from sqlmodel import Session  # start-up speed

    if write and not engine.get_execution_options().get(_EPHEMERAL):
        refuse_memory(engine.url)

    with Session(writer(engine) if write else engine, expire_on_commit=False) as db:
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise


def head_revision(path: Path | None = None) -> str:
    """The newest migration's revision id, read from the files without importing alembic."""
    revisions, parents = _revisions(path)
    heads = revisions - parents
    if len(heads) != 1:
        raise TrackerError(f"migrations: expected one head revision, found {sorted(heads)}")
    return heads.pop()


def _revisions(path: Path | None = None) -> tuple[set[str], set[str]]:
    """Every migration's revision id, and those that are some migration's parent."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for file in (path or migrations_path() / "versions").glob("*.py"):
        body = file.read_text(encoding="utf-8")
        found = _REVISION.search(body)
        if found:
            revisions.add(found.group(1))
            down = _DOWN.search(body)
            parents.update(re.findall(r'["\']([^"\']+)["\']', down.group(1)) if down else [])
    return revisions, parents


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError):
        return None


def ensure_schema(engine: Engine) -> None:
    """Migrates the database to the head revision unless it is there already."""
    current = current_revision(engine)
    if current != head_revision():
        refuse_unknown(engine, current)
        upgrade(engine)


def refuse_unknown(engine: Engine, current: str | None) -> None:
    """A revision no migration file names was made by a newer kpi-tracker: refuse to touch it."""
    if current is not None and current not in _revisions()[0]:
        raise faults.schema_too_new(engine.url, current, head_revision())


def upgrade(engine: Engine) -> str:
    """Applies the Alembic migrations; on PostgreSQL under an advisory lock, so replicas
    starting together migrate once."""
    from alembic.config import Config  # start-up speed

    from alembic import command  # start-up speed

    refuse_unknown(engine, current_revision(engine))
    config = Config()
    config.set_main_option("script_location", str(migrations_path()))
    with writer(engine).connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration rebuilds tables; with foreign keys on, dropping the old table
            # would fire ON DELETE CASCADE. The pragma is ignored inside a transaction, so it
            # goes to the raw connection before one begins.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                if not sqlite:
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
    return current_revision(engine) or "base"


def db_reason(problem: BaseException) -> str:
    """A database error in a few words, without its SQL or parameters (they can hold data):
    the driver's first line, e.g. `OperationalError: database or disk is full`; an
    explained fault (tracker.store.faults) as it is told."""
    if isinstance(problem, TrackerError):
        return str(problem)
    original = getattr(problem, "orig", None) or problem
    first = (str(original).strip().splitlines() or [""])[0][:200]
    return f"{type(original).__name__}: {first}" if first else type(original).__name__


def describe_url(engine: Engine) -> str:
    """The database location with any password masked."""
    return engine.url.render_as_string(hide_password=True)

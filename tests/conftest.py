"""Shared fixtures: a catalog, temporary SQLite databases, a private PostgreSQL database per
test session, and a way to run the real command line in a subprocess.

PostgreSQL tests run whenever TRACKER_TEST_POSTGRES_URL is set (`.ci/run` sets it) and then
fail, never skip, if the server cannot be reached.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "config" / "goals.toml"
NOW = datetime(2026, 7, 5, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def catalog():
    from tracker.catalog.model import load_catalog

    return load_catalog(CATALOG)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tracker.db'}"


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A fresh database on the test server for this session, dropped at the end."""
    base = os.environ.get("TRACKER_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("TRACKER_TEST_POSTGRES_URL is not set (.ci/run sets it)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"tracker_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """The session's PostgreSQL database, emptied of tables after each test."""
    yield postgres_server_url
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs a test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(database_url: str):
    from tracker.store.db import ensure_schema, make_engine

    engine = make_engine(database_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(sqlite_url: str, tmp_path: Path):
    """Runs `python -m tracker ARGS` in a subprocess against a temporary SQLite database."""

    def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith("TRACKER_") or k == "TRACKER_TEST_POSTGRES_URL"
        }
        environment.update(
            {
                "TRACKER_DATABASE_URL": sqlite_url,
                "TRACKER_CONFIG": str(CATALOG),
                "PYTHONPATH": str(ROOT),
                "TRACKER_LOG_FORMAT": "json",
                "XDG_CACHE_HOME": str(tmp_path / "cache"),  # the validated catalogs (tracker.catalog.cache)
            }
        )
        environment.update(env or {})
        done = subprocess.run(
            [sys.executable, "-m", "tracker", *args],
            capture_output=True,
            text=True,
            env=environment,
            cwd=tmp_path,
            input=stdin,
            timeout=60,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run


def table_dump(url: str, table: str = "actuals") -> list[tuple]:
    """Every row of a table, to compare before and after a refused command."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    try:
        if not inspect(engine).has_table(table):
            return []
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]
    finally:
        engine.dispose()

"""Moving a test database to a given migration revision, up or down, as `tracker db upgrade`
would (the project's migrations, on the engine's own connection)."""

from __future__ import annotations

from tracker.store import db


def migrate(engine, revision: str, *, down: bool = False) -> None:  # type: ignore[no-untyped-def]
    from alembic import command
    from alembic.config import Config

    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(db.migrations_path()))
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

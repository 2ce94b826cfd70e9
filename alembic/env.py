"""Alembic environment: the application passes its open connection in `config.attributes`;
a developer running `alembic` by hand gets an engine from TRACKER_DATABASE_URL."""

from alembic import context

import tracker.store.leadership  # noqa: F401  registers the leases table
import tracker.store.alert_tables  # noqa: F401  registers the alerting tables
import tracker.collectors.table  # noqa: F401  registers the collections table
import tracker.store.models  # noqa: F401  registers the actuals table
from tracker.store.models import MIGRATION_ONLY_INDEXES, metadata

config = context.config


def run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=lambda name, kind, _parents: not (kind == "index" and name in MIGRATION_ONLY_INDEXES),
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    from tracker.store.db import make_engine, writer
    from tracker.catalog.settings import load_settings

    engine = make_engine(load_settings().database_url)
    with writer(engine).begin() as own:
        run(own)


if context.is_offline_mode():
    raise SystemExit("kpi-tracker migrations run online only: use `tracker db upgrade`")
main()

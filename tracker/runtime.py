"""What a command or the daemon works with: settings, and the catalog and database built
from them on first use. One is made per process in the entry point and passed down."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tracker.catalog import Catalog
    from tracker.settings import Settings


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Runtime:
    settings: Settings
    clock: Callable[[], datetime] = field(default=utc_now)

    @classmethod
    def from_env(cls) -> Runtime:
        from tracker.settings import load_settings

        return cls(load_settings())

    @cached_property
    def catalog(self) -> Catalog:
        from tracker.catalog import load_catalog

        return load_catalog(self.settings.config)

    @cached_property
    def engine(self) -> Engine:
        """The database, migrated to the newest schema on first use."""
        from tracker.db import ensure_schema, make_engine

        engine = make_engine(self.settings.database_url)
        ensure_schema(engine)
        return engine

    def now(self) -> datetime:
        return self.clock()

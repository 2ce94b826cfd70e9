"""What a command or the daemon works with: settings, and the catalog and database built
from them on first use. One is made per process in the entry point and passed down."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tracker.catalog.cache import MetricsView
    from tracker.catalog.model import Catalog
    from tracker.catalog.settings import Settings
    from tracker.store.judging import Remembered


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Runtime:
    settings: Settings
    clock: Callable[[], datetime] = field(default=utc_now)
    ephemeral: bool = False  # an in-memory database on purpose (tracker test): writes allowed

    @classmethod
    def from_env(cls) -> Runtime:
        from tracker.catalog.settings import load_settings  # start-up speed

        return cls(load_settings())

    @cached_property
    def catalog(self) -> Catalog:
        """Validated once per content (tracker.catalog.cache), with a full load's errors."""
        from tracker.catalog.cache import catalog  # start-up speed
        from tracker.catalog.locate import locate  # start-up speed

        return catalog(locate(self.settings).path)

    @cached_property
    def metrics_catalog(self) -> Catalog | MetricsView:
        """What recording actuals needs of the catalog (its metrics and time zone): the
        catalog when it is loaded already, else its metrics validated once per content
        (tracker.catalog.cache), with a full load's errors when that content is new."""
        loaded = self.__dict__.get("catalog")
        if loaded is not None:
            return loaded
        from tracker.catalog.cache import metrics_view  # start-up speed
        from tracker.catalog.locate import locate  # start-up speed

        return metrics_view(locate(self.settings).path)

    @cached_property
    def engine(self) -> Engine:
        """The database, migrated to the newest schema on first use, its period bounds in the
        catalog's time zone (a command without a valid catalog reports that when it reads it)."""
        from tracker.core.errors import ConfigError  # start-up speed
        from tracker.store.db import ensure_schema, make_engine  # start-up speed
        from tracker.store.zones import follow_zone  # start-up speed

        engine = make_engine(self.settings.database_url, ephemeral=self.ephemeral)
        ensure_schema(engine)
        try:
            zone = self.metrics_catalog.timezone
        except ConfigError:
            return engine
        follow_zone(engine, zone)
        return engine

    @cached_property
    def remembered(self) -> Remembered:
        """The verdicts of this process's last evaluation cycle, so that the next one judges
        again only the goals whose inputs changed (tracker.store.judging)."""
        from tracker.store.judging import Remembered  # start-up speed

        return Remembered()

    def now(self) -> datetime:
        return self.clock()

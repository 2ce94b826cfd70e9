"""The database tables, as SQLModel models. Instants are aware UTC; values are exact."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Index, MetaData, Text
from sqlmodel import Field, SQLModel

from tracker.store.dbtypes import ExactDecimal, UTCDateTime

# Named constraints let Alembic's batch mode rebuild SQLite tables and drop them by name.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata

# Indexes that exist only in migrations (see Actual); autogenerate must not drop them.
MIGRATION_ONLY_INDEXES = frozenset({"uq_actuals_current"})


class Actual(SQLModel, table=True):
    """One recorded value of a metric for a period. Recording the same metric and period
    again adds a revision; the newest is `is_current`, and the old ones stay as history."""

    __tablename__ = "actuals"
    # The partial unique index uq_actuals_current (one current row per metric and period)
    # lives in migration 0001 only: declaring postgresql_where here would load the
    # PostgreSQL dialect on every SQLite command, ~14 ms of a CLI call.
    # Evaluation sums windows of current actuals from this index alone (a covering index:
    # no table lookups), so it carries the bounds and the value's integer parts.
    __table_args__ = (
        Index("ix_actuals_metric_current_start", "metric", "is_current", "period_start", "period_end",
              "value_whole", "value_nanos"),
    )

    id: int | None = Field(default=None, primary_key=True)
    metric: str = Field(max_length=100)
    period: str = Field(max_length=16, description="the PERIOD label, such as 2026-03")
    period_start: datetime = Field(sa_type=UTCDateTime)
    period_end: datetime = Field(sa_type=UTCDateTime)
    value: Decimal = Field(sa_type=ExactDecimal)
    # The value split into integers (tracker.store.dbtypes.value_parts) so that SQLite sums it
    # exactly in SQL; NULL where it does not fit, and evaluation then adds `value` itself.
    value_whole: int | None = Field(default=None, sa_type=BigInteger)
    value_nanos: int | None = Field(default=None, sa_type=BigInteger)
    source: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    # When the figure became known (its publication, for backfilled history): `--known-at T`
    # sees only rows known by T. NULL in rows from before migration 0006 means recorded_at.
    known_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revision: int = Field(default=1, ge=1)
    is_current: bool = Field(default=True)


class StoreMeta(SQLModel, table=True):
    """Facts about the stored data itself, such as the time zone its period bounds are in."""

    __tablename__ = "store_meta"

    key: str = Field(primary_key=True, max_length=100)
    value: str = Field(max_length=200)


class StoredVerdict(SQLModel, table=True):
    """A goal's last verdict and a digest of what it was judged from (tracker.store.verdicts):
    a cache that spares a restarted daemon, and commands beside it, judging unchanged goals."""

    __tablename__ = "verdicts"

    goal: str = Field(primary_key=True, max_length=200)
    inputs: str = Field(max_length=64, description="hex digest of the verdict's inputs")
    evaluation: str = Field(sa_type=Text, description="the Evaluation as lossless JSON")
    view: str | None = Field(default=None, sa_type=Text,
                             description="its object in `tracker status --json`, but evaluated_at (tracker.store.verdicts)")

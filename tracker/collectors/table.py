"""The collections journal table: one row per collection run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from tracker.store import models  # noqa: F401  sets the constraint naming convention first
from tracker.store.dbtypes import UTCDateTime


class Collection(SQLModel, table=True):
    """One run of a collector source: when, what came of it, how many actuals it recorded.
    Consecutive failures, `tracker sources` and the /metrics counters are read from here."""

    __tablename__ = "collections"
    __table_args__ = (Index("ix_collections_source_id", "source", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    collected_at: datetime = Field(sa_type=UTCDateTime)
    outcome: str = Field(max_length=16, description="ok or failed")
    rows_recorded: int = Field(default=0, ge=0)
    error: str | None = Field(default=None, max_length=2000)

"""Column types that keep values exact: decimals as entered, instants as aware UTC.

SQLite has no exact decimal and no time zones, so there both are stored as text in a form
that sorts correctly (fixed-width UTC timestamps); PostgreSQL gets NUMERIC and timestamptz.
The `*_to_db` functions are also used by the bulk import, which bypasses per-row type
processing for speed but must write exactly what the ORM writes.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


def decimal_to_db(value: Decimal, dialect_name: str) -> Any:
    # Written out ("f"), as the user's figures are echoed: str() gives 1E-7 below 1e-6.
    return value if dialect_name == "postgresql" else format(value, "f")


def value_parts(value: Decimal) -> tuple[int | None, int | None]:
    """The value as whole units and billionths, the integer columns beside `value` that let
    SQLite sum exactly (its TEXT values would go through floats).
    None for values that do not fit (non-finite, more than 9 places, 10**12 or more): the
    evaluation adds those rows up in Python instead."""
    if not value.is_finite():
        return None, None
    exponent = value.as_tuple().exponent
    whole = int(value)  # towards zero, like the fraction's sign
    if exponent < -9 or abs(whole) >= 10**12:
        return None, None
    return whole, int((value - whole).scaleb(9))


def utc_to_db(value: datetime, dialect_name: str) -> Any:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: use aware UTC")
    value = value.astimezone(timezone.utc)
    if dialect_name == "postgresql":
        return value
    # Fixed width ("2026-03-01 16:00:00.000000"), so text order is time order.
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


class ExactDecimal(TypeDecorator[Decimal]):
    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(String(64))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else decimal_to_db(Decimal(value), dialect.name)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(DateTime(timezone=True))
        return dialect.type_descriptor(String(26))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else utc_to_db(value, dialect.name)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)

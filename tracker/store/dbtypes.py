"""Column types that keep values exact: decimals as entered, instants as aware UTC.

SQLite has no exact decimal and no time zones, so there both are stored as text in a form
that sorts correctly (fixed-width UTC timestamps); PostgreSQL gets NUMERIC and timestamptz.
The `*_to_db` functions are also used by the bulk import, which bypasses per-row type
processing for speed but must write exactly what the ORM writes.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, LargeBinary, Numeric, String
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


_PACKED, _ESCAPED = b"\x00z", b"\x00r"
PACK_FROM = 1 << 20  # bytes: a body this long is stored compressed


class Packed(bytes):
    """A body already in its stored form (pack_body): BodyBytes stores it as it is."""


def pack_body(body: bytes) -> Packed:
    """A notification body's stored form: from 1 MiB zlib at level 1 (a group notification
    that carries every alert of a large catalog runs to hundreds of MB, and writing those
    holds SQLite's one write lock), else the bytes as they are; a body that starts with NUL
    (no JSON does) is marked, so that no body can pass for a packed one."""
    if len(body) >= PACK_FROM:
        return Packed(_PACKED + zlib.compress(body, 1))
    return Packed(_ESCAPED + body if body[:1] == b"\x00" else body)


def unpack_body(stored: bytes) -> bytes:
    """The exact body bytes back from their stored form."""
    if stored[:2] == _PACKED:
        return zlib.decompress(stored[2:])
    return stored[2:] if stored[:2] == _ESCAPED else stored


class BodyBytes(TypeDecorator[bytes]):
    """Outbox bodies, exact on the way out, compressed at rest when long (pack_body); packed
    before a write transaction where the caller can (the dispatcher drafts its bodies so)."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return bytes(value if isinstance(value, Packed) else pack_body(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> bytes | None:
        return None if value is None else unpack_body(bytes(value))

"""How exact decimals are stored: SQLite keeps them as text, written out in full."""

from decimal import Decimal

import pytest

from tracker.store.dbtypes import decimal_to_db, value_parts


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("100", "100"),
        ("1E+2", "100"),
        ("0.0000001", "0.0000001"),  # str() would give 1E-7
        ("-1.5E-9", "-0.0000000015"),
        ("-500", "-500"),
        ("550000.00", "550000.00"),
        ("NaN", "NaN"),
    ],
)
def test_sqlite_text_is_the_decimal_written_out(value: str, stored: str) -> None:
    assert decimal_to_db(Decimal(value), "sqlite") == stored
    if Decimal(value).is_finite():
        assert Decimal(stored) == Decimal(value)


def test_postgresql_gets_the_decimal_itself() -> None:
    assert decimal_to_db(Decimal("1E-7"), "postgresql") == Decimal("1E-7")


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("12.5", (12, 500_000_000)),
        ("-0.25", (0, -250_000_000)),
        ("0.0000000001", (None, None)),  # more than nine places: summed in Python
        ("1000000000000", (None, None)),
    ],
)
def test_value_parts(value: str, parts: tuple) -> None:
    assert value_parts(Decimal(value)) == parts

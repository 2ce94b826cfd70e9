"""The checks every recorded value passes, whatever path it comes by."""

from decimal import Decimal

import pytest

from tracker.core.errors import BadInput, NotFound
from tracker.core.periods import Period
from tracker.core.validation import check_jump, parse_value, validate


@pytest.mark.parametrize(
    "text, value",
    [
        ("550000", Decimal("550000")),
        ("0.1", Decimal("0.1")),
        ("39000.50", Decimal("39000.50")),
        ("-12.5", Decimal("-12.5")),
        ("+7", Decimal("7")),
        (".5", Decimal("0.5")),
        ("1e3", Decimal("1000")),
        ("1E2", Decimal("100")),
        ("-1.5E+2", Decimal("-150")),
        ("2.50E1", Decimal("25.0")),
        ("1.5e-3", Decimal("0.0015")),
        ("-500", Decimal("-500")),
        ("1" * 64, Decimal("1" * 64)),
        (" 42 ", Decimal("42")),
    ],
)
def test_values_are_kept_exactly_as_written(text, value):
    parsed = parse_value(text)
    assert parsed == value and str(parsed) == str(value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("NaN", "is not a decimal number"),
        ("nan", "is not a decimal number"),
        ("inf", "is not a decimal number"),
        ("-Infinity", "is not a decimal number"),
        ("abc", "is not a decimal number"),
        ("", "is not a decimal number"),
        ("1_000", "is not a decimal number"),
        ("550,000", "without thousands separators"),
        ("0x10", "is not a decimal number"),
        ("1.2.3", "is not a decimal number"),
        ("1E64", "has 65 characters written out; at most 64 are kept"),
        ("1E999999999", "has 1000000000 characters written out"),
        ("1" * 65, "has 65 characters written out"),
        ("1e-70", "has 72 characters written out"),
    ],
)
def test_non_numbers_are_refused(text, message):
    with pytest.raises(BadInput, match=message):
        parse_value(text)


@pytest.mark.parametrize(
    "metric, period, value, error, message",
    [
        ("ev_delivery", "2026-03", "1", NotFound, "unknown metric 'ev_delivery'"),
        ("ev_deliveries", "2026-Q1", "1", BadInput, "is a quarter, but ev_deliveries is recorded by month"),
        ("ev_deliveries", "2026", "1", BadInput, "like 2026-03"),
        ("rnd_spend", "2026-03", "1", BadInput, "recorded by quarter"),
        ("ev_deliveries", "2026-03", "-1", BadInput, "below its minimum 0"),
        ("ev_deliveries", "2026-03", "150001", BadInput, "above its maximum 150000"),
        ("rnd_spend", "2026-Q1", "320000", BadInput, "above its maximum"),
        ("third_ev_model_delivered", "2026-09-15", "2", BadInput, "above its maximum 1"),
        ("third_ev_model_delivered", "2026-09-15", "0", BadInput, "below its minimum 1"),
    ],
)
def test_validate_refuses(catalog, metric, period, value, error, message):
    with pytest.raises(error, match=message):
        validate(catalog.metrics, metric, period, value)


def test_bounds_are_inclusive(catalog):
    assert validate(catalog.metrics, "ev_deliveries", "2026-03", "150000")[2] == Decimal(150000)
    assert validate(catalog.metrics, "ev_deliveries", "2026-03", "0")[2] == 0
    assert validate(catalog.metrics, "phone_gross_profit", "2026-Q1", "-500")[2] == Decimal(-500)


@pytest.mark.parametrize(
    "previous, value, force, refused",
    [
        ("40000", "400000", False, False),  # exactly tenfold is allowed
        ("40000", "400001", False, True),
        ("40000", "3999", False, True),
        ("40000", "4000", False, False),
        ("40000", "400001", True, False),
        (None, "400001", False, False),
        ("0", "5", False, False),
        ("5", "0", False, False),
        ("-100", "-1001", False, True),
    ],
)
def test_tenfold_jump_needs_force(catalog, previous, value, force, refused):
    metric = catalog.metrics["ev_deliveries"]
    args = (metric, Period.parse("2026-03"), Decimal(value), Decimal(previous) if previous else None, force)
    if refused:
        with pytest.raises(BadInput, match="more than ten times .* for 2026-02; check the unit, or pass --force"):
            check_jump(*args)
    else:
        check_jump(*args)

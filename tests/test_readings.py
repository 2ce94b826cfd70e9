"""tracker.core.readings.reading: the store's fast constructor makes the same Reading."""

from dataclasses import fields
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from tracker.core.periods import Period
from tracker.core.readings import _FIELDS, Reading, reading

AT = datetime(2026, 9, 1, tzinfo=timezone.utc)


def test_it_sets_every_field_of_reading_in_order() -> None:
    assert tuple(f.name for f in fields(Reading)) == _FIELDS


@pytest.mark.parametrize("known", [None, AT])
def test_it_equals_the_dataclass_made_one(known: datetime | None) -> None:
    args = ("m", Period.parse("2026-03"), Decimal("12.50"), AT, known)
    made = reading(*args)
    assert made == Reading(*args)
    assert repr(made) == repr(Reading(*args))
    assert hash(made) == hash(Reading(*args))


def test_it_is_still_frozen() -> None:
    made = reading("m", Period.parse("2026-03"), Decimal(1), AT, None)
    with pytest.raises(AttributeError):
        made.value = Decimal(2)  # type: ignore[misc]

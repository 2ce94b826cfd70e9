"""Periods: parsing, labels, arithmetic and boundaries in a time zone."""

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from tracker.core.errors import BadInput
from tracker.core.periods import Granularity, Period, Span, parse_instant, parse_span

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = timezone.utc


@pytest.mark.parametrize(
    "text, granularity, start, end",
    [
        ("2026", "year", date(2026, 1, 1), date(2027, 1, 1)),
        ("2026-H1", "half", date(2026, 1, 1), date(2026, 7, 1)),
        ("2026-H2", "half", date(2026, 7, 1), date(2027, 1, 1)),
        ("2026-Q3", "quarter", date(2026, 7, 1), date(2026, 10, 1)),
        ("2026-Q4", "quarter", date(2026, 10, 1), date(2027, 1, 1)),
        ("2026-03", "month", date(2026, 3, 1), date(2026, 4, 1)),
        ("2026-12", "month", date(2026, 12, 1), date(2027, 1, 1)),
        ("2026-03-15", "day", date(2026, 3, 15), date(2026, 3, 16)),
        ("2028-02-29", "day", date(2028, 2, 29), date(2028, 3, 1)),
        (" 2026-02 ", "month", date(2026, 2, 1), date(2026, 3, 1)),
    ],
)
def test_parse_gives_half_open_interval(text, granularity, start, end):
    period = Period.parse(text)
    assert (period.granularity, period.start, period.end) == (granularity, start, end)
    assert period.label == text.strip()


@pytest.mark.parametrize(
    "text, message",
    [
        ("2026-13", "has no month 13"),
        ("2026-00", "has no month 0"),
        ("2026-Q5", "has no quarter 5"),
        ("2026-Q0", "has no quarter 0"),
        ("2026-H3", "has no half 3"),
        ("2026-02-30", "is not a calendar date"),
        ("2027-02-29", "is not a calendar date"),
        ("0000", "is outside the years 1900 to 9000"),
        ("0001-01-01", "is outside the years 1900 to 9000"),
        ("9999", "is outside the years 1900 to 9000"),
        ("9999-Q4", "is outside the years 1900 to 9000"),
        ("1899-12", "is outside the years 1900 to 9000"),
        ("9001-01", "is outside the years 1900 to 9000"),
        ("26-03", "is not one of the forms"),
        ("2026/03", "is not one of the forms"),
        ("March 2026", "is not one of the forms"),
        ("", "is not one of the forms"),
        ("2026-W10", "is not one of the forms"),
    ],
)
def test_malformed_periods_are_bad_input(text, message):
    with pytest.raises(BadInput, match=message):
        Period.parse(text)


@pytest.mark.parametrize(
    "label, previous, following",
    [
        ("2026", "2025", "2027"),
        ("2026-H1", "2025-H2", "2026-H2"),
        ("2026-Q1", "2025-Q4", "2026-Q2"),
        ("2026-01", "2025-12", "2026-02"),
        ("2026-12", "2026-11", "2027-01"),
        ("2026-03-01", "2026-02-28", "2026-03-02"),
        ("2027-01-01", "2026-12-31", "2027-01-02"),
    ],
)
def test_previous_and_next_cross_year_ends(label, previous, following):
    period = Period.parse(label)
    assert period.previous().label == previous
    assert period.next().label == following


def test_bounds_are_local_midnights_in_utc():
    start, end = Period.parse("2026").bounds(SHANGHAI)
    assert start == datetime(2025, 12, 31, 16, tzinfo=UTC)
    assert end == datetime(2026, 12, 31, 16, tzinfo=UTC)


@pytest.mark.parametrize(
    "instant, granularity, label",
    [
        # 2026-12-31 17:00 UTC is already 2027-01-01 01:00 in Shanghai
        (datetime(2026, 12, 31, 17, tzinfo=UTC), Granularity.YEAR, "2027"),
        (datetime(2026, 12, 31, 15, 59, tzinfo=UTC), Granularity.YEAR, "2026"),
        (datetime(2026, 12, 31, 15, 59, tzinfo=UTC), Granularity.MONTH, "2026-12"),
        (datetime(2026, 6, 30, 16, tzinfo=UTC), Granularity.HALF, "2026-H2"),
        (datetime(2026, 9, 30, 15, tzinfo=UTC), Granularity.QUARTER, "2026-Q3"),
        (datetime(2026, 3, 14, 16, tzinfo=UTC), Granularity.DAY, "2026-03-15"),
    ],
)
def test_period_containing_an_instant_uses_the_time_zone(instant, granularity, label):
    assert Period.at(granularity, instant, SHANGHAI).label == label


def test_december_is_inside_its_year_not_the_next():
    year = Period.parse("2026")
    assert year.contains(Period.parse("2026-12"))
    assert not Period.parse("2027").contains(Period.parse("2026-12"))
    assert year.contains(Period.parse("2026-12-31"))


@pytest.mark.parametrize(
    "now, share",
    [
        (datetime(2025, 12, 31, 15, tzinfo=UTC), 0.0),
        (datetime(2025, 12, 31, 16, tzinfo=UTC), 0.0),
        (datetime(2026, 7, 2, 4, tzinfo=UTC), 0.5),  # 182.5 days of 365, from 16:00 UTC
        (datetime(2026, 12, 31, 16, tzinfo=UTC), 1.0),
        (datetime(2027, 6, 1, tzinfo=UTC), 1.0),
    ],
)
def test_elapsed_share(now, share):
    assert Period.parse("2026").elapsed_share(now, SHANGHAI) == pytest.approx(share)


def test_span_of_several_years_and_its_periods():
    span = parse_span("2026..2030")
    assert span == Span(date(2026, 1, 1), date(2031, 1, 1))
    assert parse_span("2026-01-01..2030-12-31") == span
    quarters = list(span.periods(Granularity.QUARTER))
    assert len(quarters) == 20 and quarters[0].label == "2026-Q1" and quarters[-1].label == "2030-Q4"
    assert span.label == "2026-01-01..2030-12-31"


def test_span_that_ends_before_it_starts_is_refused():
    with pytest.raises(BadInput, match="ends before it starts"):
        parse_span("2027..2026")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-07-05", datetime(2026, 7, 4, 16, tzinfo=UTC)),
        ("2026-07-05T08:00", datetime(2026, 7, 5, 0, tzinfo=UTC)),
        ("2026-07-05T08:00+00:00", datetime(2026, 7, 5, 8, tzinfo=UTC)),
        ("2026-07-05T08:00Z", datetime(2026, 7, 5, 8, tzinfo=UTC)),
    ],
)
def test_instants_without_offset_are_read_in_the_catalog_zone(text, expected):
    assert parse_instant(text, SHANGHAI) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("next tuesday", "is not ISO 8601"),
        ("0001-01-01", "is outside the years 1900 to 9000"),
        ("9999-12-31T23:59", "is outside the years 1900 to 9000"),
        ("1899-12-31T23:00", "is outside the years 1900 to 9000"),
    ],
)
def test_malformed_or_far_instants_are_bad_input(text, message):
    with pytest.raises(BadInput, match=message):
        parse_instant(text, SHANGHAI)


@pytest.mark.parametrize("label", ["1900", "1900-01", "1900-01-01", "9000", "9000-H2", "9000-12-31"])
def test_the_first_and_last_years_work_in_every_zone(label):
    """The edges of the one documented range: bounds and neighbours stay inside datetime."""
    period = Period.parse(label)
    for zone in (SHANGHAI, ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Pacific/Pago_Pago")):
        start, end = period.bounds(zone)
        assert start < end
    assert period.previous() < period < period.next()

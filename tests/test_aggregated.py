"""The SQL aggregates judge exactly as the readings do: evaluate_from_db (aggregates made by
the database) against evaluate_all over the same current readings, on SQLite and
PostgreSQL, for the shipped catalog and for generated catalogs and values, including values
SQLite cannot sum through its integer columns (exponents, more than 9 places, huge)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.evalkit import local
from tests.test_evaluation_props import catalog_for, goal_tables, numbers
from tracker.core.aggregates import aggregate_readings
from tracker.core.evaluation import evaluate_aggregated, evaluate_all, requests_for
from tracker.core.periods import Period, Span
from tracker.store import actuals as store
from tracker.store import db
from tracker.store.actuals import RowInput
from tracker.store.dbtypes import decimal_to_db, utc_to_db, value_parts
from tracker.store.judging import evaluate_from_db

RECORDED = datetime(2026, 1, 1, tzinfo=timezone.utc)
ODD = ["1E+3", "2.5E-7", "0.0000000001", "123456789012345.5", "-0", "2.50", "-7.125"]


def _same(catalog, session, now):
    """All three ways agree, field by field and in the JSON (places included)."""
    metrics = {name for goal in catalog.goals for name in goal.metrics}
    readings = store.readings_until(session, metrics=metrics, until=now)
    by_readings = evaluate_all(catalog, readings, now)
    today = now.astimezone(catalog.timezone).date()
    pure = evaluate_aggregated(catalog, aggregate_readings(readings, requests_for(catalog, now), today), now)
    from_db = evaluate_from_db(session, catalog=catalog, now=now)
    assert from_db == by_readings == pure
    assert [e.to_json() for e in from_db] == [e.to_json() for e in by_readings]
    return from_db


def _import(engine, catalog, rows):
    with db.session(engine, write=True) as session:
        store.import_rows(session, catalog=catalog, rows=rows, now=RECORDED, force=True)


def _shipped_rows(catalog, seed):
    """Every metric of the shipped catalog, 2024..2027, with gaps, revisions and odd values."""
    rnd, rows = random.Random(seed), []
    for name, spec in catalog.metrics.items():
        low, high = float(spec.min or 0), float(spec.max or 1000)
        for period in Span(Period.parse("2024").start, Period.parse("2027").end).periods(spec.granularity):
            for _ in range(rnd.choice([0, 1, 1, 1, 2])):
                value = Decimal(str(round(rnd.uniform(low, high), rnd.choice([0, 2, 4, 11]))))
                rows.append(RowInput(len(rows) + 1, name, period.label, str(value)))
    return rows


@pytest.mark.parametrize("seed", [1, 2])
def test_shipped_catalog_judged_the_same_from_sql(engine, catalog, seed):
    _import(engine, catalog, _shipped_rows(catalog, seed))
    with db.session(engine) as session:
        for day in ["2024-01-01", "2025-03-31", "2026-04-03", "2026-07-01T12:00", "2027-01-05", "2028-02-01"]:
            results = _same(catalog, session, local(day))
    assert {e.status for e in results} - {"no_data"}  # the data was seen


@pytest.mark.parametrize(
    ("value", "parts"),
    [("123.45", (123, 450000000)), ("-12.5", (-12, -500000000)), ("-0.5", (0, -500000000)),
     ("1E+3", (1000, 0)), ("1E-7", (0, 100)), ("0.000000001", (0, 1)), ("7", (7, 0)),
     ("0.0000000001", (None, None)), ("1000000000000", (None, None)), ("999999999999", (999999999999, 0))],
    ids=["places", "negative", "negative-fraction", "exponent", "small-exponent", "nine-places", "integer",
         "ten-places", "too-large", "largest"],
)
def test_value_parts(value, parts):
    assert value_parts(Decimal(value)) == parts


values = st.one_of(numbers.map(str), st.sampled_from(ODD))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(goal=goal_tables(), data=st.lists(values, max_size=24), revised=st.lists(values, max_size=6),
       offset=st.integers(0, 1100))
def test_generated_catalogs_judged_the_same_from_sql(engine, goal, data, revised, offset):
    catalog = catalog_for(goal)
    labels = [f"{2025 + i // 12}-{i % 12 + 1:02d}" for i in range(len(data))]
    rows = [(m, p, v) for p, v in zip(labels, data) for m in ("flow", "stock")]
    rows += [("flow2", p, v) for p, v in zip(labels[::2], data[::-1])]  # gaps: ratios pair periods
    rows += [("flow", p, v) for p, v in zip(labels[1::3], revised)]  # revisions
    rows += [("daily", "2026-09-01", "1")] if data else []
    with db.session(engine, write=True) as session:
        session.execute(store.Actual.__table__.delete())
        store.import_rows(session, catalog=catalog, rows=[RowInput(i, *r) for i, r in enumerate(rows, 1)],
                          now=RECORDED, force=True)
    with db.session(engine) as session:
        _same(catalog, session, local("2025-01-01") + timedelta(days=offset))


def test_migration_fills_the_parts_of_existing_actuals(database_url):
    """Rows recorded before migration 0004 get their integer parts; odd ones stay NULL."""
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    from alembic import command

    engine = create_engine(database_url)
    dialect = engine.dialect.name
    at = utc_to_db(RECORDED, dialect)
    config = Config()
    config.set_main_option("script_location", str(db.migrations_path()))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
        for i, value in enumerate(["12.5", "-0.25", "7", "0.0000000001"]):
            connection.execute(text(
                "INSERT INTO actuals (metric, period, period_start, period_end, value, recorded_at, revision, is_current)"
                " VALUES ('m', :p, :s, :s, :v, :s, 1, TRUE)"), {"p": f"2026-0{i + 1}", "s": at, "v": decimal_to_db(Decimal(value), dialect)})
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        parts = connection.execute(text("SELECT value_whole, value_nanos FROM actuals ORDER BY period")).all()
    engine.dispose()
    assert [tuple(p) for p in parts] == [(12, 500000000), (0, -250000000), (7, 0), (None, None)]

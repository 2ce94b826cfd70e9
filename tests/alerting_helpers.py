"""Builders shared by the alert tests: evaluations as the evaluator would make them, and a
runtime on a given database with a stub judge."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from tracker.core.verdict import Evaluation, Status

EV = "ev-deliveries-2026"
EV_SUMMARY = "EV deliveries 2026: projected 481,200 of 550,000 (87%); needs 58,400 a month for the rest of the year"


def evaluation(status: Status = Status.OFF_TRACK, *, goal: str = EV, at: datetime | None = None, **changes) -> Evaluation:
    base = Evaluation(
        goal=goal,
        title="EV deliveries 2026",
        kind="cumulative",
        period_start=date(2026, 1, 1),
        period_end=date(2027, 1, 1),
        status=status,
        evaluated_at=at or datetime(2026, 7, 5),
        summary=EV_SUMMARY,
        labels={"business": "ev", "headline": "true"},
    )
    return replace(base, **changes)


class StubJudge:
    """Returns whatever evaluations the test sets, as judging.evaluate_from_db would."""

    def __init__(self, *evaluations: Evaluation) -> None:
        self.evaluations = list(evaluations)

    def __call__(self, session, *, catalog, now):  # type: ignore[no-untyped-def]
        return [replace(e, evaluated_at=now) for e in self.evaluations]


# One alert per notification, sent in the cycle that fires it: what the delivery tests need
# (grouping and its timing have their own tests, with the shipped defaults).
PER_ALERT = {"group_by": ("goal", "alertname"), "group_wait": timedelta(0), "group_interval": timedelta(0)}


def make_runtime(engine, *, webhook_url: str | None = None, secret: str | None = None, catalog=None,  # type: ignore[no-untyped-def]
                 route: dict | None = PER_ALERT):
    """A Runtime on an open engine, with the shipped catalog (or `catalog`) and the default
    receiver pointed at `webhook_url`; `route` replaces the catalog's [route] (None keeps it)."""
    from tests.conftest import CATALOG
    from tracker.catalog.routing import RootRoute
    from tracker.catalog.settings import Settings
    from tracker.store.runtime import Runtime

    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        config=CATALOG,
        webhook_url=webhook_url,
        webhook_secret=secret,
    )
    runtime = Runtime(settings)
    runtime.__dict__["engine"] = engine
    if catalog is not None:
        runtime.__dict__["catalog"] = catalog
    if route is not None:
        runtime.__dict__["catalog"] = runtime.catalog.model_copy(update={"route": RootRoute(**route)})
    return runtime


def alerts_of(payload: dict) -> list[dict]:
    """The alerts of a native group body."""
    return payload["data"]["alerts"]


def record(engine, catalog, metric: str, period: str, value: str, at: datetime) -> None:  # type: ignore[no-untyped-def]
    """One figure recorded as `tracker record --force` does, in its own write transaction."""
    from tracker.store import actuals, db

    with db.session(engine, write=True) as session:
        actuals.record(session, catalog=catalog, metric=metric, period=period, value=value, now=at, force=True)

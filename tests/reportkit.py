"""Hand-made evaluations of the shipped goals, for testing the report apart from evaluation."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

from tracker.catalog.model import Catalog
from tracker.core.periods import Period
from tracker.core.verdict import Evaluation, Status

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "config" / "sample-actuals.csv"
AS_OF = datetime(2026, 7, 5, tzinfo=timezone.utc)


def real_pace(goal, catalog: Catalog):  # type: ignore[no-untyped-def]
    from tracker.core.evaluation import pace

    return lambda at: pace(goal, catalog=catalog, at=at)


def sample_readings(catalog: Catalog):  # type: ignore[no-untyped-def]
    from tracker.core.readings import Reading
    from tracker.store.importer import read_csv

    out: dict[str, list[Reading]] = {name: [] for name in catalog.metrics}
    for row in read_csv(SAMPLE):
        out[row.metric].append(Reading(row.metric, Period.parse(row.period), Decimal(row.value), AS_OF))
    return out


def made_up(catalog: Catalog, goal_id: str, status: Status, now: datetime = AS_OF, **numbers) -> Evaluation:  # type: ignore[no-untyped-def]
    goal = catalog.goal(goal_id)
    span = goal.period or Period.at(goal.recurs, now, catalog.timezone).span
    values = {k: v if k in _AS_GIVEN else Decimal(str(v)) for k, v in numbers.items()}
    return Evaluation(
        goal=goal.id, title=goal.title, kind=goal.kind.value, period_start=span.start, period_end=span.end,
        status=status, evaluated_at=now, display=goal.display, unit=goal.unit, labels=dict(goal.labels),
        summary=f"{goal.title}: {status.value.replace('_', ' ')} (made up for a test)", **values,
    )


# fields that are not decimals: the rest (target, actual, ...) are given as numbers or text
_AS_GIVEN = {"attainment", "projected_attainment", "stale", "stale_metrics", "rate_unit", "data_through", "deadline_near"}


def made_up_all(catalog: Catalog, now: datetime = AS_OF) -> list[Evaluation]:
    """One evaluation per shipped goal, covering every status."""
    e = made_up
    return [
        e(catalog, "ev-deliveries-2026", Status.AT_RISK, now, target=550000, actual=211000, expected=231000,
          projected=502381, attainment=0.3836, projected_attainment=0.913, required_rate=56500, rate_unit="month",
          data_through=date(2026, 6, 30)),
        e(catalog, "home-stores-2026", Status.ON_TRACK, now, target=1000, actual=830, expected=750, baseline=500,
          projected=1160, attainment=0.66, projected_attainment=1.16, data_through=date(2026, 6, 30)),
        e(catalog, "china-share-yearly", Status.AT_RISK, now, target="0.1562", actual="0.1548", baseline="0.1462",
          projected="0.1548", attainment=0.99, projected_attainment=0.99),
        e(catalog, "ai-code-share", Status.NO_DATA, now, target="0.30"),
        e(catalog, "phone-gross-margin-2026", Status.ON_TRACK, now, target="0.08", actual="0.0799", projected="0.0799",
          attainment=0.999, projected_attainment=0.999),
        e(catalog, "rnd-2026-2030", Status.ON_TRACK, now, target=200000, actual=19700, expected=20000, projected=197000,
          attainment=0.0985, projected_attainment=0.985, required_rate="10016.7", rate_unit="quarter", stale=True,
          stale_metrics=("rnd_spend",)),
        e(catalog, "aiot-gross-margin-2026", Status.OFF_TRACK, now, target="0.2304", actual="0.2241",
          projected="0.2241", attainment=0.97, projected_attainment=0.97),
        e(catalog, "phone-asp-2026", Status.ON_TRACK, now, target="1115", actual="1152.3", projected="1152.3"),
        e(catalog, "ev-gross-margin", Status.ACHIEVED, now, target="0.20", actual="0.1989", projected="0.1989"),
        e(catalog, "overseas-aiot-share", Status.NO_DATA, now, target="0.30"),
        e(catalog, "third-ev-model-h2-2026", Status.ON_TRACK, now),
        e(catalog, "europe-ev-export-2027", Status.ON_TRACK, now),
        e(catalog, "ev-deliveries-2025", Status.ACHIEVED, now, target=400000, actual=410000, attainment=1.025,
          projected=410000, projected_attainment=1.025),
    ]

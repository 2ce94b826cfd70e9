"""The alertmanager_api receiver, through real evaluation cycles: a firing alert is queued
again every cycle with endsAt four evaluation intervals ahead (Alertmanager resolves an alert
whose endsAt passes), and the resolve carries endsAt = the resolve time."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from tests.alerting_helpers import EV, StubJudge, evaluation, make_runtime
from tracker.alerting.cycle import evaluate_cycle
from tracker.core.verdict import Status
from tracker.store import db
from tracker.store.alert_tables import OutboxRow

T0 = datetime(2026, 7, 5, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def pushed(engine) -> list[tuple[str, dict]]:
    with db.session(engine) as session:
        rows = session.execute(select(OutboxRow).order_by(OutboxRow.id)).scalars().all()
        return [(row.reason, json.loads(row.body)[0]) for row in rows]


@pytest.mark.parametrize(("interval", "ahead"), [(None, 4 * HOUR), (30.0, timedelta(minutes=2))],
                         ids=["hourly-cron", "interval-setting"])
def test_firing_is_refreshed_every_cycle_and_the_resolve_ends_it(engine, interval, ahead) -> None:
    from tracker.catalog.routing import Receiver
    from tracker.catalog.settings import EvaluateSettings
    from tracker.core.rules import Rule

    runtime = make_runtime(engine)
    runtime.settings.evaluate = EvaluateSettings(interval_seconds=interval)
    rule = Rule(name="off-track", condition="off_track", severity="critical")  # resolves at once
    runtime.__dict__["catalog"] = runtime.catalog.model_copy(update={
        "rules": (rule,), "receivers": (Receiver(name="am", url="http://am.example/api/v2/alerts",
                                                 format="alertmanager_api"),)})
    off, on = StubJudge(evaluation(Status.OFF_TRACK)), StubJudge(evaluation(Status.ON_TRACK))
    queued = [evaluate_cycle(runtime, now=T0 + n * HOUR, judge=judge).queued
              for n, judge in enumerate((off, off, off, on, on))]
    assert queued == [1, 1, 1, 1, 0]  # every firing cycle, the resolve, then nothing
    alerts = pushed(engine)
    assert [reason for reason, _ in alerts] == ["first notification"] + ["repeat interval elapsed"] * 2 + ["resolved"]
    for n, (_, alert) in enumerate(alerts[:3]):
        assert alert["endsAt"] == (T0 + n * HOUR + ahead).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert alert["startsAt"] == "2026-07-05T00:00:00Z"
        assert alert["labels"]["alertname"] == "off-track" and alert["labels"]["goal"] == EV
        assert alert["generatorURL"] == f"http://127.0.0.1:9464/api/goals/{EV}"
    assert alerts[3][1]["endsAt"] == "2026-07-05T03:00:00Z"

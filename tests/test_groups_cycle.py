"""Groups through real cycles and dispatches, on SQLite and PostgreSQL, with injected times:
the shipped catalog with no data sends one notification per business, not one per alert; a
restart while a group waits neither loses nor repeats it; resolves inside a group;
inhibition and matcher silences; one alert per message with group_by = [goal, alertname]."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from tests.alerting_helpers import EV, StubJudge, alerts_of, evaluation, make_runtime
from tracker.alerting.cycle import evaluate_cycle
from tracker.alerting.dispatch import dispatch_pass
from tracker.catalog.routing import RootRoute
from tracker.core.matchers import parse_all
from tracker.core.verdict import Status
from tracker.store import db, silences
from tracker.store.alert_tables import AlertGroup, OutboxRow
from tracker.views.alert_view import alert_items

T0 = datetime(2026, 7, 5, tzinfo=timezone.utc)
S = timedelta(seconds=1)
HOOK = "http://hooks.example/kpi"


def bodies(engine) -> list[dict]:  # type: ignore[no-untyped-def]
    with db.session(engine) as session:
        return [json.loads(r.body) for r in session.execute(select(OutboxRow).order_by(OutboxRow.id)).scalars()]


def shipped(engine):  # type: ignore[no-untyped-def]
    """The shipped catalog, its default grouping, an empty database and a webhook receiver."""
    return make_runtime(engine, webhook_url=HOOK, route=None)


def test_shipped_catalog_without_data_sends_one_notification_per_business(engine) -> None:
    runtime = shipped(engine)
    first = evaluate_cycle(runtime, now=T0)
    with db.session(engine) as session:
        items = alert_items(session, now=T0, catalog=runtime.catalog)
    businesses = {item["labels"]["business"] for item in items if item["state"] == "firing"}
    # nine goals miss due periods (ev-deliveries-2025 all of its closed year): stale-metric each
    assert first.firing == len(items) == 9 and businesses == {"ev", "phone", "aiot", "corporate"}
    assert (first.queued, first.waiting, first.next_due) == (0, 4, T0 + 30 * S)  # group_wait collects siblings
    assert dispatch_pass(runtime, now=T0 + 29 * S).queued == 0
    assert dispatch_pass(runtime, now=T0 + 30 * S).queued == 4  # was one per alert: 9
    sent = bodies(engine)
    assert sorted(b["data"]["group_labels"]["business"] for b in sent) == sorted(businesses)
    for body in sent:
        business = body["data"]["group_labels"]["business"]
        assert body["type"] == "alert.firing" and body["data"]["group_key"] == f'{{}}:{{business="{business}"}}'
        assert all(a["labels"]["business"] == business for a in alerts_of(body))
        assert body["data"]["common_labels"]["business"] == business
    assert sum(len(alerts_of(b)) for b in sent) == first.firing
    assert evaluate_cycle(runtime, now=T0 + 3600 * S).queued == 0  # nothing changed


def test_a_restart_while_a_group_waits_neither_loses_nor_repeats_it(engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    evaluate_cycle(shipped(engine), now=T0)
    engine.dispose()  # the process goes away mid-wait; everything it knew is in the database
    from tracker.store.db import make_engine

    for at, queued in ((T0 + 10 * S, 0), (T0 + 30 * S, 4), (T0 + 31 * S, 0), (T0 + 400 * S, 0)):
        fresh = make_engine(url)  # a new process each time
        try:
            assert dispatch_pass(shipped(fresh), now=at).queued == queued, at
        finally:
            fresh.dispose()
    assert len(bodies(engine)) == 4


def two_goals(ev: Status, phone: Status) -> StubJudge:
    return StubJudge(evaluation(ev), evaluation(phone, goal="phone-asp-2026"))


def test_resolves_inside_a_group(engine) -> None:
    runtime = make_runtime(engine, webhook_url=HOOK, route={"group_wait": 30 * S, "group_interval": 300 * S})
    judge = two_goals(Status.MISSED, Status.MISSED)  # both business ev; missed resolves at once
    evaluate_cycle(runtime, now=T0, judge=judge)
    assert dispatch_pass(runtime, now=T0 + 30 * S).queued == 1
    judge.evaluations[0] = evaluation(Status.ACHIEVED)
    changed = evaluate_cycle(runtime, now=T0 + 60 * S, judge=judge)
    assert (changed.resolved, changed.queued, changed.next_due) == (1, 0, T0 + 330 * S)  # group_interval
    assert dispatch_pass(runtime, now=T0 + 330 * S).queued == 1
    judge.evaluations[1] = evaluation(Status.ACHIEVED, goal="phone-asp-2026")
    evaluate_cycle(runtime, now=T0 + 400 * S, judge=judge)
    assert dispatch_pass(runtime, now=T0 + 630 * S).queued == 1
    first, partial, last = bodies(engine)
    assert [(a["goal"], a["state"]) for a in alerts_of(first)] == [(EV, "firing"), ("phone-asp-2026", "firing")]
    assert [(a["goal"], a["state"], a["reason"]) for a in alerts_of(partial)] == [
        ("phone-asp-2026", "firing", "alerts resolved"), (EV, "resolved", "resolved")]
    assert partial["type"] == "alert.firing" and last["type"] == "alert.resolved"
    assert [(a["goal"], a["state"]) for a in alerts_of(last)] == [("phone-asp-2026", "resolved")]
    assert len({b["data"]["group_key"] for b in (first, partial, last)}) == 1  # a stable key
    with db.session(engine) as session:
        assert session.execute(select(AlertGroup)).all() == []  # over: nothing is believed to fire
    assert dispatch_pass(runtime, now=T0 + 99999 * S).queued == 0


def test_missed_inhibits_the_rest_and_tracker_alerts_says_so(engine) -> None:
    runtime = make_runtime(engine, webhook_url=HOOK)
    judge = StubJudge(evaluation(Status.MISSED, stale=True, stale_metrics=("ev_deliveries",)))
    result = evaluate_cycle(runtime, now=T0, judge=judge)
    assert (result.firing, result.queued, result.suppressed) == (2, 1, {"inhibited": 1})
    (body,) = bodies(engine)
    assert [a["rule"] for a in alerts_of(body)] == ["missed"]
    with db.session(engine) as session:
        listed = {i["rule"]: i["muted"] for i in alert_items(session, now=T0, catalog=runtime.catalog)}
    assert listed == {"missed": None, "stale-metric": f"inhibited by missed goal:{EV}"}


def test_a_matcher_silence_mutes_its_group_only(engine) -> None:
    runtime = make_runtime(engine, webhook_url=HOOK, route={"group_wait": 0 * S})
    judge = two_goals(Status.OFF_TRACK, Status.OFF_TRACK)
    judge.evaluations[1] = evaluation(Status.OFF_TRACK, goal="phone-asp-2026", labels={"business": "phone"})
    with db.session(engine, write=True) as session:
        silences.add_silence(session, matchers=parse_all(['business=~"e.*"']), until=T0 + 3600 * S,
                             comment="plan review", author="ops", now=T0)
    result = evaluate_cycle(runtime, now=T0, judge=judge)
    assert (result.firing, result.queued, result.suppressed) == (2, 1, {"silenced": 1})
    (body,) = bodies(engine)
    assert body["data"]["group_labels"] == {"business": "phone"}
    assert evaluate_cycle(runtime, now=T0 + 3601 * S, judge=judge).queued == 1  # the silence ended
    assert bodies(engine)[-1]["data"]["group_labels"] == {"business": "ev"}


def test_group_by_goal_and_alertname_sends_one_alert_per_message(engine) -> None:
    runtime = make_runtime(engine, webhook_url=HOOK, route=None)
    catalog = runtime.catalog
    runtime.__dict__["catalog"] = catalog.model_copy(update={"route": RootRoute(group_by=("goal", "alertname"))})
    judge = StubJudge(evaluation(Status.OFF_TRACK, stale=True, stale_metrics=("ev_deliveries",)),
                      evaluation(Status.AT_RISK, goal="phone-asp-2026"))
    evaluate_cycle(runtime, now=T0, judge=judge)
    assert dispatch_pass(runtime, now=T0 + 30 * S).queued == 3
    assert sorted(len(alerts_of(b)) for b in bodies(engine)) == [1, 1, 1]

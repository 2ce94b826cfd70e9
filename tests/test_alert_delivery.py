"""The alert cycle and delivery against a real HTTP server on loopback, on SQLite and
PostgreSQL. Time is injected: each cycle and pass runs at a stated instant. Groups hold one
alert each and go out in the cycle (alerting_helpers.PER_ALERT); grouping itself is
tests/test_groups_cycle.py's."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import select
from standardwebhooks import Webhook
from werkzeug import Request, Response

from tests.alerting_helpers import EV, PER_ALERT, StubJudge, alerts_of, evaluation, make_runtime
from tracker.alerting.cycle import evaluate_cycle
from tracker.alerting.dispatch import dispatch_pass
from tracker.core.verdict import Status
from tracker.delivery import deliver_pass, outbox
from tracker.store import db, silences
from tracker.store.alert_tables import OutboxRow
from tracker.views.alert_view import receiver_items

T0 = datetime(2026, 7, 5, tzinfo=timezone.utc)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


class Receiver:
    """Records every request; answers with `status` (changeable while the test runs)."""

    def __init__(self, httpserver, status: int = 200, headers: dict | None = None) -> None:  # type: ignore[no-untyped-def]
        self.requests: list[tuple[dict, bytes, int]] = []
        self.status, self.headers = status, headers or {}
        httpserver.expect_request("/hook", method="POST").respond_with_handler(self.handle)
        self.url = httpserver.url_for("/hook")

    def handle(self, request: Request) -> Response:
        self.requests.append((dict(request.headers), request.get_data(), self.status))
        return Response("", status=self.status, headers=self.headers)

    def delivered(self) -> list[dict]:
        return [json.loads(body) for _, body, status in self.requests if status < 300]

    def ids(self, ok: bool | None = None) -> list[str]:
        return [h["Webhook-Id"] for h, _, s in self.requests if ok is None or (s < 300) == ok]


def cycle(runtime, judge, at):  # type: ignore[no-untyped-def]
    return evaluate_cycle(runtime, now=at, judge=judge)


def deliver(runtime, at):  # type: ignore[no-untyped-def]
    return deliver_pass(runtime, now=at, rng=lambda: 0.5)


def test_one_notification_on_firing_none_unchanged_one_on_repeat_one_on_resolve(engine, httpserver) -> None:
    hook = Receiver(httpserver)
    runtime = make_runtime(engine, webhook_url=hook.url, secret=SECRET)
    judge = StubJudge(evaluation(Status.OFF_TRACK))

    first = cycle(runtime, judge, T0)
    assert (first.firing, first.queued, [e.goal for e in first.evaluations]) == (1, 1, [EV])
    assert deliver(runtime, T0).total("sent") == 1
    (headers, body, _), = hook.requests
    with freeze_time(T0):
        payload = Webhook(SECRET).verify(body, headers)
    (alert,) = alerts_of(payload)
    assert payload["type"] == "alert.firing" and alert["reason"] == "first notification"
    assert alert["goal"] == EV and alert["summary"].startswith("EV deliveries 2026: projected")
    assert payload["data"]["group_labels"] == {"alertname": "off-track", "goal": EV}

    assert cycle(runtime, judge, T0 + HOUR).queued == 0
    assert deliver(runtime, T0 + HOUR).total("sent") == 0

    assert cycle(runtime, judge, T0 + 24 * HOUR).queued == 1
    deliver(runtime, T0 + 24 * HOUR)
    assert [alerts_of(p)[0]["reason"] for p in hook.delivered()] == ["first notification", "repeat interval elapsed"]

    judge.evaluations = [evaluation(Status.ON_TRACK)]
    kept = cycle(runtime, judge, T0 + 25 * HOUR)  # off-track keeps firing for a day after it clears
    assert (kept.firing, kept.queued) == (1, 0)
    gone = cycle(runtime, judge, T0 + 48 * HOUR)
    assert (gone.firing, gone.resolved, gone.queued) == (0, 1, 1)
    deliver(runtime, T0 + 48 * HOUR)
    assert cycle(runtime, judge, T0 + 49 * HOUR).queued == 0
    deliver(runtime, T0 + 49 * HOUR)
    last = hook.delivered()[-1]
    assert [p["type"] for p in hook.delivered()] == ["alert.firing", "alert.firing", "alert.resolved"]
    assert alerts_of(last)[0]["reason"] == "resolved" and alerts_of(last)[0]["ends_at"] == "2026-07-07T00:00:00Z"
    assert len(set(hook.ids())) == 3


def test_failing_receiver_gets_every_notification_with_the_same_id(engine, httpserver) -> None:
    hook = Receiver(httpserver, status=500)
    runtime = make_runtime(engine, webhook_url=hook.url, secret=SECRET)
    judge = StubJudge(evaluation(Status.OFF_TRACK), evaluation(Status.AT_RISK, goal="home-stores-2026"))
    assert cycle(runtime, judge, T0).queued == 2

    assert deliver(runtime, T0).total("failed") == 2
    assert deliver(runtime, T0 + timedelta(seconds=1)).total("failed") == 0  # not due yet: no request
    assert deliver(runtime, T0 + timedelta(seconds=10)).total("failed") == 2
    with db.session(engine) as session:
        (failing,) = receiver_items(session)
    assert failing["failing"] and failing["failures_in_a_row"] == 4 and failing["last_error"] == "HTTP 500"

    hook.status = 200
    assert deliver(runtime, T0 + timedelta(minutes=10)).total("sent") == 2
    first_ids = hook.ids()[:2]
    assert sorted(hook.ids(ok=True)) == sorted(first_ids)
    assert all(hook.ids().count(i) == 3 for i in first_ids)
    bodies = {h["Webhook-Id"]: set() for h, _, _ in hook.requests}
    for h, body, _ in hook.requests:
        bodies[h["Webhook-Id"]].add(body)
    assert all(len(b) == 1 for b in bodies.values())  # the same bytes on every attempt
    with db.session(engine) as session:
        assert outbox.depth(session) == 0 and receiver_items(session) == []


def test_silenced_goal_sends_nothing_until_the_silence_ends(engine, httpserver) -> None:
    hook = Receiver(httpserver)
    runtime = make_runtime(engine, webhook_url=hook.url)
    judge = StubJudge(evaluation(Status.OFF_TRACK))
    with db.session(engine, write=True) as session:
        silences.set_silence(session, catalog=runtime.catalog, goal=EV, until=T0 + 2 * HOUR, comment="known", now=T0)
    for hours in (0, 1):
        result = cycle(runtime, judge, T0 + hours * HOUR)
        assert (result.firing, result.queued, result.suppressed) == (1, 0, {"silenced": 1})
        deliver(runtime, T0 + hours * HOUR)
    assert hook.requests == []
    assert cycle(runtime, judge, T0 + 3 * HOUR).queued == 1
    deliver(runtime, T0 + 3 * HOUR)
    assert [alerts_of(p)[0]["reason"] for p in hook.delivered()] == ["first notification"]


def test_silence_set_while_the_group_waits_holds_it_back_until_it_ends(engine, httpserver) -> None:
    hook = Receiver(httpserver)
    runtime = make_runtime(engine, webhook_url=hook.url, route={**PER_ALERT, "group_wait": timedelta(seconds=30)})
    judge = StubJudge(evaluation(Status.OFF_TRACK))
    assert cycle(runtime, judge, T0).waiting == 1
    with db.session(engine, write=True) as session:
        silences.set_silence(session, catalog=runtime.catalog, goal=EV, until=T0 + HOUR, comment=None, now=T0)
    assert dispatch_pass(runtime, now=T0 + timedelta(seconds=30)).muted == {"silenced": 1}
    assert deliver(runtime, T0 + timedelta(seconds=30)).total("sent") == 0 and hook.requests == []
    assert cycle(runtime, judge, T0 + 2 * HOUR).queued == 1  # the receiver was never told
    deliver(runtime, T0 + 2 * HOUR)
    assert [alerts_of(p)[0]["reason"] for p in hook.delivered()] == ["first notification"]


def test_410_disables_the_receiver_and_replay_dead_sends_again(engine, httpserver) -> None:
    hook = Receiver(httpserver, status=410)
    runtime = make_runtime(engine, webhook_url=hook.url)
    judge = StubJudge(evaluation(Status.OFF_TRACK))
    cycle(runtime, judge, T0)
    assert deliver(runtime, T0).total("dead") == 1
    judge.evaluations.append(evaluation(Status.AT_RISK, goal="home-stores-2026"))
    cycle(runtime, judge, T0 + HOUR)
    assert deliver(runtime, T0 + HOUR).total("dead") == 1
    assert len(hook.requests) == 1  # a disabled receiver is not called again
    with db.session(engine) as session:
        (item,) = receiver_items(session)
        assert (item["dead"], item["disabled"], outbox.depth(session)) == (2, "answered 410 Gone", 0)

    hook.status = 200
    with db.session(engine, write=True) as session:
        assert outbox.replay_dead(session, now=T0 + 2 * HOUR) == 2
    assert deliver(runtime, T0 + 2 * HOUR).total("sent") == 2
    assert hook.ids(ok=False)[0] in hook.ids(ok=True)


def test_429_retry_after_is_honoured(engine, httpserver) -> None:
    hook = Receiver(httpserver, status=429, headers={"Retry-After": "600"})
    runtime = make_runtime(engine, webhook_url=hook.url)
    cycle(runtime, StubJudge(evaluation(Status.OFF_TRACK)), T0)
    deliver(runtime, T0)
    assert deliver(runtime, T0 + timedelta(seconds=599)).total("failed") == 0
    with db.session(engine) as session:
        row = session.execute(select(OutboxRow)).scalar_one()
    assert (row.state, row.attempts, row.last_status) == ("queued", 1, 429)
    # counted from the attempt, which runs on from the pass's `now` by the monotonic clock
    assert T0 + timedelta(seconds=600) <= row.next_attempt_at < T0 + timedelta(seconds=610)


def test_dead_after_the_last_attempt_then_replayable(engine, httpserver) -> None:
    hook = Receiver(httpserver, status=500)
    runtime = make_runtime(engine, webhook_url=hook.url)
    cycle(runtime, StubJudge(evaluation(Status.OFF_TRACK)), T0)
    at = T0
    for _ in range(10):
        deliver(runtime, at)
        with db.session(engine) as session:
            row = session.execute(select(OutboxRow)).scalar_one()
        at = row.next_attempt_at
    assert (row.state, row.attempts, len(hook.requests)) == ("dead", 10, 10)
    assert row.last_error == "HTTP 500 (gave up after 10 attempts)"
    with db.session(engine) as session:
        assert outbox.depth(session) == 0


def test_claims_are_compare_and_set_and_expire_after_the_lease(engine, httpserver) -> None:
    runtime = make_runtime(engine, webhook_url=Receiver(httpserver).url)
    cycle(runtime, StubJudge(evaluation(Status.OFF_TRACK)), T0)
    lease = timedelta(minutes=1)
    claim = outbox.claim_next
    with db.session(engine, write=True) as session:
        mine = claim(session, receiver="default", now=T0, until=T0 + lease, token="a")
    with db.session(engine, write=True) as session:
        assert claim(session, receiver="default", now=T0, until=T0 + lease, token="b") is None
        assert outbox.depth(session) == 1
    with db.session(engine, write=True) as session:
        again = claim(session, receiver="default", now=T0 + lease, until=T0 + 2 * lease, token="c")
        assert again.webhook_id == mine.webhook_id
    with db.session(engine, write=True) as session:
        assert outbox.finish(session, ids=[mine.id], token="a", state="sent") == 0  # lost its claim
        assert outbox.release(session, ids=[mine.id], token="a", now=T0) == 0
        assert outbox.finish(session, ids=[mine.id], token="c", state="sent") == 1


def test_routes_pick_receivers_and_formats(engine, httpserver) -> None:
    from tracker.catalog.routing import Receiver as ReceiverConfig
    from tracker.catalog.routing import Route

    ops, chat = Receiver(httpserver), None
    httpserver.expect_request("/chat", method="POST").respond_with_data("ok")
    chat = httpserver.url_for("/chat")
    runtime = make_runtime(engine)
    runtime.__dict__["catalog"] = runtime.catalog.model_copy(update={
        "receivers": (ReceiverConfig(name="ops", url=ops.url, format="alertmanager"),
                      ReceiverConfig(name="chat", url=chat, format="slack")),
        "routes": (Route(receiver="ops", match={"business": "ev"}, **PER_ALERT, **{"continue": True}),
                   Route(receiver="chat", severities=("warning",), **PER_ALERT)),
    })
    judge = StubJudge(evaluation(Status.OFF_TRACK), evaluation(Status.AT_RISK, goal="phone-asp-2026",
                                                              labels={"business": "phone"}))
    assert cycle(runtime, judge, T0).queued == 2
    assert dict((k, v.sent) for k, v in deliver(runtime, T0).receivers.items()) == {"ops": 1, "chat": 1}
    (am,) = ops.delivered()
    assert am["version"] == "4" and am["alerts"][0]["labels"]["goal"] == EV
    assert am["groupKey"] == '{}/{business="ev"}:{alertname="off-track", goal="ev-deliveries-2026"}'
    slack = [json.loads(r.get_data()) for r, _ in httpserver.log if r.path == "/chat"]
    assert slack[0]["text"].startswith("[FIRING:1] alertname=at-risk, goal=phone-asp-2026\n:large_orange_circle:")


def test_no_receiver_writes_notifications_to_the_log(engine) -> None:
    from structlog.testing import capture_logs

    runtime = make_runtime(engine)
    cycle(runtime, StubJudge(evaluation(Status.OFF_TRACK)), T0)
    with capture_logs() as logs:
        assert deliver(runtime, T0).receivers["log"].sent == 1
    (entry,) = [e for e in logs if e["event"] == "alert notification"]
    assert entry["group"] == '{}:{alertname="off-track", goal="ev-deliveries-2026"}'
    assert entry["reason"] == "first notification" and entry["alerts"][0].startswith(f"firing off-track {EV}: EV")


def test_source_failing_alerts_come_and_go_with_source_health(engine) -> None:
    from tracker.core.rules import SourceHealth

    runtime = make_runtime(engine)
    failing = [SourceHealth("ev-monthly", 3, 3, "HTTP 502", T0)]
    first = evaluate_cycle(runtime, now=T0, judge=StubJudge(), sources=failing)
    assert (first.firing, first.queued) == (1, 1)
    assert evaluate_cycle(runtime, now=T0 + HOUR, judge=StubJudge(), sources=failing).firing == 1
    healthy = [SourceHealth("ev-monthly", 0, 3)]
    assert evaluate_cycle(runtime, now=T0 + 2 * HOUR, judge=StubJudge(), sources=healthy).resolved == 1


def test_the_cycle_reads_source_health_from_the_collections_journal(engine) -> None:
    """Failed collections recorded by the collectors raise source_failing once the streak
    reaches the source's threshold, and a good run resolves it."""
    from tracker.catalog.sources import SourceConfig
    from tracker.collectors import journal

    source = SourceConfig(name="ev-monthly", kind="http_json", schedule="0 * * * *", metric="ev_deliveries",
                          url="http://127.0.0.1:9/x", value_path="value", period_path="period", failures_before_alert=2)
    runtime = make_runtime(engine)
    runtime.__dict__["catalog"] = runtime.catalog.model_copy(update={"sources": (source,)})

    def run(outcome: str, at) -> None:  # type: ignore[no-untyped-def]
        with db.session(engine, write=True) as session:
            journal.add(session, source="ev-monthly", at=at, outcome=outcome, rows=0,
                        error="HTTP 502" if outcome == "failed" else None)

    run("failed", T0)
    assert evaluate_cycle(runtime, now=T0, judge=StubJudge()).firing == 0  # 1 of 2 failures
    run("failed", T0 + HOUR)
    assert evaluate_cycle(runtime, now=T0 + HOUR, judge=StubJudge()).firing == 1
    run("ok", T0 + 2 * HOUR)
    assert evaluate_cycle(runtime, now=T0 + 2 * HOUR, judge=StubJudge()).resolved == 1


@pytest.mark.parametrize("for_", ["2h"], ids=["for-2h"])
def test_for_holds_an_alert_pending(engine, for_: str) -> None:
    from tracker.core.rules import Rule

    runtime = make_runtime(engine)
    rule = Rule(name="off-track", condition="off_track", severity="critical", **{"for": for_})
    runtime.__dict__["catalog"] = runtime.catalog.model_copy(update={"rules": (rule,)})
    judge = StubJudge(evaluation(Status.OFF_TRACK))
    assert (cycle(runtime, judge, T0).pending, cycle(runtime, judge, T0 + HOUR).queued) == (1, 0)
    fired = cycle(runtime, judge, T0 + 2 * HOUR)
    assert (fired.pending, fired.firing, fired.queued) == (0, 1, 1)


def test_resolve_during_a_silence_is_sent_after_it(engine, httpserver) -> None:
    hook = Receiver(httpserver)
    runtime = make_runtime(engine, webhook_url=hook.url)
    judge = StubJudge(evaluation(Status.MISSED))  # the missed rule has no keep_firing_for
    cycle(runtime, judge, T0)
    deliver(runtime, T0)
    with db.session(engine, write=True) as session:
        silences.set_silence(session, catalog=runtime.catalog, goal=EV, until=T0 + 2 * HOUR, comment=None, now=T0)
    judge.evaluations = [evaluation(Status.ACHIEVED)]
    assert cycle(runtime, judge, T0 + HOUR).queued == 0  # resolved, silenced
    assert cycle(runtime, judge, T0 + 90 * timedelta(minutes=1)).queued == 0  # still silenced
    assert cycle(runtime, judge, T0 + 3 * HOUR).queued == 1
    deliver(runtime, T0 + 3 * HOUR)
    assert [(p["type"], alerts_of(p)[0]["reason"]) for p in hook.delivered()] == [
        ("alert.firing", "first notification"), ("alert.resolved", "resolved")]


def test_prune_keeps_queued_and_dead_rows(engine) -> None:
    with db.session(engine, write=True) as session:
        for state in ("queued", "dead", "sent", "muted", "superseded"):
            row = outbox.enqueue(session, receiver="r", fingerprint=state, subject="goal:g", event="alert.firing",
                                 reason="first notification", body=b"{}", now=T0)
            row.state = state
    with db.session(engine, write=True) as session:
        assert outbox.prune(session, before=T0) == 0
        assert outbox.prune(session, before=T0 + HOUR) == 3
        assert sorted(session.execute(select(OutboxRow.state)).scalars()) == ["dead", "queued"]


def test_a_settled_alert_is_not_rewritten_by_later_cycles(engine) -> None:
    from tracker.store.alert_tables import AlertRow

    runtime = make_runtime(engine)
    cycle(runtime, StubJudge(evaluation(Status.OFF_TRACK)), T0)
    cycle(runtime, StubJudge(evaluation(Status.ON_TRACK)), T0 + 2 * DAY)  # past keep_firing_for

    def rows():  # type: ignore[no-untyped-def]
        with db.session(engine) as session:
            return {(r.rule, r.state, r.updated_at) for r in session.execute(select(AlertRow)).scalars()}

    settled = rows()
    assert {state for _, state, _ in settled} == {"resolved"}
    cycle(runtime, StubJudge(evaluation(Status.ON_TRACK)), T0 + 3 * DAY)
    assert rows() == settled

"""The steady cycle (issue 17): a daemon's cycle that remembers its last write (reused
verdicts keep their alerts' content, dispatch's groups and settled decisions carried over,
notifications drafted before the write lock) writes what a cycle that remembers nothing
writes, step for step: the same alert states, groups, outbox rows and bodies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tests.alerting_helpers import make_runtime
from tests.evalkit import local
from tracker.alerting import dispatch as dispatching
from tracker.alerting.cycle import evaluate_cycle
from tracker.alerting.dispatch import dispatch, dispatch_pass, draft
from tracker.catalog.model import plan_for
from tracker.core.matchers import parse_all
from tracker.store import actuals as store
from tracker.store import db, silences
from tracker.store.alert_tables import AlertContent, as_held

START = local("2026-04-03 09:00")
FIGURES = [("ev_deliveries", "2026-01", "30000"), ("ev_deliveries", "2026-02", "32000"),
           ("ai_generated_lines", "2026-Q1", "0.3"), ("total_code_lines", "2026-Q1", "1.0"),
           ("home_stores", "2026-02", "700")]


def _engine(tmp_path: Path, name: str):  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{tmp_path / name}.db")
    db.ensure_schema(engine)
    return engine


def _record(runtime, metric: str, period: str, value: str, at) -> None:  # type: ignore[no-untyped-def]
    with db.session(runtime.engine, write=True) as session:
        store.record(session, catalog=runtime.catalog, metric=metric, period=period, value=value, now=at, force=True)


def _silence(runtime, goal: str, at) -> None:  # type: ignore[no-untyped-def]
    with db.session(runtime.engine, write=True) as session:
        silences.add_silence(session, matchers=parse_all([f'goal="{goal}"']), until=at + timedelta(hours=3),
                             comment=None, author="test", now=at)


def _state(engine) -> dict:  # type: ignore[no-untyped-def]
    """What a cycle leaves: alert rows (their status object without `evaluated_at`, which
    is when the verdict was judged), groups, outbox rows and bodies, silences."""
    with engine.connect() as connection:
        alerts = [tuple(r) for r in connection.execute(_alerts_as_read())]
        groups = [tuple(r) for r in connection.execute(text(
            "SELECT receiver, group_key, group_id, labels, firing, resolved, first_notified_at, notified_at, reason,"
            " outbox_id FROM alert_groups ORDER BY 1, 2"))]
        sent = [tuple(r) for r in connection.execute(text(
            "SELECT id, receiver, fingerprint, subject, event, reason, body, created_at, state FROM outbox"
            " ORDER BY id"))]
    return {"alerts": alerts, "groups": groups, "outbox": sent}


def _alerts_as_read():  # type: ignore[no-untyped-def]
    """Every alert row with what it says, as readers see it (alert_tables.as_held): the two
    runtimes store a held alert's instants differently (one row moved, or the alert's own)."""
    contents = AlertContent.__table__
    columns = as_held("fingerprint", "subject", "rule", "condition", "severity", "state", "reason", "active_since",
                      "starts_at", "ends_at", "last_held_at", "updated_at", "labels", "last_notified_at",
                      "last_notify_reason")
    return (select(*columns, contents.c.title, contents.c.summary,
                   func.json_remove(contents.c.evaluation, "$.evaluated_at"))
            .join(contents, contents.c.fingerprint == columns[0]).order_by(columns[0]))


def _outcome(result) -> tuple:  # type: ignore[no-untyped-def]
    return (result.pending, result.firing, result.resolved, result.queued, result.waiting, result.next_due,
            result.suppressed)


# (what happens before the cycle, minutes after START)
STEPS = [
    (None, 0), (None, 5), (None, 10),
    (("silence", "ev-deliveries-2026"), 15), (None, 20),
    (("figure", "ev_deliveries", "2026-03", "90000"), 60), (None, 65),
    (None, 4 * 60),  # the silence is over
    (None, 25 * 60),  # a new day: every goal judged again; repeat_interval passed
    (None, 25 * 60 + 5),
    (None, 25 * 60 + 2), (None, 25 * 60 + 6),  # as of an earlier time (`evaluate --at`), then on
    (("figure", "home_stores", "2026-03", "900"), 26 * 60), (None, 4 * 24 * 60),
]


@pytest.mark.parametrize("route", ["per alert", "catalog"])
def test_a_remembering_cycle_writes_what_a_forgetting_one_writes(tmp_path: Path, route: str, monkeypatch):
    """One runtime remembers across cycles (the daemon); the other forgets before each cycle
    (judges and reads everything afresh). Step by step they leave the same rows."""
    from tracker.alerting import cycle

    carried, real = [], cycle._again
    monkeypatch.setattr(cycle, "_again", lambda *a, **k: carried.append(real(*a, **k)) or carried[-1])
    options = {} if route == "per alert" else {"route": None}
    steady = make_runtime(_engine(tmp_path, "steady"), **options)
    fresh = make_runtime(_engine(tmp_path, "fresh"), **options)
    kept_content, plans = 0, []
    for minutes in _step_both(steady, fresh):
        assert _state(steady.engine) == _state(fresh.engine), minutes
        kept_content += _kept(steady.engine)
        plans.append(steady.remembered.alerting.plan)  # kept only when it held alerts again, nothing more
        assert plans[-1] is None or plans[-1].holding or plans[-1].touched, minutes
        assert plans[-1] is None or not [*plans[-1].changed(), *plans[-1].said], minutes
    assert kept_content > 0  # some rows kept the content of a verdict judged in an earlier cycle
    assert _state(steady.engine)["outbox"]  # and notifications went out
    assert any(plan is not None for plan in carried)  # some cycles took the last plan again (_again)
    assert plans[0] is None  # the first cycle created every alert: its rows are not kept


def _step_both(steady, fresh) -> Iterator[int]:  # type: ignore[no-untyped-def]
    """STEPS on both runtimes, `fresh` forgetting before each cycle; yields after each
    cycle (its minutes), the cycles' outcomes checked equal."""
    for runtime in (steady, fresh):
        for figure in FIGURES:
            _record(runtime, *figure, at=START)
    for change, minutes in STEPS:
        now = START + timedelta(minutes=minutes)
        for runtime in (steady, fresh):
            if change and change[0] == "silence":
                _silence(runtime, change[1], now)
            elif change:
                _record(runtime, *change[1:], at=now)
        fresh.remembered.forget()
        assert _outcome(evaluate_cycle(steady, now=now)) == _outcome(evaluate_cycle(fresh, now=now)), minutes
        yield minutes


def _kept(engine) -> int:  # type: ignore[no-untyped-def]
    """Alert rows whose stored status object is older than their last hold (SQLite keeps
    instants as UTC text)."""
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT json_extract(evaluation, '$.evaluated_at'), last_held_at FROM alerts"
                                       " JOIN alert_contents USING (fingerprint)"
                                       " WHERE json_extract(evaluation, '$.evaluated_at') IS NOT NULL")).all()
    return sum(datetime.fromisoformat(judged) < datetime.fromisoformat(held).replace(tzinfo=timezone.utc)
               for judged, held in rows)


def test_a_cycle_after_another_process_wrote_reads_afresh(tmp_path: Path):
    """`tracker evaluate` (another process, nothing remembered) writes alerts between two
    daemon cycles: the daemon's next cycle works from the rows as they are, not from its
    memory, and leaves what two forgetting cycles leave."""
    steady = make_runtime(_engine(tmp_path, "steady"))
    other = make_runtime(steady.engine)
    fresh = make_runtime(_engine(tmp_path, "fresh"))
    for runtime in (steady, fresh):
        for figure in FIGURES:
            _record(runtime, *figure, at=START)
    evaluate_cycle(steady, now=START)
    evaluate_cycle(fresh, now=START)
    for runtime in (other, fresh):  # the other process: a later figure, and its own cycle
        _record(runtime, "ev_deliveries", "2026-03", "90000", at=START + timedelta(minutes=1))
        runtime.remembered.forget()
        evaluate_cycle(runtime, now=START + timedelta(minutes=2))
    for minutes in (5, 6 * 60):
        fresh.remembered.forget()
        assert _outcome(evaluate_cycle(steady, now=START + timedelta(minutes=minutes))) == _outcome(
            evaluate_cycle(fresh, now=START + timedelta(minutes=minutes)))
        assert _state(steady.engine) == _state(fresh.engine)


def test_bodies_drafted_before_the_lock_equal_those_drafted_inside(tmp_path: Path, monkeypatch):
    """The cycle renders its notifications before the write transaction; when they can not
    be used (here: never), the transaction drafts them itself. The rows are the same."""
    outside = make_runtime(_engine(tmp_path, "outside"), route=None)
    inside = make_runtime(_engine(tmp_path, "inside"), route=None)
    for runtime in (outside, inside):
        for figure in FIGURES:
            _record(runtime, *figure, at=START)
    redrafted = []  # dispatch() drafts (inside the transaction) only when the cycle's draft does not stand
    real = dispatching.draft

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        redrafted.append(kwargs.get("lock", False))
        return real(*args, **kwargs)

    monkeypatch.setattr(dispatching, "draft", counted)
    cycles = (0, 1, 5, 25 * 60)
    for minutes in cycles:
        now = START + timedelta(minutes=minutes)
        evaluate_cycle(outside, now=now)
        assert not redrafted
        with monkeypatch.context() as m:
            m.setattr(dispatching.Draft, "stands", lambda self, session: False)
            evaluate_cycle(inside, now=now)
        assert redrafted.pop() is True and not redrafted
        assert _state(outside.engine) == _state(inside.engine)
    assert len(_state(outside.engine)["outbox"]) >= 2  # the first group notification, and the repeat


def test_a_draft_made_before_another_dispatch_wrote_is_made_again(tmp_path: Path):
    """The delivery job's dispatch queues a group's notification after the cycle drafted
    it: the cycle's transaction drafts again and the group is notified once."""
    runtime = make_runtime(_engine(tmp_path, "once"))
    for figure in FIGURES:
        _record(runtime, *figure, at=START)
    evaluate_cycle(runtime, now=START)  # the alerts exist; notified
    later = START + timedelta(days=1, minutes=1)  # repeat_interval passed for every group
    routing, rules = plan_for(runtime.catalog, runtime.settings), runtime.catalog.effective_inhibit_rules()
    with db.session(runtime.engine) as session:
        early = draft(session, plan=routing, inhibit_rules=rules, now=later)
    assert early.result.queued > 0
    before = len(_state(runtime.engine)["outbox"])
    passed = dispatch_pass(runtime, now=later)
    assert passed.queued == early.result.queued
    with db.session(runtime.engine, write=True) as session:
        again = dispatch(session, plan=routing, inhibit_rules=rules, now=later, drafted=early)
    assert again.queued == 0  # drafted again: the groups had just been told
    assert len(_state(runtime.engine)["outbox"]) == before + passed.queued


def _rows(engine) -> dict:  # type: ignore[no-untyped-def]
    """What a cycle leaves, read through the models (any database)."""
    from sqlmodel import select

    from tracker.store.alert_tables import AlertGroup, OutboxRow

    columns = as_held("fingerprint", "state", "reason", "active_since", "starts_at", "ends_at", "last_held_at",
                      "updated_at", "labels", "last_notified_at")
    with db.session(engine) as session:
        alerts = sorted((*a[:8], c.summary, *a[8:]) for *a, c in session.exec(
            select(*columns, AlertContent).where(AlertContent.fingerprint == columns[0])))
        groups = sorted((g.receiver, g.group_key, g.firing, g.resolved, g.notified_at, g.reason)
                        for g in session.exec(select(AlertGroup)))
        sent = [(o.receiver, o.subject, o.event, o.reason, o.body) for o in
                session.exec(select(OutboxRow).order_by(OutboxRow.id))]
    return {"alerts": alerts, "groups": groups, "outbox": sent}


def test_the_steady_cycle_on_either_database(engine, tmp_path: Path):
    """The remembering cycle on SQLite or PostgreSQL against a forgetting one on SQLite."""
    steady = make_runtime(engine, route=None)
    fresh = make_runtime(_engine(tmp_path, "fresh"), route=None)
    for minutes in _step_both(steady, fresh):
        assert _rows(steady.engine) == _rows(fresh.engine), minutes


# (state, active_since minutes before now, for: minutes) -> `still`'s answer, held
STILL = [
    ("firing", 60, 0, "still firing"),
    ("pending", 10, 30, "still pending"),
    ("pending", 30, 30, None),  # for elapsed: it fires
    ("pending", None, 30, "still pending"),
    ("inactive", None, 0, None),
    ("resolved", 60, 0, None),
]


@pytest.mark.parametrize(("state", "since", "for_", "said"), STILL)
def test_still_says_what_step_says_when_only_last_held_at_moves(state, since, for_, said):
    from tracker.core.lifecycle import AlertState, step, still

    now = START
    began = None if since is None else now - timedelta(minutes=since)
    previous = AlertState(state, began, began if state in ("firing", "resolved") else None, None,
                          now - timedelta(minutes=5))
    moved = step(previous, holds=True, for_=timedelta(minutes=for_), keep_firing_for=timedelta(0), now=now)
    assert still(state, began, for_=timedelta(minutes=for_), now=now) == said
    if said is not None:
        assert (moved.reason, moved.state) == (said, AlertState(state, began, previous.starts_at, None, now))


# (the stored status object's evaluated_at, the row's last_held_at) -> the notification's
HELD = [
    ("2026-04-03T09:00:00+00:00", "2026-04-03T09:00:00+00:00", "2026-04-03T09:00:00+00:00"),
    ("2026-04-03T09:00:00+00:00", "2026-04-03T10:05:00+00:00", "2026-04-03T10:05:00+00:00"),
    ("2026-04-03T11:00:00+02:00", "2026-04-03T10:05:00+00:00", "2026-04-03T12:05:00+02:00"),  # its own offset
    ("2026-04-03T11:00:00+02:00", "2026-04-03T09:00:00+00:00", "2026-04-03T11:00:00+02:00"),  # the same instant
    ("2026-04-03T09:00:00", "2026-04-03T10:05:00+00:00", "2026-04-03T09:00:00"),  # no offset: left alone
    (None, "2026-04-03T10:05:00+00:00", None),  # a source's alert has no status object
    ("2026-04-03T09:00:00+00:00", None, "2026-04-03T09:00:00+00:00"),
]


@pytest.mark.parametrize("form", ["planned (an object)", "read (its stored text)"])
@pytest.mark.parametrize(("judged", "held", "said"), HELD)
def test_a_notification_says_when_the_verdict_last_held(judged, held, said, form):
    """As the object a notification carries, and as its native body writes it."""
    import json

    from tracker.delivery.formats import Notice, NoticeAlert, render

    evaluation = {"status": "off_track"} | ({"evaluated_at": judged} if judged else {})
    given = evaluation if form.startswith("planned") else json.dumps(evaluation)
    out = dispatching._status_object(given, None if held is None else datetime.fromisoformat(held))
    assert out.get("evaluated_at") == said and out["status"] == "off_track"
    alert = NoticeAlert(fingerprint="f1", rule="off-track", severity="warning", subject="goal:g", title="G",
                        state="firing", reason="first notification", summary="G: off track", evaluation=out)
    body = render("native", Notice(event="alert.firing", timestamp=START, receiver="r", group_key="{}",
                                   group_labels={}, alerts=(alert,)))
    written = json.loads(body)["data"]["alerts"][0]["evaluation"]
    assert written == {"status": "off_track"} | ({"evaluated_at": said} if said else {})
    assert evaluation.get("evaluated_at") == judged  # the row's object is not changed


LATER, EARLIER = START + timedelta(minutes=5), START - timedelta(minutes=5)
# (told token now, silences now, now, until) -> the settled decisions stand
STANDS = [
    ("t1", (), LATER, START + timedelta(hours=1), True),
    ("t2", (), LATER, START + timedelta(hours=1), False),  # another dispatch wrote
    ("t1", (("s", START, "m"),), LATER, START + timedelta(hours=1), False),  # a silence began or ended
    ("t1", (), START + timedelta(hours=1), START + timedelta(hours=1), False),  # a group's time came
    ("t1", (), LATER, None, True),  # no group waits for a time
    ("t1", (), EARLIER, None, False),  # an earlier instant is decided afresh
]


@pytest.mark.parametrize(("told", "in_force", "now", "until", "stands"), STANDS)
def test_settled_decisions_stand_only_while_nothing_they_read_moved(told, in_force, now, until, stands):
    settled = dispatching.Settled("t1", (), START, until, dispatching.DispatchResult())
    assert settled.stands(told, in_force, now) is stands


def _memory(*, firing: int, pending: int = 0, moved: bool = False, other_reason: bool = False,  # type: ignore[no-untyped-def]
            split: bool = False, marks: bool = True, released: bool = False):
    from tracker.alerting.cycle import AlertPlan, _Memory

    matches = {f"f{k}": object() for k in range(firing)}
    touched = {("still firing", "firing"): sorted(matches)}
    holding = {("still firing", "firing"): touched[("still firing", "firing")][:1]} if split and firing else {}
    if holding:  # some were written, some were marked held before
        touched[("still firing", "firing")] = touched[("still firing", "firing")][1:]
    if other_reason:
        touched[("still pending", "pending")] = []
    last = AlertPlan(7, START, touched=touched, holding=holding, firing=firing, pending=pending,
                     moved_only=[{"fp": "f0"}] if moved else [], marks=marks,
                     released=[{"fp": "f5"}] if released else [])
    return _Memory(catalog=None, version=8, matches={}, content=dict(matches), alerts={}, prepared=None,
                   settled=None, plan=last), matches


# (the last plan, what this cycle holds, carried)
AGAIN = [
    ("all firing, the same matches", {}, "same", True),
    ("nothing held before or now", {"firing": 0}, "same", True),
    ("a pending alert may come due", {"pending": 1}, "same", False),
    ("the last plan moved an alert", {"moved": True}, "same", False),
    ("the last plan held another state", {"other_reason": True}, "same", False),
    ("some written, some marked held before", {"split": True}, "same", True),
    ("the last plan was as of an earlier time", {"marks": False}, "same", False),
    ("the last plan released an alert", {"released": True}, "same", False),
    ("a new match for one alert", {}, "new match", False),
    ("one alert no longer held", {}, "one fewer", False),
    ("one more alert held", {}, "one more", False),
]


@pytest.mark.parametrize(("name", "last", "now_held", "carried"), AGAIN, ids=[a[0] for a in AGAIN])
def test_the_last_plan_is_taken_again_only_when_nothing_else_can_move(name, last, now_held, carried) -> None:
    from tracker.alerting.cycle import _again

    memory, matches = _memory(**{"firing": 3, **last})
    held = dict(matches)
    if now_held == "new match":
        held["f0"] = object()
    elif now_held == "one fewer":
        held.pop("f0")
    elif now_held == "one more":
        held["f9"] = object()
    plan = _again(memory, held, 8, START + timedelta(minutes=5), sqlite=True)  # type: ignore[arg-type]
    assert (plan is not None) is carried
    if plan is not None:
        assert (plan.version, plan.now, plan.firing, plan.pending) == (8, START + timedelta(minutes=5), len(held), 0)
        # Every one is marked held with this reason already: nothing to write but alerts_held.
        assert plan.holding == {("still firing", "firing"): sorted(held)} and not plan.touched and not plan.said
        assert plan.stored == {"created": [], "refreshed": [], "moved_only": [], "released": []}


def test_last_notified_at_of_a_large_notification_is_written_after_the_commit(tmp_path: Path, monkeypatch):
    """Past MARK_LATER alerts told by one notification, SQLite writes their last_notified_at
    after the cycle's transaction (informational: what receivers were told is in
    alert_groups, written in it); the rows end as a cycle writing them inside leaves them."""
    later = make_runtime(_engine(tmp_path, "later"), route=None)
    inside = make_runtime(_engine(tmp_path, "inside"), route=None)
    in_transaction: list[int] = []
    real = dispatching.Draft.write

    def write(self, session):  # type: ignore[no-untyped-def]
        result = real(self, session)
        in_transaction.append(sum(len(fps) for fps, _, _ in result.later))
        return result

    monkeypatch.setattr(dispatching.Draft, "write", write)
    for runtime in (later, inside):
        for figure in FIGURES:
            _record(runtime, *figure, at=START)
    for minutes in (0, 5, 10, 60):
        now = START + timedelta(minutes=minutes)
        monkeypatch.setattr(dispatching, "MARK_LATER", 1)
        evaluate_cycle(later, now=now)
        monkeypatch.setattr(dispatching, "MARK_LATER", 10**6)
        evaluate_cycle(inside, now=now)
        assert _state(later.engine) == _state(inside.engine), minutes
    assert any(in_transaction)  # some notification's marks were left for after the commit
    with later.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alerts WHERE last_notified_at IS NOT NULL")).scalar()

"""The delivery job's dispatch runs only when a group can be due (tracker.service.dispatching):
a pass with nothing due reads no alert row (statements counted on the engine), and a due
group still goes at its moment: group_wait, repeat_interval, a silence that ends or is
expired early, after a cycle, a catalog reload and a change of leader. Injected times, SQLite
and PostgreSQL."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from tests.alerting_helpers import EV, StubJudge, evaluation, make_runtime
from tracker.alerting.cycle import evaluate_cycle
from tracker.alerting.dispatch import DispatchResult
from tracker.core.verdict import Status
from tracker.service.dispatching import DispatchGate, Inputs, schedule_after
from tracker.service.jobs import Units
from tracker.service.metrics import DaemonMetrics
from tracker.store import db, silences

T0 = datetime(2026, 7, 5, tzinfo=timezone.utc)
S = timedelta(seconds=1)
HOOK = "http://hooks.example/kpi"
ROUTE = {"group_wait": 30 * S, "group_interval": 300 * S, "repeat_interval": 3600 * S}
_ALERTS = re.compile(r"\balerts\b", re.IGNORECASE)  # the alerts table, not alert_groups


@contextmanager
def alert_reads(engine):  # type: ignore[no-untyped-def]
    """The statements run on `engine` meanwhile that name the alerts table."""
    found: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if _ALERTS.search(statement):
            found.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def units_for(engine, judge: StubJudge | None = None):  # type: ignore[no-untyped-def]
    runtime = make_runtime(engine, webhook_url=HOOK, route=ROUTE)
    runtime.clock = lambda: T0  # the leader's fence is checked on the runtime's clock
    judge = judge or StubJudge(evaluation(Status.OFF_TRACK))
    units = Units(runtime, DaemonMetrics())
    assert units.leadership.acquire(T0) is not None  # PostgreSQL: take the lease (SQLite: always leads)
    return runtime, judge, units


def test_a_pass_with_nothing_due_reads_no_alert_row_and_the_group_goes_at_group_wait(engine) -> None:
    runtime, judge, units = units_for(engine)
    assert evaluate_cycle(runtime, now=T0, judge=judge).next_due == T0 + 30 * S
    assert units.dispatch(T0 + 5 * S) == 0  # after a cycle: a full pass, which learns the schedule
    for at in (10, 15, 29):
        with alert_reads(engine) as reads:
            assert units.dispatch(T0 + at * S) == 0
        assert reads == [], at
    assert units.gate.skipped == 3
    assert units.dispatch(T0 + 30 * S) == 1  # group_wait over, to the second
    assert units.dispatch(T0 + 35 * S) == 0  # the pass after a notification is a full one
    with alert_reads(engine) as reads:
        assert units.dispatch(T0 + 40 * S) == 0
    assert reads == []


def test_an_unchanged_firing_group_repeats_at_repeat_interval_and_not_before(engine) -> None:
    runtime, judge, units = units_for(engine)
    evaluate_cycle(runtime, now=T0, judge=judge)
    assert units.dispatch(T0 + 30 * S) == 1
    assert units.dispatch(T0 + 35 * S) == 0
    skipped = units.gate.skipped
    assert units.dispatch(T0 + 3629 * S) == 0
    assert units.gate.skipped == skipped + 1
    assert units.dispatch(T0 + 3630 * S) == 1  # repeat_interval after the notification


def test_a_silence_that_ends_makes_its_group_due_at_its_end(engine) -> None:
    runtime, judge, units = units_for(engine)
    with db.session(engine, write=True) as session:
        silences.set_silence(session, catalog=runtime.catalog, goal=EV, until=T0 + 600 * S, comment=None, now=T0)
    evaluate_cycle(runtime, now=T0, judge=judge)
    assert units.dispatch(T0 + 30 * S) == 0  # muted
    with alert_reads(engine) as reads:
        assert units.dispatch(T0 + 599 * S) == 0
    assert reads == []
    assert units.dispatch(T0 + 600 * S) == 1  # the silence ended: sent at once, no cycle needed


def test_a_silence_expired_early_by_another_process_is_seen_at_the_next_pass(engine) -> None:
    runtime, judge, units = units_for(engine)
    with db.session(engine, write=True) as session:
        silence = silences.set_silence(session, catalog=runtime.catalog, goal=EV, until=T0 + 7200 * S, comment=None,
                                       now=T0)
        silence_id = silence.id
    evaluate_cycle(runtime, now=T0, judge=judge)
    assert units.dispatch(T0 + 30 * S) == 0
    assert units.dispatch(T0 + 35 * S) == 0
    with db.session(engine, write=True) as session:  # `tracker silence` elsewhere, no cycle between
        silences.expire(session, silence_id=silence_id, now=T0 + 40 * S)
    assert units.dispatch(T0 + 45 * S) == 1


def test_a_cycle_between_passes_is_seen_at_the_next_pass(engine) -> None:
    runtime, judge, units = units_for(engine)
    evaluate_cycle(runtime, now=T0, judge=judge)
    assert units.dispatch(T0 + 30 * S) == 1
    assert units.dispatch(T0 + 35 * S) == 0
    judge.evaluations.append(evaluation(Status.OFF_TRACK, goal="phone-asp-2026"))  # same business: same group
    assert evaluate_cycle(runtime, now=T0 + 60 * S, judge=judge).next_due == T0 + 330 * S  # group_interval
    with alert_reads(engine) as reads:
        assert units.dispatch(T0 + 65 * S) == 0
    assert reads != []  # the alerts changed: this pass read them, and learned the new due time
    assert units.dispatch(T0 + 329 * S) == 0
    assert units.dispatch(T0 + 330 * S) == 1


def test_a_reloaded_catalog_and_a_new_leader_dispatch_at_their_first_pass(engine) -> None:
    runtime, judge, units = units_for(engine)
    evaluate_cycle(runtime, now=T0, judge=judge)
    units.dispatch(T0 + 5 * S)
    with alert_reads(engine) as reads:
        units.dispatch(T0 + 10 * S)
    assert reads == []
    runtime.catalog = runtime.catalog.model_copy()  # what a reload swaps in
    with alert_reads(engine) as reads:
        units.dispatch(T0 + 15 * S)
    assert reads != []
    gate, dispatched = DispatchGate(), []

    def dispatch() -> DispatchResult:
        dispatched.append(1)
        return DispatchResult(next_due=T0 + 30 * S)

    for term in (1, 1, 2, 2):  # another replica led in between: it may have told the receivers anything
        gate.run(runtime, term=term, now=T0 + 20 * S, dispatch=dispatch)
    assert len(dispatched) == 2


def test_a_failed_dispatch_leaves_no_schedule(engine) -> None:
    runtime, _, _ = units_for(engine)
    gate = DispatchGate()

    def failing() -> DispatchResult:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        gate.run(runtime, term=0, now=T0, dispatch=failing)
    assert gate.run(runtime, term=0, now=T0 + S, dispatch=DispatchResult) is not None


INPUTS = Inputs(None, 0, 1, (0, None), frozenset({("s1", T0 - S, T0 + 50 * S), ("s2", T0 + 20 * S, T0 + 90 * S)}))


@pytest.mark.parametrize(("result", "due"), [
    (DispatchResult(), T0 + 20 * S),  # the second silence starts
    (DispatchResult(next_due=T0 + 10 * S), T0 + 10 * S),
    (DispatchResult(next_repeat=T0 + 5 * S, next_due=T0 + 10 * S), T0 + 5 * S),
    (DispatchResult(queued=1, next_due=T0 + 10 * S), T0),  # a full pass follows a notification
])
def test_the_schedule_is_the_earliest_moment_a_decision_can_change(result: DispatchResult, due: datetime) -> None:
    assert schedule_after(INPUTS, result, at=T0).due == due


def test_without_silences_or_waiting_groups_nothing_is_ever_due() -> None:
    assert schedule_after(Inputs(None, 0, 1, (0, None), frozenset()), DispatchResult(), at=T0).due is None

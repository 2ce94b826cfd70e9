"""tracker.core.heap: the cyclic collector is paused inside and left as it was found after;
goals are judged, and a cycle runs, with it paused."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import nullcontext

import pytest

from tests.alerting_helpers import make_runtime, record
from tests.evalkit import local
from tracker.alerting import cycle
from tracker.core.heap import collector_paused
from tracker.store import db, judging
from tracker.store.judging import Remembered


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generations of the collections that start while the test runs."""
    started: list[int] = []

    def seen(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.callbacks.append(seen)
    enabled = gc.isenabled()
    try:
        yield started
    finally:
        gc.callbacks.remove(seen)
        gc.enable() if enabled else gc.disable()


def spying(step, states: list[bool]):  # type: ignore[no-untyped-def]
    """`step`, noting whether the collector is enabled each time it is called."""
    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        states.append(gc.isenabled())
        return step(*args, **kwargs)
    return spy


@pytest.mark.parametrize("before", [True, False])
@pytest.mark.parametrize("fails", [False, True])
def test_the_collector_is_off_inside_and_as_it_was_after(collections: list[int], before: bool, fails: bool) -> None:
    gc.enable() if before else gc.disable()
    inside = []
    with pytest.raises(RuntimeError) if fails else nullcontext():
        with collector_paused():
            inside.append(gc.isenabled())
            if fails:
                raise RuntimeError("inside")
    assert inside == [False]
    assert gc.isenabled() is before


def test_a_nested_pause_does_not_end_the_outer_one(collections: list[int]) -> None:
    gc.enable()
    with collector_paused():
        with collector_paused():
            pass
        assert not gc.isenabled()
        garbage = [[] for _ in range(10_000)]  # well past generation 0's threshold of 700
        del garbage
        assert collections == []
    assert gc.isenabled()


@pytest.mark.parametrize("remembered", [None, Remembered()])
def test_goals_are_judged_with_the_collector_paused(engine, catalog, monkeypatch, remembered) -> None:  # type: ignore[no-untyped-def]
    record(engine, catalog, "ev_deliveries", "2026-09", "40000", local("2026-10-01 09:00"))
    states: list[bool] = []
    monkeypatch.setattr(judging, "evaluate_goals", spying(judging.evaluate_goals, states))
    gc.enable()
    with db.session(engine) as session:
        judged = judging.evaluate_from_db(session, catalog=catalog, now=local("2026-10-05 09:00"), remembered=remembered)
    assert states and not any(states)
    assert gc.isenabled()
    assert {e.goal for e in judged} == {goal.id for goal in catalog.goals}


def test_a_cycle_plans_and_writes_its_alerts_with_the_collector_paused(engine, catalog, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    record(engine, catalog, "ev_deliveries", "2026-09", "1000", local("2026-10-01 09:00"))
    states: list[bool] = []
    for step in ("plan_alerts", "update_alerts", "draft", "dispatch"):
        monkeypatch.setattr(cycle, step, spying(getattr(cycle, step), states))
    gc.enable()
    result = cycle.evaluate_cycle(make_runtime(engine), now=local("2026-10-05 09:00"))
    assert states == [False, False, False, False]
    assert gc.isenabled()
    assert result.firing > 0  # the cycle did its work: 1,000 deliveries in September is far off track


def test_tracker_status_judges_and_writes_with_the_collector_paused(sqlite_url, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import CATALOG
    from tracker.cli import status

    for name, value in {"TRACKER_DATABASE_URL": sqlite_url, "TRACKER_CONFIG": str(CATALOG),
                        "XDG_CACHE_HOME": str(tmp_path / "cache")}.items():
        monkeypatch.setenv(name, value)
    states: list[bool] = []
    monkeypatch.setattr(status, "write_json", spying(status.write_json, states))
    gc.enable()
    status.status(at="2026-10-05T09:00", known_at=None, as_json=True)
    assert states == [False]
    assert gc.isenabled()
    assert '"goal": "ev-deliveries-2026"' in capsys.readouterr().out

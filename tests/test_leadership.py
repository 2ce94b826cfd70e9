"""The leadership lease: one holder at a time, replaced within the TTL, fenced by term."""

import threading
from datetime import timedelta

import pytest

from tests.conftest import NOW
from tracker.store import db, leadership

TTL = timedelta(seconds=30)


def _acquire(engine, holder, at, ttl=TTL):
    with db.session(engine, write=True) as session:
        return leadership.acquire(session, name="evaluator", holder=holder, ttl=ttl, now=at)


# Each step: (who asks, seconds after NOW, the term they get or None)
SCENARIOS = {
    "first comer leads": [("a", 0, 1), ("b", 1, None)],
    "holder renews in the same term": [("a", 0, 1), ("a", 20, 1), ("b", 40, None), ("a", 45, 1)],
    "a dead leader is replaced after its TTL": [("a", 0, 1), ("b", 29, None), ("b", 30, 2), ("a", 31, None)],
    "the old leader comes back in a new term": [("a", 0, 1), ("b", 31, 2), ("a", 62, 3)],
}


@pytest.mark.parametrize("steps", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_lease_scenarios(engine, steps):
    for holder, seconds, term in steps:
        assert _acquire(engine, holder, NOW + timedelta(seconds=seconds)) == term, (holder, seconds)


def test_holds_is_false_after_takeover(engine):
    term = _acquire(engine, "a", NOW)
    with db.session(engine, write=True) as session:
        assert leadership.holds(session, name="evaluator", holder="a", term=term, now=NOW + timedelta(seconds=5))
    assert _acquire(engine, "b", NOW + timedelta(seconds=31)) == 2
    with db.session(engine, write=True) as session:
        assert not leadership.holds(session, name="evaluator", holder="a", term=term, now=NOW + timedelta(seconds=32))
        assert session.get(leadership.Lease, "evaluator").holder == "b"


def test_release_lets_a_successor_in_at_once(engine):
    _acquire(engine, "a", NOW)
    with db.session(engine, write=True) as session:
        leadership.release(session, name="evaluator", holder="a")
    assert _acquire(engine, "b", NOW + timedelta(seconds=1)) == 1


def test_racing_replicas_elect_exactly_one(engine):
    winners: list[str] = []
    barrier = threading.Barrier(6)

    def contend(name: str) -> None:
        barrier.wait()
        if _acquire(engine, name, NOW) is not None:
            winners.append(name)

    threads = [threading.Thread(target=contend, args=(f"r{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(winners) == 1

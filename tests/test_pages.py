"""The daemon's pages (tracker.service.pages): rendered once per cycle on one worker thread,
charts only for the goals that need attention, one goal's chart on demand, a cache that
draws a goal again only when its inputs changed, and a stop that waits for the chart in hand."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date

import pytest

from tests import polling
from tests.conftest import CATALOG
from tests.reportkit import AS_OF
from tests.test_report import cards, rows
from tests.test_report_cli import sampled  # noqa: F401 (a fixture)
from tracker.core.verdict import Evaluation, Status
from tracker.views import report


def verdict(goal: str, status: Status, *, stale: bool = False, attainment: float | None = None) -> Evaluation:
    return Evaluation(goal=goal, title=goal, kind="cumulative", period_start=date(2026, 1, 1),
                      period_end=date(2027, 1, 1), status=status, evaluated_at=AS_OF, stale=stale,
                      projected_attainment=attainment)


S = Status


@pytest.mark.parametrize(
    ("given", "cap", "charted"),
    [
        pytest.param([("a", S.ON_TRACK, False), ("b", S.ACHIEVED, False), ("c", S.NO_DATA, False)], 24, [],
                     id="nothing-needs-attention"),
        pytest.param([("a", S.ON_TRACK, False), ("b", S.AT_RISK, False), ("c", S.OFF_TRACK, False),
                      ("d", S.MISSED, False)], 24, ["d", "c", "b"], id="bad-statuses-worst-first"),
        pytest.param([("a", S.ON_TRACK, True), ("b", S.NO_DATA, True), ("c", S.ACHIEVED, False)], 24, ["b", "a"],
                     id="stale-needs-attention-whatever-the-status"),
        pytest.param([(f"g{i}", S.OFF_TRACK, False) for i in range(5)], 3, ["g0", "g1", "g2"], id="capped"),
        pytest.param([("a", S.AT_RISK, False)], 0, [], id="cap-zero"),
    ],
)
def test_charts_go_to_the_goals_that_need_attention_worst_first_up_to_the_cap(given, cap, charted):
    evaluations = [verdict(goal, status, stale=stale) for goal, status, stale in given]
    assert [e.goal for e in report.to_chart(evaluations, cap)] == charted


@pytest.fixture
def runtime(sampled, sqlite_url):  # type: ignore[no-untyped-def]  # noqa: F811
    from tracker.catalog.settings import Settings
    from tracker.store.runtime import Runtime

    runtime = Runtime(Settings(database_url=sqlite_url, config=CATALOG), clock=lambda: AS_OF)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def judged(runtime):  # type: ignore[no-untyped-def]
    from tracker.store import db
    from tracker.store.judging import evaluate_from_db

    with db.session(runtime.engine) as session:
        return evaluate_from_db(session, catalog=runtime.catalog, now=AS_OF)


class Counting:
    """The real drawing (in a child process), counted, with the name of the thread that asked."""

    def __init__(self) -> None:
        self.goals: list[str] = []
        self.threads: set[str] = set()

    def __call__(self, charts):  # type: ignore[no-untyped-def]
        from tracker.service.pages import draw_in_child

        self.goals.extend(chart.salt for chart in charts)
        self.threads.add(threading.current_thread().name)
        return draw_in_child(charts)


@pytest.fixture
def pages(runtime):  # type: ignore[no-untyped-def]
    from tracker.service.pages import Pages

    made = []

    def make(**options):  # type: ignore[no-untyped-def]
        made.append(Pages(runtime, **options).start())
        return made[-1]

    yield make
    for one in made:
        assert one.stop()


def settled(pages, renders: int = 1):  # type: ignore[no-untyped-def]
    polling.wait_for(lambda: pages.renders >= renders and not pages.busy(), "the worker to render", deadline=180)


def test_the_page_lists_every_goal_and_charts_those_that_need_attention(pages, judged, catalog):
    draw = Counting()
    store = pages(draw=draw)
    store.publish(AS_OF, judged)
    settled(store)
    status, content_type, body = store.page()
    page = body.decode()
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert set(rows(page)) == {goal.id for goal in catalog.goals}
    attention = [e.goal for e in report.to_chart(judged)]
    assert attention and list(cards(page)) == attention
    assert sorted(draw.goals) == sorted(attention) and draw.threads == {"render"}
    for e in judged:  # the rest link to their chart on demand
        assert (f'href="#goal-{e.goal}"' if e.goal in attention else f'href="goals/{e.goal}"') in rows(page)[e.goal]
    assert "As of 2026-07-05 08:00 (Asia/Shanghai)" in page


def test_a_cycle_with_the_same_verdicts_draws_nothing_and_a_changed_goal_alone_is_redrawn(pages, judged):
    draw = Counting()
    store = pages(draw=draw)
    store.publish(AS_OF, judged)
    settled(store)
    first = list(draw.goals)
    store.publish(AS_OF, judged)
    settled(store, renders=2)
    assert draw.goals == first  # nothing drawn again
    changed = report.to_chart(judged)[0]
    moved = [replace(e, projected=(e.projected or 0) + 1) if e.goal == changed.goal else e for e in judged]
    store.publish(AS_OF, moved)
    settled(store, renders=3)
    assert draw.goals == [*first, changed.goal]


def test_the_cap_bounds_the_charts_drawn(pages, judged):
    draw = Counting()
    store = pages(draw=draw, cap=2)
    store.publish(AS_OF, judged)
    settled(store)
    assert list(cards(store.page()[2].decode())) == [e.goal for e in report.to_chart(judged)][:2]
    assert len(draw.goals) == 2


def test_one_goal_is_drawn_on_demand_by_the_worker_and_kept(pages, judged):
    draw = Counting()
    store = pages(draw=draw)
    store.publish(AS_OF, judged)
    settled(store)
    calm = next(e for e in judged if not report.needs_attention(e))
    before = len(draw.goals)
    status, _, body = store.goal(calm.goal, wait=180)
    assert status == 200 and cards(body.decode()).keys() == {calm.goal}
    assert body.decode().count("<svg") == 1 and 'href="../"' in body.decode()
    assert store.goal(calm.goal)[2] == body  # the second time from the cache
    assert draw.goals[before:] == [calm.goal] and draw.threads == {"render"}


def test_an_unknown_goal_is_404_and_before_the_first_cycle_the_pages_say_so(pages, judged):
    store = pages()
    status, _, body = store.page()
    assert status == 200 and b"has not finished yet" in body and b'http-equiv="refresh"' in body
    assert store.goal("ev-deliveries-2026")[0] == 503
    store.publish(AS_OF, judged)
    settled(store)
    assert store.goal("no-such-goal")[:2] == (404, "text/plain; charset=utf-8")


def test_without_a_cycle_the_worker_judges_on_demand(pages, catalog):
    store = pages(judge_on_demand=True)
    status, _, body = store.page(wait=180)
    assert status == 200 and set(rows(body.decode())) == {goal.id for goal in catalog.goals}


def test_a_cycle_that_did_not_judge_here_has_the_worker_judge(pages, catalog):
    """A replica that does not lead skips its cycles: its page is judged on the worker."""
    store = pages()
    store.publish(AS_OF, None)
    settled(store)
    assert set(rows(store.page()[2].decode())) == {goal.id for goal in catalog.goals}


def test_stop_ends_the_drawing_child_at_once(pages, judged, runtime):
    from tracker.service import pages as module

    children = []

    def watched(charts, *, started):  # type: ignore[no-untyped-def]
        return real(charts, started=lambda child: (children.append(child), started(child)))

    real, module.draw_in_child = module.draw_in_child, watched
    try:
        store = module.Pages(runtime).start()
        store.publish(AS_OF, judged)
        polling.wait_for(lambda: children, "the child to start", deadline=120)
        assert store.stop()
    finally:
        module.draw_in_child = real
    assert children[0].wait(10) != 0 and store.renders == 0  # ended, not left drawing


def test_stop_lets_the_chart_in_hand_finish_and_abandons_the_rest(pages, judged):
    started, go = threading.Event(), threading.Event()
    drawn: list[str] = []

    def slow(charts):  # type: ignore[no-untyped-def]
        started.set()
        assert go.wait(30)
        drawn.extend(chart.salt for chart in charts)
        return [report.draw(chart) for chart in charts]

    store = pages(draw=slow)
    store.publish(AS_OF, judged)
    assert started.wait(30)
    stopped: list[bool] = []
    stopper = threading.Thread(target=lambda: stopped.append(store.stop()))
    stopper.start()
    polling.wait_for(lambda: store._stopping, "stop to be asked")
    assert stopped == []  # the worker is still inside its chart
    go.set()
    stopper.join(30)
    assert stopped == [True] and drawn  # the batch in hand finished; no page was made of it
    assert store.renders == 0 and b"has not finished yet" in store.page()[2]


def test_the_web_serves_both_pages_from_the_store(pages, judged):
    import httpx

    from tracker.service.web import App, Server

    store = pages(goal_wait=180)  # a shared machine under load is slow to start the drawing child
    store.publish(AS_OF, judged)
    settled(store)

    class State:
        pass

    state = State()
    state.pages = store  # type: ignore[attr-defined]
    server = Server(App(state), "127.0.0.1", 0).start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=180) as client:
            home = client.get("/")
            assert home.status_code == 200 and home.content == store.page()[2]
            one = client.get("/goals/home-stores-2026")
            assert one.status_code == 200 and list(cards(one.text)) == ["home-stores-2026"]
            assert client.get("/goals/nope").status_code == 404
    finally:
        server.stop()


@pytest.mark.slow
def test_sigterm_during_a_render_stops_the_daemon_cleanly(sampled, sqlite_url, tmp_path):  # noqa: F811
    """A real `tracker run` (tests/render_harness.py holds its first chart until the signal
    has been sent): SIGTERM while the worker is drawing exits 0, after the chart in hand."""
    import os
    import signal
    import subprocess
    import sys

    from tests.conftest import ROOT
    from tests.test_daemon_e2e import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(PYTHONPATH=str(ROOT), TRACKER_DATABASE_URL=sqlite_url, TRACKER_CONFIG=str(CATALOG),
               TRACKER_HTTP_PORT=str(free_port()), TRACKER_LOG_FORMAT="json")
    log = tmp_path / "daemon.log"
    with log.open("wb") as sink:
        daemon = subprocess.Popen([sys.executable, "-m", "tests.render_harness", str(tmp_path)], env=env,
                                  cwd=ROOT, stdout=sink, stderr=sink)
    try:
        polling.wait_for(lambda: (tmp_path / "render-started").exists() or daemon.poll() is not None,
                         "the first chart to begin", deadline=60)
        assert daemon.poll() is None, log.read_text()
        daemon.send_signal(signal.SIGTERM)
        polling.wait_for(lambda: "stopping: finishing the job in hand" in log.read_text(), "the stop to begin")
        (tmp_path / "signalled").write_text("")
        status = daemon.wait(timeout=60)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    text = log.read_text()
    assert status == 0, text
    assert "terminate called" not in text and '"daemon stopped"' in text

"""The daemon's pages, drawn by one worker thread from the last evaluation cycle's verdicts.

`/` is the report as of the last cycle: every goal listed, charts for those that need
attention (tracker.views.report.to_chart). The cycle hands its evaluations over (`publish`,
which only stores a reference and wakes the worker); the worker reads those goals' actuals,
draws the charts whose inputs changed and renders the page once; requests get the bytes.
`/goals/{id}` draws one goal's chart on demand, also on the worker: the request thread waits
for it, it never draws. The worker itself has the charts drawn by a child process
(tracker.views.chartworker), one per batch: matplotlib never enters the daemon (about 45 MB
it would keep for good), the scheduler's and the server's threads never run it, a page
request never judges the catalog, and at shutdown `stop()` ends the child and joins the
worker (a process exiting while one of its threads is inside matplotlib's C++ aborts:
"terminate called without an active exception").

Charts are kept by goal with the inputs they were drawn from: the page's own (all of them,
however many the cap allows) plus the `recent` goals drawn on demand. A goal whose inputs
did not change since the last cycle is not drawn again.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tracker.service import logs, memory
from tracker.store import db
from tracker.views import report

if TYPE_CHECKING:
    from tracker.catalog.model import Catalog
    from tracker.core.verdict import Evaluation
    from tracker.store.runtime import Runtime

Page = tuple[int, str, bytes]
HTML = "text/html; charset=utf-8"
FIRST_CYCLE = "The first evaluation since the daemon started has not finished yet; this page reloads itself."


@dataclass(frozen=True)
class Snapshot:
    """One cycle's verdicts, as the pages show them."""

    catalog: Catalog
    now: datetime
    evaluations: tuple[Evaluation, ...]
    by_goal: dict[str, Evaluation]


class Pages:
    """The page store and its render worker. `judge_on_demand`: with no cycle to publish
    (a replica that does not lead, or a web app run on its own), the worker judges the
    catalog itself when a page is asked for and none has been published."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        cap: int = report.CHART_CAP,
        recent: int = 256,
        judge_on_demand: bool = False,
        goal_wait: float = 20.0,
        draw: Callable[[Sequence[report.Chart]], list[str]] | None = None,
    ) -> None:
        self.runtime = runtime
        self.cap = cap
        self.recent = recent
        self.judge_on_demand = judge_on_demand
        self.goal_wait = goal_wait  # how long a request for one goal's page waits for its chart
        self.draw = draw  # None: in a child process (draw_in_child)
        self._child: subprocess.Popen[bytes] | None = None
        self.drawn = 0  # charts drawn since start (the rest came from the cache)
        self.renders = 0  # pages rendered since start
        self._cv = threading.Condition()
        self._pending: Snapshot | None = None  # published, not rendered yet
        self._judge_wanted = False
        self._requests: deque[tuple[str, Future[Page]]] = deque()
        self._stopping = False
        self._snapshot: Snapshot | None = None  # the one `/` shows
        self._page: bytes | None = None
        self._page_charts: dict[str, tuple[report.Chart, str]] = {}
        self._recent: OrderedDict[str, tuple[report.Chart, str]] = OrderedDict()
        self._thread = threading.Thread(target=self._work, name="render", daemon=True)

    # -- what the cycle and the requests call -----------------------------------------------
    def start(self) -> Pages:
        self._thread.start()
        return self

    def publish(self, now: datetime, evaluations: Sequence[Evaluation] | None) -> None:
        """A cycle's verdicts (None: this process did not judge, e.g. a replica that does not
        lead). Cheap: the drawing happens on the worker."""
        with self._cv:
            if evaluations is None:
                self._judge_wanted = True
            else:
                self._pending = _snapshot(self.runtime.catalog, now, evaluations)
            self._cv.notify()

    def page(self, wait: float = 30.0) -> Page:
        """`/`: the last rendered page, at once (judging on demand, up to `wait` seconds)."""
        if self._page is None and self.judge_on_demand:
            self._want_judgement()
            self._rendered(wait)
        page = self._page
        if page is None:
            catalog = self.runtime.catalog
            text = report.waiting_page(catalog, now=self.runtime.now(), message=FIRST_CYCLE)
            return 200, HTML, text.encode("utf-8")
        return 200, HTML, page

    def goal(self, goal_id: str, wait: float | None = None) -> Page:
        """`/goals/{id}`: one goal's card and chart, drawn on the worker; 503 when it cannot be
        drawn within `wait` seconds (the worker is busy, or no cycle has finished yet)."""
        if self._snapshot is None and self.judge_on_demand:
            self._want_judgement()
            self._rendered(self.goal_wait if wait is None else wait)
        snapshot = self._snapshot
        if snapshot is None:
            return 503, "text/plain; charset=utf-8", (FIRST_CYCLE.split(";")[0] + "\n").encode()
        if goal_id not in snapshot.by_goal:
            return 404, "text/plain; charset=utf-8", f"no goal {goal_id!r}\n".encode()
        answer: Future[Page] = Future()
        with self._cv:
            if self._stopping:
                return 503, "text/plain; charset=utf-8", b"stopping\n"
            self._requests.append((goal_id, answer))
            self._cv.notify()
        try:
            return answer.result(timeout=self.goal_wait if wait is None else wait)
        except TimeoutError:
            answer.cancel()
            return 503, "text/plain; charset=utf-8", b"busy drawing: try again shortly\n"
        except CancelledError:  # the daemon is stopping
            return 503, "text/plain; charset=utf-8", b"stopping\n"

    def stop(self, timeout: float = 30.0) -> bool:
        """Ends the drawing child (its batch is abandoned, the last page stays) and then the
        worker, after the step in hand; True when the worker has ended."""
        with self._cv:
            self._stopping = True
            for _, answer in self._requests:
                answer.cancel()
            self._requests.clear()
            self._cv.notify()
            if self._child is not None and self._child.poll() is None:
                self._child.terminate()  # the batch in hand is abandoned
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def busy(self) -> bool:
        """Work waits for the worker (for tests and benchmarks that wait for a page)."""
        with self._cv:
            return self._pending is not None or self._judge_wanted or bool(self._requests)

    # -- the worker -----------------------------------------------------------------------------
    def _want_judgement(self) -> None:
        with self._cv:
            if self._pending is None:
                self._judge_wanted = True
                self._cv.notify()

    def _rendered(self, wait: float) -> None:
        end = time.monotonic() + wait
        while self._page is None and time.monotonic() < end and self._thread.is_alive():
            time.sleep(0.01)

    def _work(self) -> None:
        log = logs.get("tracker.pages")
        while True:
            with self._cv:
                while not (self._stopping or self._pending or self._judge_wanted or self._requests):
                    self._cv.wait()
                if self._stopping:
                    return
                pending, self._pending = self._pending, None
                judge, self._judge_wanted = self._judge_wanted and pending is None, False
                request = self._requests.popleft() if self._requests and not (pending or judge) else None
            try:
                if judge:
                    pending = self._judge()
                if pending is not None:
                    self._render(pending, log)
                elif request is not None:
                    self._answer(*request)
            except Exception:  # the worker outlives a bad page: log it, keep the last good one
                if self._stopping:
                    return  # the child was ended on purpose
                log.exception("page render failed")
                if request is not None and not request[1].done():
                    request[1].set_result((500, "text/plain; charset=utf-8", b"internal error\n"))

    def _judge(self) -> Snapshot:
        from tracker.store.judging import evaluate_from_db  # heavy, on demand

        catalog, now = self.runtime.catalog, self.runtime.now()
        with db.session(self.runtime.engine) as session:
            evaluations = evaluate_from_db(session, catalog=catalog, now=now)
        return _snapshot(catalog, now, evaluations)

    def _render(self, snapshot: Snapshot, log: Any) -> None:
        started = time.perf_counter()
        chosen = report.to_chart(snapshot.evaluations, self.cap)
        log.info("page render started", goals=len(snapshot.evaluations), charts=len(chosen))
        charts = self._charts(snapshot, chosen)
        found = {goal_id: self._cached(goal_id, chart) for goal_id, chart in charts.items()}
        missing = [goal_id for goal_id, svg in found.items() if svg is None]
        if self._stopping:
            return  # the page in hand is abandoned; the last one stays
        found.update(zip(missing, self._draw([charts[goal_id] for goal_id in missing])))
        if self._stopping:
            return
        kept = {goal_id: (chart, found[goal_id]) for goal_id, chart in charts.items()}
        drawn = len(missing)
        html = report.page(snapshot.catalog, snapshot.evaluations, {g: svg for g, (_, svg) in kept.items()},
                           now=snapshot.now, goal_link=lambda goal_id: f"goals/{goal_id}", cap=self.cap)
        self._page_charts = kept  # charts of goals no longer on the page go (or stay in `recent`)
        self._snapshot = snapshot
        self._page = html.encode("utf-8")
        self.drawn += drawn
        self.renders += 1
        del html, charts
        memory.give_back()  # the drawing's and rendering's garbage
        log.info("page rendered", seconds=round(time.perf_counter() - started, 3), drawn=drawn,
                 cached=len(kept) - drawn, bytes=len(self._page))

    def _answer(self, goal_id: str, answer: Future[Page]) -> None:
        if not answer.set_running_or_notify_cancel():
            return  # the request gave up waiting
        snapshot = self._snapshot
        assert snapshot is not None  # a request is queued only once a page exists
        evaluation = snapshot.by_goal[goal_id]
        chart = self._charts(snapshot, [evaluation]).get(goal_id)
        if chart is None:  # gone from the catalog since the cycle
            answer.set_result((404, "text/plain; charset=utf-8", f"no goal {goal_id!r}\n".encode()))
            return
        svg = self._cached(goal_id, chart)
        if svg is None:
            (svg,) = self._draw([chart])
            self.drawn += 1
            self._recent[goal_id] = (chart, svg)
            while len(self._recent) > self.recent:
                self._recent.popitem(last=False)
        text = report.goal_page(snapshot.catalog, evaluation, svg, now=snapshot.now)
        answer.set_result((200, HTML, text.encode("utf-8")))

    def _draw(self, charts: list[report.Chart]) -> list[str]:
        if not charts:
            return []
        if self.draw is not None:
            return self.draw(charts)
        return draw_in_child(charts, started=self._started)

    def _started(self, child: subprocess.Popen[bytes]) -> None:
        with self._cv:
            self._child = child
            if self._stopping:
                child.terminate()

    def _charts(self, snapshot: Snapshot, evaluations: Sequence[Evaluation]) -> dict[str, report.Chart]:
        with db.session(self.runtime.engine) as session:
            return report.charts_from_db(session, catalog=snapshot.catalog, evaluations=evaluations, now=snapshot.now)

    def _cached(self, goal_id: str, chart: report.Chart) -> str | None:
        for store in (self._page_charts, self._recent):
            found = store.get(goal_id)
            if found is not None and found[0] == chart:
                if store is self._recent:
                    self._recent.move_to_end(goal_id)
                return found[1]
        return None


def draw_in_child(charts: Sequence[report.Chart], *, started: Callable[[Any], None] = lambda child: None) -> list[str]:
    """The charts' SVG texts, drawn by a child process (tracker.views.chartworker)."""
    child = subprocess.Popen([sys.executable, "-m", "tracker.views.chartworker"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    started(child)
    out, err = child.communicate(pickle.dumps(list(charts)))
    if child.returncode != 0:
        reason = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {child.returncode}"]
        raise RuntimeError(f"chart worker failed: {reason[0]}")
    return pickle.loads(out)  # our own child's answer: trusted


def _snapshot(catalog: Catalog, now: datetime, evaluations: Sequence[Evaluation]) -> Snapshot:
    ordered = tuple(evaluations)
    return Snapshot(catalog, now, ordered, {e.goal: e for e in ordered})

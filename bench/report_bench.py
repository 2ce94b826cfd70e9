"""Report and `/` benchmark at 1,000 and 10,000 goals (bench/bigcatalog.py: 100 monthly
actuals a goal), given an evaluated state: the verdicts of one evaluate_from_db, the baseline
measured in the same run, as the daemon's pages are drawn from its last cycle.

    python3 bench/report_bench.py [--goals 1000 10000] [--rounds 3] [--cycles 3] [--cycle-goals 300]

Per size, in interleaved rounds (median, and the spread min-max):
- page: what `tracker report` does after judging: reads the actuals of the goals it charts,
  draws their charts, renders every goal's row; seconds, bytes, and the ratio to the evaluation;
- `/` render: the daemon's worker after a cycle, cold (a new store: every chart drawn) and warm
  (the same verdicts again: nothing drawn);
- GET `/`: the page served by the daemon's HTTP server, against the same bytes from a bare
  WSGI app on the same server (the floor);
- `tracker report` as a whole process once (it judges too, so the evaluation's own cost is in
  it): seconds, peak RSS, file size, and whether every goal is in it; then once more beside a
  daemon, with the verdicts its cycle stores for the same actuals (tracker.store.verdicts).
Then, at --cycle-goals (300), evaluation cycles (tracker.alerting.cycle) with and without a
client in another process asking for `/` and `/goals/{id}` of random goals meanwhile.
Targets: `tracker report` at 10,000 goals under 15 s and 10 MB; `/` under 2 s; a cycle beside
page requests within the noise of a quiet one.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bigcatalog
import httpx

from tracker.catalog.model import load_catalog
from tracker.catalog.settings import Settings
from tracker.service.pages import Pages
from tracker.service.web import App, Server
from tracker.store import db
from tracker.store.judging import Remembered, evaluate_from_db
from tracker.store.runtime import Runtime
from tracker.views import report

NOW = bigcatalog.NOW

CLIENT = """
import random, sys, httpx, pathlib
base, goals, stop = sys.argv[1], int(sys.argv[2]), pathlib.Path(sys.argv[3])
rnd, n = random.Random(3), 0
with httpx.Client(base_url=base, timeout=60) as client:
    while not stop.exists():
        client.get("/"); client.get(f"/goals/g{rnd.randrange(goals):05d}"); n += 2
print(n)
"""


def spread(values: list[float], unit: str = "s", scale: float = 1.0) -> str:
    v = [x * scale for x in values]
    return f"{statistics.median(v):.3f} {unit} ({min(v):.3f}-{max(v):.3f})"


def settle(pages: Pages, renders: int) -> None:
    while pages.renders < renders or pages.busy():
        time.sleep(0.005)


def whole_process(folder: Path, url: str, catalog_path: Path, goals: int) -> tuple[float, float, int, bool]:
    """`tracker report --out` as a user runs it: (seconds, peak RSS MB, bytes, every goal in it)."""
    out = folder / "report.html"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(PYTHONPATH=str(ROOT), TRACKER_DATABASE_URL=url, TRACKER_CONFIG=str(catalog_path))
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "tracker", "report", "--at", NOW.isoformat(), "--out", str(out)],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    assert status == 0, child.stderr.read().decode() if child.stderr else status
    text = out.read_text(encoding="utf-8")
    listed = len(set(re.findall(r'id="row-(g\d+)"', text))) == goals
    return seconds, usage.ru_maxrss / 1024, len(text.encode()), listed


def store_verdicts(url: str, catalog, goals: int) -> int:  # type: ignore[no-untyped-def]
    """What a daemon's cycle leaves in the verdicts table for these actuals at NOW."""
    engine = db.make_engine(url)
    remembered = Remembered()
    with db.session(engine) as session:
        evaluate_from_db(session, catalog=catalog, now=NOW, remembered=remembered)
    saved = remembered.save(engine)
    engine.dispose()
    return saved


def run(goals: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url, catalog_path = bigcatalog.database(folder, goals)
        catalog = load_catalog(catalog_path)
        runtime = Runtime(Settings(database_url=url, config=catalog_path), clock=lambda: NOW)
        runtime.__dict__["catalog"] = catalog
        runtime.engine  # noqa: B018 - migrates and records the zone (a one-off re-derivation of every bound) untimed
        started = time.perf_counter()
        with db.session(runtime.engine) as session:
            evaluations = evaluate_from_db(session, catalog=catalog, now=NOW)
        evaluation = time.perf_counter() - started
        attention = sum(1 for e in evaluations if report.needs_attention(e))
        state = type("State", (), {})()
        server = Server(App(state), "127.0.0.1", 0).start()
        page_s, cold_s, warm_s, get_s, floor_s, sizes = [], [], [], [], [], []
        try:
            client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=60)
            for _ in range(rounds):
                started = time.perf_counter()
                with db.session(runtime.engine) as session:
                    charts = report.charts_from_db(session, catalog=catalog, evaluations=report.to_chart(evaluations),
                                                   now=NOW)
                    text = report.page(catalog, evaluations, {g: report.draw(c) for g, c in charts.items()}, now=NOW)
                page_s.append(time.perf_counter() - started)
                sizes.append(len(text.encode()))

                pages = Pages(runtime).start()
                state.pages = pages
                started = time.perf_counter()
                pages.publish(NOW, evaluations)
                settle(pages, 1)
                cold_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                pages.publish(NOW, evaluations)
                settle(pages, 2)
                warm_s.append(time.perf_counter() - started)
                assert pages.drawn == len(report.to_chart(evaluations))  # the warm render drew nothing

                body = pages.page()[2]
                times, floors = [], []
                for _ in range(5):
                    started = time.perf_counter()
                    assert client.get("/").content == body
                    times.append(time.perf_counter() - started)
                    state.pages = _Static(body)
                    started = time.perf_counter()
                    client.get("/")
                    floors.append(time.perf_counter() - started)
                    state.pages = pages
                get_s.append(statistics.median(times))
                floor_s.append(statistics.median(floors))
                pages.stop()
            client.close()
        finally:
            server.stop()
            runtime.engine.dispose()
        process = whole_process(folder, url, catalog_path, goals)
        stored = store_verdicts(url, catalog, goals)
        beside = whole_process(folder, url, catalog_path, goals)
    median = statistics.median
    print(f"\n{goals:,} goals ({attention:,} need attention, {len(report.to_chart(evaluations))} charted), "
          f"{rounds} rounds, median (min-max)")
    print(f"  evaluate_from_db, the baseline        {evaluation:8.3f} s  (once)")
    print(f"  page after judging (tracker report)   {spread(page_s)}  {median(page_s) / evaluation:.3f}x the evaluation,"
          f" {median(sizes) / 2**20:.2f} MB")
    print(f"  / render on the worker, cold          {spread(cold_s)}")
    print(f"  / render on the worker, warm          {spread(warm_s)}  (no chart drawn)")
    print(f"  GET /                                 {spread(get_s, 'ms', 1000)}  {median(get_s) / median(floor_s):.2f}x "
          f"the same bytes from a bare WSGI app ({spread(floor_s, 'ms', 1000)})")
    seconds, rss, size, listed = process
    print(f"  tracker report, whole process         {seconds:8.3f} s, peak RSS {rss:.0f} MB, {size / 2**20:.2f} MB file, "
          f"every goal listed: {listed}")
    seconds, rss, size, listed = beside
    print(f"  tracker report beside a daemon        {seconds:8.3f} s, peak RSS {rss:.0f} MB, {size / 2**20:.2f} MB file, "
          f"every goal listed: {listed} ({stored:,} verdicts stored by the daemon's cycle for these inputs)")
    seconds = process[0]
    if goals >= 10_000:
        page_part = median(page_s)
        print(f"  targets: page part {page_part:.2f} s < 15 s: {'met' if page_part < 15 else 'MISSED'}; whole process "
              f"{seconds:.1f} s < 15 s: {'met' if seconds < 15 else 'MISSED'} (judging is {evaluation:.1f} s of it); "
              f"file {size / 2**20:.2f} MB < 10 MB: {'met' if size < 10 * 2**20 else 'MISSED'}; "
              f"GET / {median(get_s):.3f} s < 2 s: {'met' if median(get_s) < 2 else 'MISSED'}")


class _Static:
    """The floor for GET /: the same bytes, nothing else."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def page(self) -> tuple[int, str, bytes]:
        return 200, "text/html; charset=utf-8", self.body


def cycles(goals: int, count: int) -> None:
    """Evaluation cycles, alternately quiet and beside a client asking for pages."""
    from tracker.alerting.cycle import evaluate_cycle

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url, catalog_path = bigcatalog.database(folder, goals)
        runtime = Runtime(Settings(database_url=url, config=catalog_path), clock=lambda: NOW)
        pages = Pages(runtime).start()
        state = type("State", (), {"pages": pages})()
        server = Server(App(state), "127.0.0.1", 0).start()
        pages.publish(NOW, evaluate_cycle(runtime, now=NOW).evaluations)  # the first cycle writes the alerts
        settle(pages, 1)
        quiet, busy, served = [], [], []
        try:
            for _ in range(count):
                for kind in ("quiet", "busy"):
                    stop = folder / "stop"
                    stop.unlink(missing_ok=True)
                    client = None
                    if kind == "busy":
                        client = subprocess.Popen([sys.executable, "-c", CLIENT, f"http://127.0.0.1:{server.port}",
                                                   str(goals), str(stop)], stdout=subprocess.PIPE, text=True)
                        time.sleep(0.5)  # let it get going: the point is a cycle under load
                    started = time.perf_counter()
                    result = evaluate_cycle(runtime, now=NOW)
                    (quiet if kind == "quiet" else busy).append(time.perf_counter() - started)
                    renders = pages.renders  # before publishing: the render may be done before we look
                    pages.publish(NOW, result.evaluations)
                    if client is not None:
                        stop.write_text("")
                        served.append(int(client.communicate(timeout=120)[0]))
                    settle(pages, renders + 1)
        finally:
            server.stop()
            pages.stop()
            runtime.engine.dispose()
    ratio = statistics.median(busy) / statistics.median(quiet)
    print(f"\nevaluation cycle at {goals:,} goals, {count} rounds each, interleaved: quiet {spread(quiet)}, beside page "
          f"requests {spread(busy)} ({statistics.median(served):.0f} requests a cycle): {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--goals", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cycles", type=int, default=3, help="rounds of quiet and busy cycles (0: none)")
    parser.add_argument("--cycle-goals", type=int, default=300, help="catalog size for the cycles")
    args = parser.parse_args()
    for goals in args.goals:
        run(goals, args.rounds)
    if args.cycles:
        cycles(args.cycle_goals, args.cycles)


if __name__ == "__main__":
    main()

"""A Prometheus scrape of /metrics with many goals, against serving a static body of the same
size through the same server (the baseline, measured in the same run).

    python3 bench/metrics_bench.py [--goals 10000] [--rounds 15]

The daemon's metrics hold one evaluation of GOALS synthetic goals (each with catalog labels,
an attainment, a projection and a probability) and a few live counters; the web app and the
waitress server are the daemon's own, on a loopback port. Each round scrapes /metrics as
Prometheus does (OpenMetrics, gzip), as a text-format client with gzip, and as curl does
(plain), then the static route; rounds interleave, and
the medians and spreads are printed. Also printed: the one-off rendering per evaluation cycle.
Target: a scrape at 10,000 goals under 300 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracker.core.verdict import Evaluation, Status
from tracker.service.metrics import PROMETHEUS_ACCEPT, DaemonMetrics
from tracker.service.web import ROUTES, App, Response, Server

NOW = datetime(2026, 7, 5, tzinfo=UTC)
STATUSES = list(Status)


def evaluations(count: int) -> list[Evaluation]:
    return [
        Evaluation(
            goal=f"store-{i:06d}-revenue", title=f"Store {i} revenue", kind="cumulative",
            period_start=date(2026, 1, 1), period_end=date(2027, 1, 1), status=STATUSES[i % len(STATUSES)],
            evaluated_at=NOW, target=Decimal(1000), actual=Decimal(400 + i % 97), attainment=0.4 + (i % 97) / 1000,
            projected_attainment=0.9 + (i % 13) / 100, probability=(i % 101) / 100,
            labels={"business": f"region-{i % 40}", "store": str(i), "headline": "false"},
        )
        for i in range(count)
    ]


class State:
    def __init__(self, metrics: DaemonMetrics) -> None:
        self.metrics = metrics


def timed(client: httpx.Client, path: str, headers: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(path, headers=headers)
    seconds = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    return seconds, len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--goals", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    metrics = DaemonMetrics()
    for receiver in ("ops", "pager", "slack"):
        metrics.observe_delivery({receiver: {"sent": 5, "failed": 1, "dead": 0}}, depth=2)
    items = evaluations(args.goals)
    started, cpu = time.perf_counter(), time.process_time()
    metrics.observe_evaluation(items, {f"metric_{i}": NOW for i in range(args.goals // 3)})
    render, render_cpu = time.perf_counter() - started, time.process_time() - cpu

    plain_body, _ = metrics.exposition("", "")
    gzip_body, _ = metrics.exposition("", "gzip")
    static = Response(200, plain_body, "text/plain; version=0.0.4; charset=utf-8")
    app = App(State(metrics), [*ROUTES, ("/static", lambda _request: static)])
    server = Server(app, "127.0.0.1", 0).start()
    plain = {"Accept-Encoding": "identity"}
    zipped = {"Accept-Encoding": "gzip"}
    prometheus = {"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "gzip"}
    times: dict[str, list[float]] = {"prometheus": [], "metrics gzip": [], "metrics plain": [], "static plain": []}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as client:
            timed(client, "/metrics", zipped)  # warm: connection, first OpenMetrics-free path
            for _ in range(args.rounds):
                times["prometheus"].append(timed(client, "/metrics", prometheus)[0])
                times["metrics gzip"].append(timed(client, "/metrics", zipped)[0])
                times["metrics plain"].append(timed(client, "/metrics", plain)[0])
                times["static plain"].append(timed(client, "/static", plain)[0])
    finally:
        server.stop()

    print(f"{args.goals:,} goals: body {len(plain_body) / 2**20:.1f} MB ({len(gzip_body) / 2**20:.2f} MB gzip); "
          f"rendered once per cycle in {render:.2f} s ({render_cpu:.2f} s of CPU)")
    baseline = statistics.median(times["static plain"])
    for name, values in times.items():
        median = statistics.median(values)
        spread = f"{min(values) * 1000:.0f}-{max(values) * 1000:.0f} ms"
        print(f"  {name:14} median {median * 1000:6.1f} ms ({spread}), {median / baseline:.2f}x the static body")


if __name__ == "__main__":
    main()

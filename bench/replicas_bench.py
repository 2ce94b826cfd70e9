"""Replicas benchmark on PostgreSQL: evaluation and delivery throughput with one replica and
with three (separate processes, as `tracker run` replicas are).

Evaluation: every replica loops "take or renew the lease, evaluate if leading" (what the
daemon's evaluate job does) for a fixed time; cycles completed by the cluster per second.
Baseline: one process evaluating without any lease or fence. Only the leader evaluates, so
three replicas should match one (the lease buys availability, not throughput).
Delivery: N queued notifications to a loopback receiver; every replica runs delivery passes
until the outbox is empty; notifications per second, and a check that none arrived twice.

    python3 bench/replicas_bench.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]
                                    [--goals 100] [--seconds 4] [--count 2000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tests.replica_helpers import OFF, ON, catalog_text, record  # noqa: E402
from tracker.store import db  # noqa: E402
from tracker.delivery import outbox
from tracker.store.alert_tables import OutboxRow  # noqa: E402

NOW = datetime(2026, 7, 5, tzinfo=timezone.utc)


def runtime_for(url: str, catalog: Path, webhook: str | None = None):  # type: ignore[no-untyped-def]
    from tracker.store.runtime import Runtime
    from tracker.catalog.settings import Settings

    return Runtime(Settings(database_url=url, config=catalog, webhook_url=webhook, http_port=0))


def evaluating(url: str, catalog: Path, seconds: float, leased: bool, done) -> None:  # type: ignore[no-untyped-def]
    """One replica: evaluates for `seconds`; counts the cycles it completed."""
    from tracker.alerting.cycle import evaluate_cycle
    from tracker.service.metrics import DaemonMetrics
    from tracker.service.replicas import Leadership

    runtime = runtime_for(url, catalog)
    leadership = Leadership(runtime, DaemonMetrics())
    cycles, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        now = datetime.now(timezone.utc)
        fence = leadership.acquire(now) if leased else None
        if leased and fence is None:
            time.sleep(0.05)  # a follower: the daemon would wait for its next scheduled run
            continue
        evaluate_cycle(runtime, now=now, fence=fence)
        cycles += 1
    leadership.release()  # as the daemon does on a clean stop: the next run need not wait
    done.put(cycles)
    runtime.engine.dispose()


def delivering(url: str, catalog: Path, webhook: str, done) -> None:  # type: ignore[no-untyped-def]
    """One replica: delivery passes until a pass finds nothing to send."""
    from tracker.delivery import deliver_pass

    runtime = runtime_for(url, catalog, webhook)
    sent = 0
    while True:
        result = deliver_pass(runtime, now=NOW)
        if not result.total("sent"):
            break
        sent += result.total("sent")
    done.put(sent)
    runtime.engine.dispose()


def run_replicas(target, replicas: int, *args) -> tuple[float, list[int]]:  # type: ignore[no-untyped-def]
    context = multiprocessing.get_context("fork")
    done = context.Queue()
    processes = [context.Process(target=target, args=(*args, done)) for _ in range(replicas)]
    started = time.perf_counter()
    for process in processes:
        process.start()
    counts = [done.get(timeout=300) for _ in processes]
    for process in processes:
        process.join()
    return time.perf_counter() - started, counts


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    ids: list[str] = []
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["content-length"]))
        with Receiver.lock:
            Receiver.ids.append(self.headers["webhook-id"])
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def queue(url: str, count: int) -> None:
    engine = db.make_engine(url)
    rows = [dict(webhook_id=outbox.new_webhook_id(), receiver="default", fingerprint=f"{i:016x}",
                 subject=f"goal:g{i}", event="alert.firing", reason="first notification", body=b'{"n":%d}' % i,
                 created_at=NOW, next_attempt_at=NOW, state="queued", attempts=0) for i in range(count)]
    with db.session(engine, write=True) as session:
        session.execute(insert(OutboxRow), rows)
    engine.dispose()


def fresh_database(base: str) -> str:
    name = f"tracker_bench_{uuid.uuid4().hex[:8]}"
    with create_engine(base, isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def drop_database(base: str, url: str) -> None:
    with create_engine(base, isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=os.environ.get("TRACKER_TEST_POSTGRES_URL",
                                                        "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--goals", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    from tracker.service import logs

    logs.configure("console", "warning")  # alert transitions are info lines: keep them out
    url = fresh_database(args.url)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            catalog = Path(tmp) / "goals.toml"
            catalog.write_text(catalog_text(args.goals))
            db.ensure_schema(db.make_engine(url))
            values = {f"m{i}": (OFF if i % 2 else ON) for i in range(args.goals)}
            record(url, catalog, {"one": "100", **values})
            bench_evaluation(url, catalog, args)
            bench_delivery(url, catalog, args)
    finally:
        drop_database(args.url, url)


def bench_evaluation(url: str, catalog: Path, args) -> None:  # type: ignore[no-untyped-def]
    print(f"evaluation: {args.goals} goals (half off track), {args.seconds:.0f} s each, PostgreSQL")
    base = None
    for label, replicas, leased in (("1 process, no lease", 1, False), ("1 replica, lease+fence", 1, True),
                                    ("3 replicas, lease+fence", 3, True)):
        seconds, counts = run_replicas(evaluating, replicas, url, catalog, args.seconds, leased)
        rate = sum(counts) / args.seconds
        base = base or rate
        print(f"  {label:26} {rate:7.1f} cycles/s  ({rate / base:.2f}x)  cycles per replica {counts}")


def bench_delivery(url: str, catalog: Path, args) -> None:  # type: ignore[no-untyped-def]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    webhook = f"http://127.0.0.1:{server.server_address[1]}/hook"
    print(f"delivery: {args.count} notifications to a loopback receiver, PostgreSQL")
    base = None
    for replicas in (1, 3):
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM outbox"))
        engine.dispose()
        Receiver.ids = []
        queue(url, args.count)
        seconds, counts = run_replicas(delivering, replicas, url, catalog, webhook)
        rate = args.count / seconds
        base = base or rate
        twice = len(Receiver.ids) - len(set(Receiver.ids))
        print(f"  {replicas} replica(s) {rate:8.0f}/s  ({rate / base:.2f}x)  sent per replica {counts}, "
              f"received {len(Receiver.ids)}, twice {twice}")
    server.shutdown()


if __name__ == "__main__":
    main()

"""Delivery benchmark: 10,000 queued notifications to a local receiver.

Compares `deliver_pass` (per row: claim under a lease, mute/dedup/sign, send under a
whole-request deadline, record the outcome under the claim token) with a bare loop that posts
the same payloads with a plain httpx client and the same number of threads. Prints both
times and their ratio; the target is <= 1.5x.

    python3 bench/deliver_bench.py [--count 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from tracker.store import db  # noqa: E402

from tracker.delivery import deliver_pass, outbox  # noqa: E402
from tracker.delivery.formats import Notice, NoticeAlert, render  # noqa: E402
from tracker.store.alert_tables import OutboxRow  # noqa: E402
from tracker.store.runtime import Runtime  # noqa: E402
from tracker.catalog.settings import Settings  # noqa: E402

NOW = datetime(2026, 7, 5, tzinfo=timezone.utc)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would
    count = 0
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["content-length"]))
        with Handler.lock:
            Handler.count += 1
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def bodies(count: int) -> list[bytes]:
    return [
        render("native", Notice(
            event="alert.firing", timestamp=NOW, receiver="default", group_key=f'{{}}:{{goal="g{i}"}}',
            group_labels={"goal": f"g{i}"}, reason="first notification", alerts=(NoticeAlert(
                fingerprint=f"{i:016x}", rule="off-track", severity="critical", subject=f"goal:g{i}",
                title="EV deliveries 2026", state="firing", reason="first notification",
                summary="EV deliveries 2026: projected 481,200 of 550,000 (87%); "
                "needs 58,400 a month for the rest of the year", labels={"business": "ev"},
                evaluation={"goal": f"g{i}", "status": "off_track", "target": 550000, "projected": 481200},
                starts_at=NOW,
            ),),
        ))
        for i in range(count)
    ]


def queue(engine, payloads: list[bytes]) -> None:  # type: ignore[no-untyped-def]
    rows = [
        dict(webhook_id=outbox.new_webhook_id(), receiver="default", fingerprint=f"{i:016x}", subject=f"goal:g{i}",
             event="alert.firing", reason="first notification", body=body, created_at=NOW, next_attempt_at=NOW,
             attempts=0, state="queued")
        for i, body in enumerate(payloads)
    ]
    with db.session(engine, write=True) as session:
        session.execute(insert(OutboxRow), rows)


def bare(client: httpx.Client, url: str, payloads: list[bytes], concurrency: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for response in pool.map(
            lambda body: client.post(url, content=body, headers={"content-type": "application/json"}), payloads
        ):
            response.raise_for_status()
    return time.perf_counter() - started


def machinery(client: httpx.Client, url: str, payloads: list[bytes], workdir: Path, round_: int) -> float:
    settings = Settings(database_url=f"sqlite:///{workdir / f'bench{round_}.db'}", webhook_url=url,
                        webhook_secret=SECRET)
    runtime = Runtime(settings)
    queue(runtime.engine, payloads)
    started = time.perf_counter()
    result = deliver_pass(runtime, now=NOW)  # its own client: deadlines, capped bodies
    elapsed = time.perf_counter() - started
    assert result.total("sent") == len(payloads), result
    with db.session(runtime.engine) as session:
        assert outbox.depth(session) == 0
    runtime.engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/hook"
    payloads = bodies(args.count)
    concurrency = Settings().deliver.concurrency
    print(f"{args.count} notifications of ~{sum(map(len, payloads)) // len(payloads)} bytes, "
          f"{concurrency} in flight (one receiver), best of {args.rounds} rounds")
    bare_times, outbox_times = [], []
    with tempfile.TemporaryDirectory() as tmp, httpx.Client(timeout=10) as client:
        for round_ in range(args.rounds):  # alternate, so both see the same machine load
            bare_times.append(bare(client, url, payloads, concurrency))
            outbox_times.append(machinery(client, url, payloads, Path(tmp), round_))
    server.shutdown()
    b, o = min(bare_times), min(outbox_times)
    print(f"bare loop:      {b:6.2f} s  ({args.count / b:7.0f} /s)")
    print(f"outbox pass:    {o:6.2f} s  ({args.count / o:7.0f} /s)  (per row: claim, sign, send, record; SQLite)")
    print(f"ratio:          {o / b:6.2f}x  (target <= 1.5x)")


if __name__ == "__main__":
    main()

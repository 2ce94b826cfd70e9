"""A loopback webhook receiver that counts each webhook-id it accepts and the requests it
has in hand; it can take its time (`delay` seconds before answering), and runs `tracker`
subprocesses' helpers for the delivery storm tests."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.conftest import CATALOG, ROOT


class CountingReceiver:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.accepted: Counter[str] = Counter()
        self.received = 0
        self.in_hand = 0
        self.lock = threading.Lock()
        self.closing = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["content-length"]))
                with owner.lock:
                    owner.received += 1
                    owner.in_hand += 1
                try:
                    owner.closing.wait(owner.delay)
                    self.send_response(204)
                    self.end_headers()
                    with owner.lock:
                        owner.accepted[self.headers["webhook-id"]] += 1
                finally:
                    with owner.lock:
                        owner.in_hand -= 1

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # killed clients reset: expected
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


def queue(engine, count: int, receiver: str = "default") -> list[str]:  # type: ignore[no-untyped-def]
    """`count` notifications due a minute ago (for subprocesses on the real clock); their ids."""
    from tracker.delivery import outbox
    from tracker.store import db

    at = datetime.now(timezone.utc) - timedelta(minutes=1)
    with db.session(engine, write=True) as session:
        return [
            outbox.enqueue(session, receiver=receiver, fingerprint=f"fp{n}", subject=f"goal:g{n}",
                           event="alert.firing", reason="first notification", body=b'{"n":%d}' % n, now=at).webhook_id
            for n in range(count)
        ]


def tracker_env(database_url: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(TRACKER_DATABASE_URL=database_url, TRACKER_CONFIG=str(CATALOG), PYTHONPATH=str(ROOT),
               TRACKER_LOG_FORMAT="json", TRACKER_HTTP_PORT="0")
    env.update(settings)
    return env


def tracker_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "tracker", *args]


def states(engine, ids: set[str]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """How many of the notifications `ids` are in each state (the daemon's own start-up
    evaluation may queue others)."""
    from sqlalchemy import func, select

    from tracker.store import db
    from tracker.store.alert_tables import OutboxRow

    query = select(OutboxRow.state, func.count()).where(OutboxRow.webhook_id.in_(ids)).group_by(OutboxRow.state)
    with db.session(engine) as session:
        return dict(session.execute(query).all())


def claimed(engine) -> set[tuple[int, str]]:  # type: ignore[no-untyped-def]
    """(row, token) of every row held by a claim that was not recorded."""
    from sqlalchemy import select

    from tracker.store import db
    from tracker.store.alert_tables import OutboxRow

    with db.session(engine) as session:
        query = select(OutboxRow.id, OutboxRow.claim_token).where(
            OutboxRow.state == "queued", OutboxRow.claim_token.is_not(None))
        return {(row, token) for row, token in session.execute(query)}


def webhook_ids(engine) -> dict[int, str]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from tracker.store import db
    from tracker.store.alert_tables import OutboxRow

    with db.session(engine) as session:
        return dict(session.execute(select(OutboxRow.id, OutboxRow.webhook_id)).all())


def elapsed_since(start: float) -> float:
    return time.monotonic() - start

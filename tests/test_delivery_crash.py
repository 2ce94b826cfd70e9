"""A `tracker deliver` killed with SIGKILL between claiming a notification and recording its
outcome loses nothing: after the claim's lease the next pass sends it, with the same id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from tests.alerting_helpers import make_runtime
from tests.conftest import CATALOG, ROOT
from tracker.delivery import deliver_pass, outbox
from tracker.store import db
from tracker.store.alert_tables import OutboxRow

pytestmark = pytest.mark.slow


class Hanging:
    """A receiver whose first request never gets an answer (until the test ends)."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.first_arrived, self.release = threading.Event(), threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["content-length"]))
                owner.ids.append(self.headers["webhook-id"])
                if len(owner.ids) == 1:
                    owner.first_arrived.set()
                    owner.release.wait(60)
                    return
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_killed_between_claim_and_finish_loses_nothing(engine, database_url: str) -> None:
    receiver = Hanging()
    try:
        runtime = make_runtime(engine, webhook_url=receiver.url)
        queued_at = datetime.now(timezone.utc) - timedelta(minutes=1)  # due for the real-clock subprocess
        with db.session(engine, write=True) as session:
            row = outbox.enqueue(session, receiver="default", fingerprint="fp", subject="goal:g",
                                 event="alert.firing", reason="first notification", body=b'{"n":1}', now=queued_at)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
        env.update(TRACKER_DATABASE_URL=database_url, TRACKER_CONFIG=str(CATALOG), TRACKER_WEBHOOK_URL=receiver.url,
                   PYTHONPATH=str(ROOT), TRACKER_LOG_FORMAT="json")
        worker = subprocess.Popen([sys.executable, "-m", "tracker", "deliver"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert receiver.first_arrived.wait(30), "the worker never sent the notification"
            worker.send_signal(signal.SIGKILL)
            assert worker.wait(10) == -signal.SIGKILL
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(10)
        with db.session(engine) as session:
            claimed = session.execute(select(OutboxRow)).scalar_one()
        assert (claimed.state, claimed.attempts) == ("queued", 0) and claimed.claim_token is not None
        lease_end = claimed.next_attempt_at
        now = datetime.now(timezone.utc)
        assert lease_end > now  # a live worker's claim is respected ...
        assert deliver_pass(runtime, now=now).total("sent") == 0
        result = deliver_pass(runtime, now=lease_end)  # ... and a dead one's expires
        assert result.total("sent") == 1
        assert receiver.ids == [row.webhook_id, row.webhook_id]
        with db.session(engine) as session:
            done = session.execute(select(OutboxRow)).scalar_one()
            assert (done.state, done.attempts, outbox.depth(session)) == ("sent", 1, 0)
    finally:
        receiver.close()

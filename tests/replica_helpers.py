"""Shared by the replica and interop tests: a small catalog whose goals flip between on track
and off track as the test records actuals, a recording webhook receiver, and daemon launches."""

from __future__ import annotations

import json
import os
import socket
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.conftest import ROOT

OFF, ON = "10", "90"  # numerator values: 0.2 and 1.8 of the ratio target (off and on track)


def catalog_text(goals: int, extra: str = "", route: str = 'group_wait = "1s"\ngroup_interval = "1s"\n') -> str:
    """Goals g0..g{n-1}, each the ratio m{i}/one against a target of 0.5 over the current year.
    off-track fires at once and resolves at once (no `for`, no keep_firing_for). The goals have
    no `business` label: by default they make one group, notified a second after it changes."""
    head = f'timezone = "UTC"\nbands = {{ on_track = 0.8, off_track = 0.2 }}\n[route]\n{route}\n'
    metric = ('[metrics.{0}]\ntitle = "{0}"\nunit = "x"\ngranularity = "year"\naggregation = "last"\n'
              'min = 0\nmax = 1000\n')
    goal = (
        '[[goals]]\nid = "g{0}"\ntitle = "Goal {0}"\nkind = "ratio"\nnumerator = "m{0}"\ndenominator = "one"\n'
        'recurs = "year"\ntarget = 0.5\nlabels = {{ team = "t{0}" }}\n'
        'source = {{ document = "test", publisher = "test", published = 2026-01-01, quote = "test" }}\n'
    )
    rule = '[[rules]]\nname = "off-track"\ncondition = "off_track"\nseverity = "critical"\nkeep_firing_for = "0s"\n'
    parts = [head, metric.format("one"), *(metric.format(f"m{i}") for i in range(goals))]
    parts += [goal.format(i) for i in range(goals)] + [rule, extra]
    return "\n".join(parts)


def record(url: str, catalog_path: Path, values: dict[str, str], now: datetime | None = None) -> None:
    """Records actuals for the year of `now` (default: the daemons' wall clock), in one
    transaction, in-process."""
    from tracker.catalog.model import load_catalog
    from tracker.store import actuals as store
    from tracker.store import db

    catalog = load_catalog(catalog_path)
    now = now or datetime.now(timezone.utc)
    engine = db.make_engine(url)
    try:
        with db.session(engine, write=True) as session:
            for metric, value in values.items():
                store.record(session, catalog=catalog, metric=metric, period=str(now.year), value=value, now=now,
                             force=True)
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Receiver:
    """A loopback webhook receiver that records (webhook-id, type, ((goal, state), ...)) of
    every request (a native group body)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, tuple[tuple[str, str], ...]]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                with outer.lock:
                    alerts = tuple((a["goal"], a["state"]) for a in body["data"]["alerts"])
                    outer.received.append((self.headers["webhook-id"], body["type"], alerts))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def snapshot(self) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
        with self.lock:
            return list(self.received)


def daemon_env(database_url: str, catalog_path: Path, port: int, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(PYTHONPATH=str(ROOT), TRACKER_DATABASE_URL=database_url, TRACKER_CONFIG=str(catalog_path),
               TRACKER_HTTP_PORT=str(port), TRACKER_LOG_FORMAT="json")
    env.update({f"TRACKER_{key.upper()}": value for key, value in settings.items()})
    return env

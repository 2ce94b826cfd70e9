"""No secret anywhere, at debug level: a source whose URL carries `?api_key=` and whose
server echoes the request's Authorization header back as a non-JSON body, a receiver whose
URL has a capitalised host, userinfo, a token in its path and one in its query and answers
500 with the request's headers in the body. Every line the commands print, every table and
every webhook the receiver got is searched for each secret."""

from __future__ import annotations

import sqlite3
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import threading

import pytest

from tests.conftest import CATALOG

pytestmark = pytest.mark.slow
SECRETS = {"source token": "SRCTOKEN-1234", "source query key": "QUERYKEY-5678", "receiver password": "RECVPASS-42",
           "receiver path token": "PATHTOKEN-9", "receiver query token": "RQTOKEN-77", "database password": "PGPASS-31"}


class Echo:
    """Answers every request with `status` and the request's own headers as plain text."""

    def __init__(self, status: int) -> None:
        self.bodies: list[bytes] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                owner.bodies.append(self.rfile.read(length))
                echoed = str(self.headers).encode()
                self.send_response(status)
                self.send_header("content-type", "text/plain")
                self.send_header("content-length", str(len(echoed)))
                self.end_headers()
                self.wfile.write(echoed)

            do_GET = do_POST = _answer  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _everything_stored(database) -> str:  # type: ignore[no-untyped-def]
    with sqlite3.connect(database) as connection:
        tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(row) for table in tables for row in connection.execute(f'SELECT * FROM "{table}"'))


def test_no_secret_in_any_output_or_table_at_debug_level(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    source, receiver = Echo(200), Echo(500)
    try:
        catalog = tmp_path / "goals.toml"
        catalog.write_text(CATALOG.read_text(encoding="utf-8") + f'''
[[sources]]
name = "feed"
kind = "http_json"
schedule = "0 9 * * *"
url = "http://LOCALHOST:{source.port}/feed.json?api_key={SECRETS['source query key']}"
headers = {{ Authorization = "Bearer ${{FEED_TOKEN}}" }}
metric = "ev_deliveries"
value_path = "total"
period_path = "month"
failures_before_alert = 1

[[receivers]]
name = "ops"
url = "http://ops:{SECRETS['receiver password']}@LOCALHOST:{receiver.port}/hook/{SECRETS['receiver path token']}?token={SECRETS['receiver query token']}"
''', encoding="utf-8")
        env = {"TRACKER_CONFIG": str(catalog), "FEED_TOKEN": SECRETS["source token"], "TRACKER_LOG_LEVEL": "debug",
               "TRACKER_LOG_FORMAT": "json"}
        runs = [cli("collect", "feed", env=env), cli("sources", "--json", env=env), cli("sources", env=env),
                cli("evaluate", "--at", "2026-07-05", env=env), cli("deliver", env=env), cli("alerts", "--json", env=env),
                cli("info", env=env)]
        assert runs[3].code == 0 and "queued" in runs[3].out
        assert any(SECRETS["source token"].encode() in body for body in [b"".join(source.bodies)]) is False
        assert receiver.bodies, "the receiver was never called"
        bad_url = {**env, "TRACKER_DATABASE_URL": f"postgresql+psycopg://u:{SECRETS['database password']}@db:port/x"}
        runs.append(cli("info", env=bad_url))
        assert runs[-1].code == 2 and runs[-1].err.count("\n") == 1 and "u:***@db" in runs[-1].err
        printed = "\n".join(run.out + run.err for run in runs)
        stored = _everything_stored(tmp_path / "tracker.db")
        sent = b"\n".join(receiver.bodies).decode()
        assert "debug" in printed  # debug lines were written, and searched
        for what, secret in SECRETS.items():
            for where, text in (("printed", printed), ("stored", stored), ("sent", sent)):
                assert secret not in text, f"the {what} was {where}"
        assert "the response is not JSON (HTTP 200, text/plain" in stored
    finally:
        source.close()
        receiver.close()

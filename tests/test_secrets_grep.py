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


RECEIVER_SECRETS = {"hook url token": "HOOKPATH-5150", "signing key": "whsec_" + "c2lnbmluZy1rZXktZm9yLXRoZS1ncmVwLXRlc3Q=",
                    "header token": "HDRTOKEN-8080", "routing key": "PDROUTE-3030", "file url token": "FILEURL-6060",
                    "template key": "TPLKEY-7070"}


def test_no_receiver_credential_in_logs_info_outbox_or_metrics(cli, sqlite_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Every receiver credential comes from ${ENV} or a file: none is printed at debug level,
    shown by `info --json`, stored in any table or exposed on /metrics, and each reached
    the receiver it was meant for."""
    from tests import polling
    from tests.replica_helpers import daemon_env, free_port
    from tests.test_daemon_e2e import DaemonProcess

    hook, pagerduty, templated = Echo(500), Echo(202), Echo(200)
    try:
        route = tmp_path / "pd.key"
        route.write_text(RECEIVER_SECRETS["routing key"] + "\n")
        url_file = tmp_path / "tpl.url"
        url_file.write_text(f"http://127.0.0.1:{templated.port}/in/{RECEIVER_SECRETS['file url token']}\n")
        catalog = tmp_path / "goals.toml"
        catalog.write_text(CATALOG.read_text(encoding="utf-8") + f'''
[[receivers]]
name = "hook"
url = "${{HOOK_URL}}"
secret = "${{HOOK_SECRET}}"
headers = {{ Authorization = "Bearer ${{HOOK_TOKEN}}" }}

[[receivers]]
name = "pd"
format = "pagerduty"
url = "http://127.0.0.1:{pagerduty.port}/v2/enqueue"
routing_key_file = "{route}"

[[receivers]]
name = "tpl"
format = "template"
url_file = "{url_file}"
body = '{{"n": {{{{ alerts | length }}}}}}'
headers = {{ X-Key = "${{TPL_KEY}}" }}
''', encoding="utf-8")
        env = {"TRACKER_CONFIG": str(catalog), "TRACKER_LOG_LEVEL": "debug", "TRACKER_LOG_FORMAT": "json",
               "HOOK_URL": f"http://127.0.0.1:{hook.port}/h/{RECEIVER_SECRETS['hook url token']}",
               "HOOK_SECRET": RECEIVER_SECRETS["signing key"], "HOOK_TOKEN": RECEIVER_SECRETS["header token"],
               "TPL_KEY": RECEIVER_SECRETS["template key"]}
        runs = [cli("check-config", env=env), cli("evaluate", "--at", "2026-07-05", env=env), cli("deliver", env=env),
                cli("alerts", "--json", env=env), cli("info", "--json", env=env), cli("info", env=env)]
        assert runs[0].code == 0, runs[0].err
        assert hook.bodies and pagerduty.bodies and templated.bodies, "a receiver was never called"
        assert RECEIVER_SECRETS["routing key"].encode() in pagerduty.bodies[0]  # it went where it belongs
        port = free_port()
        daemon = DaemonProcess({**daemon_env(sqlite_url, catalog, port), **env}, tmp_path / "daemon.log", port)
        try:
            metrics = polling.wait_for(lambda: (r := daemon.get("/metrics")) is not None and r.status_code == 200
                                       and "tracker_" in r.text and r.text, "/metrics", deadline=30.0)
        finally:
            assert daemon.stop() == 0
        printed = "\n".join(run.out + run.err for run in runs) + (tmp_path / "daemon.log").read_text()
        stored = _everything_stored(tmp_path / "tracker.db")
        assert "${TPL_KEY}" in stored  # the reference is stored, resolved only when sent
        for what, secret in RECEIVER_SECRETS.items():
            for where, text in (("printed", printed), ("stored", stored), ("on /metrics", metrics)):
                assert secret not in text, f"the {what} was {where}"
                assert secret.removeprefix("whsec_") not in text, f"the {what}'s key was {where}"
    finally:
        for server in (hook, pagerduty, templated):
            server.close()

"""Receivers' credentials out of the catalog: `${NAME}` references and `*_file` twins, what
the catalog refuses (one line, exit 2, nothing written), files read again when the catalog
is (SIGHUP reloads it), and `tracker deliver` exiting 1 when it lost a notification."""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import UTC

import pytest

from tests.conftest import CATALOG
from tracker.catalog.model import load_catalog, parse_catalog
from tracker.core.errors import ConfigError

GOOD_KEY = "whsec_" + base64.b64encode(b"k" * 32).decode()


def _catalog(receiver: str) -> dict:
    import tomllib

    data = tomllib.loads(CATALOG.read_text(encoding="utf-8"))
    data["receivers"] = [tomllib.loads(receiver)]
    return data


@pytest.mark.parametrize(
    ("receiver", "message"),
    [('name = "a"\nurl = "https://h/x"\nsecret = "whsec_AAAA"', "write the secret as ${NAME}"),
     ('name = "a"\nformat = "pagerduty"\nrouting_key = "abc123"', "write the routing_key as ${NAME}"),
     ('name = "a"\nurl = "https://h/x"\nurl_file = "/tmp/x"', "give one of url or url_file"),
     ('name = "a"\nformat = "slack"', "format slack needs url or url_file"),
     ('name = "a"\nformat = "pagerduty"', "needs routing_key or routing_key_file"),
     ('name = "a"\nformat = "email"\nto = "a@b"', "format email needs from, smarthost"),
     ('name = "a"\nformat = "template"\nurl = "https://h/x"\nbody = "{{ x"', "body: template line 1"),
     ('name = "a"\nurl_file = "/nonexistent/url"', "url_file /nonexistent/url: cannot be read"),
     ('name = "a"\nurl = "https://h/x"\nheaders = { A = "Bearer $TOKEN" }', "write environment references"),
     ('name = "a"\nurl = "ftp://h/x"', "receiver a, field url")],
    ids=["clear-secret", "clear-routing-key", "url-and-file", "no-url", "no-routing-key", "email-incomplete",
         "template-syntax", "unreadable-file", "bare-dollar", "not-http"],
)
def test_the_catalog_refuses(receiver, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message.replace("$", r"\$").replace("{", r"\{").replace("}", r"\}")):
        parse_catalog(_catalog(receiver))


def test_url_file_is_read_at_load_and_again_on_reload(tmp_path) -> None:
    url = tmp_path / "slack.url"
    url.write_text("https://hooks.slack.com/services/T0/B0/first\n")
    catalog = tmp_path / "goals.toml"
    catalog.write_text(CATALOG.read_text(encoding="utf-8") +
                       f'\n[[receivers]]\nname = "chat"\nformat = "slack"\nurl_file = "{url}"\n')
    first = load_catalog(catalog).receivers[0].ref("url")
    url.write_text("https://hooks.slack.com/services/T0/B0/second\n")
    assert first.value({}).endswith("/first")  # the loaded catalog keeps what it read
    assert load_catalog(catalog).receivers[0].ref("url").value({}).endswith("/second")  # what SIGHUP runs
    assert "first" not in repr(first) and "first" not in str(first)


def _check_config(cli, tmp_path, receiver: str, env: dict[str, str]):  # type: ignore[no-untyped-def]
    catalog = tmp_path / "goals.toml"
    catalog.write_text(CATALOG.read_text(encoding="utf-8") + "\n[[receivers]]\n" + receiver + "\n")
    return cli("check-config", env={"TRACKER_CONFIG": str(catalog), **env})


@pytest.mark.parametrize(
    ("receiver", "env", "message"),
    [('name = "a"\nurl = "https://h/x"\nsecret = "${S}"', {"S": "whsec_AA=="},
      "receiver a: secret (S): key is 1 bytes; the specification asks for 24 to 64"),
     ('name = "a"\nurl = "https://h/x"\nsecret = "${S}"', {}, "receiver a: secret: environment variable S is not set"),
     ('name = "a"\nurl = "${HOOK_URL}"', {}, "receiver a: url: environment variable HOOK_URL is not set"),
     ('name = "a"\nurl = "https://h/x"', {"TRACKER_WEBHOOK_URL": "https://h/y", "TRACKER_WEBHOOK_SECRET": "whsec_AA=="},
      "setting TRACKER_WEBHOOK_SECRET: key is 1 bytes; the specification asks for 24 to 64")],
    ids=["one-byte-secret", "unset-secret", "unset-url", "short-setting"],
)
def test_check_config_names_the_problem_in_one_line(cli, tmp_path, sqlite_url, receiver, env, message) -> None:  # type: ignore[no-untyped-def]
    done = _check_config(cli, tmp_path, receiver, env)
    assert done.code == 2 and done.err.strip().endswith(message) and done.err.count("\n") == 1, done.err
    assert "whsec_AA" not in done.err
    assert not (tmp_path / "tracker.db").exists() or not _tables(tmp_path / "tracker.db")


def _tables(path) -> list:  # type: ignore[no-untyped-def]
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT name FROM sqlite_master WHERE name = 'outbox'").fetchall()


def test_check_config_takes_rotating_secrets(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    other = "whsec_" + base64.b64encode(b"n" * 48).decode()
    done = _check_config(cli, tmp_path, 'name = "a"\nurl = "https://h/x"\nsecret = "${S}"',
                         {"S": f"{GOOD_KEY} {other}", "TRACKER_WEBHOOK_URL": "https://h/y",
                          "TRACKER_WEBHOOK_SECRET": f"{other} {GOOD_KEY}"})
    assert done.code == 0, done.err


def test_deliver_exits_1_when_a_receiver_is_disabled(cli, tmp_path, httpserver) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/gone", method="POST").respond_with_data("", status=410)
    httpserver.expect_request("/fine", method="POST").respond_with_data("", status=204)
    catalog = tmp_path / "goals.toml"
    catalog.write_text(CATALOG.read_text(encoding="utf-8") +
                       f'\n[[receivers]]\nname = "gone"\nurl = "{httpserver.url_for("/gone")}"\n'
                       f'\n[[receivers]]\nname = "fine"\nurl = "{httpserver.url_for("/fine")}"\n')
    env = {"TRACKER_CONFIG": str(catalog)}
    assert cli("evaluate", "--at", "2026-07-05", env=env).code == 0
    done = cli("deliver", env=env)
    assert done.code == 1, done.err
    lines = [line for line in done.err.splitlines() if line.startswith("deliver: ")]
    assert lines == [lines[0]] and lines[0].startswith("deliver: receiver gone: disabled (it answered 410 Gone); ")
    assert "fine: " in done.out and " 0 dead" in done.out.split("fine: ")[1].splitlines()[0]
    again = cli("deliver", env=env)  # nothing more went dead: success
    assert again.code == 0, again.err


@pytest.mark.parametrize(
    ("environ", "outcome"),
    [({"U": "https://h.example/p/TOK", "T": "tok-5"}, "sent"),
     ({"T": "tok-5"}, "url: environment variable U is not set"),
     ({"U": "https://h.example/p/TOK"}, "headers: environment variable T is not set")],
    ids=["resolved", "url-unset", "header-unset"],
)
def test_references_are_resolved_when_each_request_is_sent(environ, outcome) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime

    import httpx

    from tracker.catalog.receivers import Ref, Target
    from tracker.delivery.channel import WebhookChannel
    from tracker.delivery.failure import DeliveryError

    seen: list[httpx.Request] = []
    client = httpx.Client(transport=httpx.MockTransport(lambda request: seen.append(request) or httpx.Response(204)))
    target = Target("ops", Ref("${U}"), headers=(("Authorization", "Bearer ${T}"),))
    channel = WebhookChannel(target, client, environ=environ)
    now = datetime(2026, 7, 5, tzinfo=UTC)
    if outcome == "sent":
        assert channel.send("m", b"{}", now=now) == 204
        assert str(seen[0].url) == "https://h.example/p/TOK" and seen[0].headers["authorization"] == "Bearer tok-5"
        return
    with pytest.raises(DeliveryError, match=outcome) as raised:
        channel.send("m", b"{}", now=now)
    assert not raised.value.permanent and not seen  # set it, and the next attempt goes out


@pytest.mark.slow
def test_sighup_reads_url_file_and_secret_file_again(sqlite_url, tmp_path, httpserver) -> None:  # type: ignore[no-untyped-def]
    """A running daemon: the firing goes to the first URL signed with the first secret; the
    files change, SIGHUP, and the resolve goes to the second URL signed with the second."""
    import signal
    from datetime import datetime
    from functools import partial

    from freezegun import freeze_time
    from standardwebhooks import Webhook

    from tests import polling
    from tests.replica_helpers import (
        OFF,
        ON,
        catalog_text,
        daemon_env,
        free_port,
        record,
    )
    from tests.test_daemon_e2e import DaemonProcess
    from tracker.store.db import ensure_schema, make_engine

    wait_for = partial(polling.wait_for, deadline=30.0, interval=0.1)
    first, second = GOOD_KEY, "whsec_" + base64.b64encode(b"s" * 40).decode()
    for path in ("/first", "/second"):
        httpserver.expect_request(path, method="POST").respond_with_data("", status=204)
    url_file, secret_file = tmp_path / "hook.url", tmp_path / "hook.secret"
    url_file.write_text(httpserver.url_for("/first"))
    secret_file.write_text(first)
    catalog = tmp_path / "goals.toml"
    catalog.write_text(catalog_text(1, extra=f'[[receivers]]\nname = "hook"\nurl_file = "{url_file}"\n'
                                             f'secret_file = "{secret_file}"\n'))
    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    engine.dispose()
    record(sqlite_url, catalog, {"one": "100", "m0": OFF})
    port = free_port()
    env = daemon_env(sqlite_url, catalog, port, evaluate__interval_seconds="0.5", deliver__interval_seconds="0.2")
    daemon = DaemonProcess(env, tmp_path / "daemon.log", port)

    def posted(path: str) -> list:
        return [request for request, _ in httpserver.log if request.path == path]

    try:
        (firing,) = wait_for(lambda: posted("/first"), "the firing at the first URL")
        url_file.write_text(httpserver.url_for("/second") + "\n")
        secret_file.write_text(second + "\n")
        daemon.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "catalog reloaded" in (tmp_path / "daemon.log").read_text(), "the reload")
        record(sqlite_url, catalog, {"m0": ON})
        (resolved,) = wait_for(lambda: posted("/second"), "the resolve at the second URL")
    finally:
        assert daemon.stop() == 0
    assert json.loads(firing.get_data())["type"] == "alert.firing"
    assert json.loads(resolved.get_data())["type"] == "alert.resolved"
    for key, request in ((first, firing), (second, resolved)):
        with freeze_time(datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), UTC)):
            Webhook(key).verify(request.get_data(), dict(request.headers))
    log = (tmp_path / "daemon.log").read_text()
    assert "/first" not in log and "/second" not in log and first[6:] not in log and second[6:] not in log

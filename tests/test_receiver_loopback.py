"""Each receiver format through real cycles and delivery passes, to loopback receivers that
check what the service documents: PagerDuty gets trigger then resolve with one dedup_key
and the routing key from the environment; Teams an Adaptive Card; Discord content and
embeds; Slack blocks that slack_sdk accepts; a template its rendered body and headers; email
arrives at a real SMTP server (aiosmtpd) over STARTTLS with login, and over implicit TLS.
Credentials come from ${ENV} or files, are resolved at send time and are never stored."""

from __future__ import annotations

import email
import json
import ssl
from datetime import UTC, datetime, timedelta
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from slack_sdk.models.blocks import Block
from sqlalchemy import select

from tests.alerting_helpers import EV, StubJudge, evaluation, make_runtime
from tests.replica_helpers import free_port
from tracker.alerting.cycle import evaluate_cycle
from tracker.catalog.receivers import Receiver
from tracker.core.rules import Rule
from tracker.core.verdict import Status
from tracker.delivery import deliver_pass
from tracker.store import db
from tracker.store.alert_tables import OutboxRow

T0 = datetime(2026, 7, 5, tzinfo=UTC)
HOUR = timedelta(hours=1)
RULE = Rule(name="off-track", condition="off_track", severity="critical")  # resolves at once
OFF, ON = StubJudge(evaluation(Status.OFF_TRACK)), StubJudge(evaluation(Status.ON_TRACK))


def runtime_with(engine, *receivers: Receiver):  # type: ignore[no-untyped-def]
    runtime = make_runtime(engine)
    runtime.__dict__["catalog"] = runtime.catalog.model_copy(update={"rules": (RULE,), "receivers": receivers})
    return runtime


def cycle(runtime, judge, at: datetime) -> None:  # type: ignore[no-untyped-def]
    evaluate_cycle(runtime, now=at, judge=judge)
    result = deliver_pass(runtime, now=at)
    assert not result.problems(), result.problems()


def stored(engine) -> str:  # type: ignore[no-untyped-def]
    with db.session(engine) as session:
        return "\n".join(repr(row.body) for row in session.execute(select(OutboxRow)).scalars())


def bodies(httpserver, path: str) -> list[tuple[dict, dict]]:  # type: ignore[no-untyped-def]
    return [(json.loads(request.get_data()), dict(request.headers)) for request, _ in httpserver.log
            if request.path == path]


def test_pagerduty_trigger_then_resolve_with_one_dedup_key(engine, httpserver, monkeypatch) -> None:
    monkeypatch.setenv("PD_KEY", "R0UTINGKEY0123456789abcdef012345")
    httpserver.expect_request("/v2/enqueue", method="POST").respond_with_json({"status": "success"}, status=202)
    runtime = runtime_with(engine, Receiver(name="pd", format="pagerduty", url=httpserver.url_for("/v2/enqueue"),
                                            routing_key="${PD_KEY}"))
    cycle(runtime, OFF, T0)
    cycle(runtime, ON, T0 + HOUR)
    (trigger, _), (resolve, _) = bodies(httpserver, "/v2/enqueue")
    assert trigger["event_action"] == "trigger" and resolve["event_action"] == "resolve"
    assert trigger["dedup_key"] == resolve["dedup_key"] and len(trigger["dedup_key"]) <= 255
    assert trigger["routing_key"] == resolve["routing_key"] == "R0UTINGKEY0123456789abcdef012345"
    assert trigger["payload"]["severity"] == "critical" and trigger["payload"]["source"] == EV
    assert len(trigger["payload"]["summary"]) <= 1024
    assert "R0UTINGKEY" not in stored(engine)


def test_pagerduty_routing_key_from_a_file(engine, httpserver, tmp_path) -> None:
    key = tmp_path / "pd.key"
    key.write_text("F1LEKEY0123456789abcdef012345678\n")
    httpserver.expect_request("/v2/enqueue", method="POST").respond_with_json({"status": "success"}, status=202)
    runtime = runtime_with(engine, Receiver(name="pd", format="pagerduty", url=httpserver.url_for("/v2/enqueue"),
                                            routing_key_file=key))
    cycle(runtime, OFF, T0)
    ((trigger, _),) = bodies(httpserver, "/v2/enqueue")
    assert trigger["routing_key"] == "F1LEKEY0123456789abcdef012345678"


@pytest.mark.parametrize("fmt", ["msteams", "discord", "slack"])
def test_chat_formats_at_a_loopback_receiver(engine, httpserver, monkeypatch, fmt) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HOOK_TOKEN", "T0KEN-in-the-path-42")
    httpserver.expect_request("/hook/T0KEN-in-the-path-42", method="POST").respond_with_data("", status=204)
    url = httpserver.url_for("/hook/${HOOK_TOKEN}").replace("%7B", "{").replace("%7D", "}").replace("%24", "$")
    runtime = runtime_with(engine, Receiver(name="chat", format=fmt, url=url))
    cycle(runtime, OFF, T0)
    ((body, headers),) = bodies(httpserver, "/hook/T0KEN-in-the-path-42")
    assert headers["Content-Type"] == "application/json"
    if fmt == "msteams":
        card = body["attachments"][0]["content"]
        assert card["type"] == "AdaptiveCard" and "EV deliveries 2026" in json.dumps(card)
    elif fmt == "discord":
        assert body["content"].startswith("[FIRING:1]") and body["embeds"][0]["title"] == "[FIRING] EV deliveries 2026"
    else:
        for block in body["blocks"]:
            Block.parse(block).validate_json()
    assert "T0KEN" not in stored(engine)


def test_template_body_and_headers(engine, httpserver, monkeypatch) -> None:
    monkeypatch.setenv("API_TOKEN", "S3CRET-bearer-7")
    httpserver.expect_request("/t", method="POST").respond_with_data("", status=200)
    receiver = Receiver(name="tpl", format="template", url=httpserver.url_for("/t"),
                        body='{"text": "{{ alerts[0].goal_title }} is {{ alerts[0].evaluation.status }}",'
                             ' "state": "{{ status }}"}',
                        headers={"Authorization": "Bearer ${API_TOKEN}", "X-Goal": "{{ alerts[0].goal }}"})
    runtime = runtime_with(engine, receiver)
    cycle(runtime, OFF, T0)
    ((body, headers),) = bodies(httpserver, "/t")
    assert body == {"text": "EV deliveries 2026 is off_track", "state": "firing"}
    assert headers["Authorization"] == "Bearer S3CRET-bearer-7" and headers["X-Goal"] == EV
    assert "S3CRET" not in stored(engine) and "${API_TOKEN}" in stored(engine)


# -- email ---------------------------------------------------------------------------------
class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, email.message_from_bytes(envelope.content)))
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"alerts", b"MA1L-pass")
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


@pytest.fixture
def certificate(tmp_path):  # type: ignore[no-untyped-def]
    import trustme

    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    return server, tmp_path / "ca.pem"


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_email_reaches_a_real_smtp_server(engine, certificate, monkeypatch, tmp_path, security) -> None:  # type: ignore[no-untyped-def]
    context, ca_file = certificate
    inbox = Inbox()
    options = {"hostname": "127.0.0.1", "port": free_port(), "authenticator": _authenticator}
    if security == "starttls":
        options.update(tls_context=context, require_starttls=True, auth_require_tls=True)
    else:  # implicit TLS from the first byte; aiosmtpd counts only STARTTLS as TLS for AUTH
        options.update(ssl_context=context, auth_require_tls=False)
    controller = Controller(inbox, **options)
    controller.start()
    try:
        port = controller.port
        password = tmp_path / "smtp.pass"
        password.write_text("MA1L-pass\n")
        receiver = Receiver(name="mail", format="email", to=["ops@example.com", "ceo@example.com"],
                            **{"from": "kpi@example.com"}, smarthost=f"127.0.0.1:{port}", smtp_security=security,
                            username="alerts", password_file=password, ca_file=ca_file)
        runtime = runtime_with(engine, receiver)
        cycle(runtime, OFF, T0)
    finally:
        controller.stop()
    ((sender, recipients, message),) = inbox.messages
    assert sender == "kpi@example.com" and recipients == ["ops@example.com", "ceo@example.com"]
    assert message["Subject"] == "[FIRING:1] alertname=off-track, goal=ev-deliveries-2026"
    assert message.is_multipart() and [p.get_content_type() for p in message.get_payload()] == [
        "text/plain", "text/html"]
    text, html = (part.get_payload(decode=True).decode() for part in message.get_payload())
    assert "EV deliveries 2026" in text and "<li>" in html
    assert message["Message-ID"].startswith("<msg_")
    assert "MA1L" not in stored(engine)


def test_email_with_a_wrong_password_goes_dead_and_deliver_says_so(engine, certificate, tmp_path) -> None:
    context, ca_file = certificate
    controller = Controller(Inbox(), hostname="127.0.0.1", port=free_port(), authenticator=_authenticator,
                            tls_context=context, require_starttls=True)
    controller.start()
    try:
        port = controller.port
        wrong = tmp_path / "smtp.pass"
        wrong.write_text("nope")
        receiver = Receiver(name="mail", format="email", to=["ops@example.com"], **{"from": "kpi@example.com"},
                            smarthost=f"127.0.0.1:{port}", username="alerts", password_file=wrong, ca_file=ca_file)
        runtime = runtime_with(engine, receiver)
        evaluate_cycle(runtime, now=T0, judge=OFF)
        result = deliver_pass(runtime, now=T0)
    finally:
        controller.stop()
    assert result.problems() == {"mail": "1 notifications dead (last: SMTP 535)"}

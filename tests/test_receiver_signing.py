"""Signatures made at the moment each request goes out, checked by the reference
`standardwebhooks` verifier with its 5-minute tolerance, against a slow loopback receiver
whose slowness is an injected clock (8 s per request) rather than real sleeping; secret
rotation; the bounds on a secret."""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import standardwebhooks.webhooks as reference
from standardwebhooks import Webhook
from werkzeug.wrappers import Request, Response

from tests.alerting_helpers import make_runtime
from tracker.catalog.receivers import Receiver
from tracker.catalog.settings import check_secret
from tracker.delivery import deliver_pass, outbox
from tracker.store import db

T0 = datetime(2026, 7, 5, tzinfo=UTC)
OLD = "whsec_" + base64.b64encode(b"o" * 32).decode()
NEW = "whsec_" + base64.b64encode(b"n" * 32).decode()


class SlowClock:
    """The time of the test's world: each request the receiver handles takes 8 s of it."""

    def __init__(self, start: datetime) -> None:
        self.now, self.lock = start, threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += timedelta(seconds=seconds)


@pytest.fixture
def verifier_clock(monkeypatch):  # type: ignore[no-untyped-def]
    """The reference verifier's `datetime.now` reads the test's clock."""
    clock = SlowClock(T0)

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
            return clock()

    monkeypatch.setattr(reference, "datetime", Frozen)
    return clock


def _runtime(engine, url: str, monkeypatch, secret: str):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HOOK_SECRET", secret)
    runtime = make_runtime(engine)
    receiver = Receiver(name="slow", url=url, secret="${HOOK_SECRET}", concurrency=4)
    runtime.__dict__["catalog"] = runtime.catalog.model_copy(update={"receivers": (receiver,)})
    return runtime


def _queue(engine, count: int) -> None:  # type: ignore[no-untyped-def]
    with db.session(engine, write=True) as session:
        for n in range(count):
            body = json.dumps({"type": "alert.firing", "n": n}).encode()
            outbox.enqueue(session, receiver="slow", fingerprint=f"f{n}", subject=f"goal:g{n}", event="alert.firing",
                           reason="first notification", body=body, now=T0)


def _receiver(httpserver, clock: SlowClock, keys: list[str], verdicts: list[str]) -> None:  # type: ignore[no-untyped-def]
    lock = threading.Lock()

    def handle(request: Request) -> Response:
        clock.advance(8)  # the receiver's slowness, in the test's time
        outcome = "ok"
        for key in keys:
            try:
                Webhook(key).verify(request.get_data(), dict(request.headers))
                break
            except reference.WebhookVerificationError as error:
                outcome = str(error)
        else:
            with lock:
                verdicts.append(outcome)
            return Response("bad signature", status=400)
        with lock:
            verdicts.append("ok")
        return Response("", status=204)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handle)


def test_two_hundred_notifications_to_a_slow_receiver_all_verify(engine, httpserver, monkeypatch,
                                                                  verifier_clock) -> None:
    verdicts: list[str] = []
    _receiver(httpserver, verifier_clock, [OLD], verdicts)
    runtime = _runtime(engine, httpserver.url_for("/hook"), monkeypatch, OLD)
    _queue(engine, 200)
    result = deliver_pass(runtime, now=T0, clock=verifier_clock)
    assert result.total("sent") == 200 and verdicts == ["ok"] * 200
    # 200 requests of 8 s each: the pass ran 1,600 s, far past the 5-minute tolerance, and
    # a timestamp stamped once per pass would have failed every request after the 38th
    assert verifier_clock() - T0 == timedelta(seconds=1600)
    stamps = sorted(int(request.headers["webhook-timestamp"]) for request, _ in httpserver.log)
    assert stamps[-1] - stamps[0] >= 1500


@pytest.mark.parametrize(
    ("sender", "receiver_keys"),
    [(f"{OLD} {NEW}", [OLD]), (f"{OLD} {NEW}", [NEW]), (NEW, [NEW, OLD])],
    ids=["receiver-still-on-old", "receiver-moved-to-new", "old-retired"],
)
def test_rotation_never_fails_a_delivery(engine, httpserver, monkeypatch, verifier_clock, sender,  # type: ignore[no-untyped-def]
                                         receiver_keys) -> None:
    verdicts: list[str] = []
    _receiver(httpserver, verifier_clock, receiver_keys, verdicts)
    runtime = _runtime(engine, httpserver.url_for("/hook"), monkeypatch, sender)
    _queue(engine, 5)
    assert deliver_pass(runtime, now=T0, clock=verifier_clock).total("sent") == 5
    assert verdicts == ["ok"] * 5
    signatures = [request.headers["webhook-signature"].split(" ") for request, _ in httpserver.log]
    assert all(len(found) == len(sender.split()) and all(s.startswith("v1,") for s in found) for found in signatures)


def _key(size: int) -> str:
    return "whsec_" + base64.b64encode(b"k" * size).decode()


@pytest.mark.parametrize(
    ("value", "problem"),
    [(_key(24), None), (_key(64), None), (f"{_key(32)} {_key(40)}", None), ("whsec_AA==", "1 bytes"),
     (_key(23), "23 bytes"), (_key(65), "65 bytes"), (f"{_key(32)} whsec_AA==", "secret 2 of 2"),
     (f"{_key(32)} nope", "secret 2 of 2 must start with 'whsec_'"), ("whsec_!!", "non-empty base64"), (" ", "must")],
    ids=["24-bytes", "64-bytes", "two", "one-byte", "23-bytes", "65-bytes", "second-too-short", "second-no-prefix",
         "not-base64", "blank"],
)
def test_secret_bounds(value, problem) -> None:  # type: ignore[no-untyped-def]
    if problem is None:
        check_secret(value)
        return
    with pytest.raises(ValueError, match=problem) as raised:
        check_secret(value)
    assert "k" * 8 not in str(raised.value)  # the message never shows the key

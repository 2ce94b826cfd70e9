"""Pure parts of delivery: the retry schedule, pipeline stages and signing (the payload
formats: tests/test_formats.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from freezegun import freeze_time
from standardwebhooks import Webhook

from tracker.catalog.routing import Target
from tracker.delivery.channel import DeliveryError, WebhookChannel
from tracker.delivery.pipeline import Context, Job, run
from tracker.delivery.schedule import DELAYS, MAX_ATTEMPTS, next_attempt, parse_retry_after

NOW = datetime(2026, 7, 5, tzinfo=timezone.utc)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.mark.parametrize(
    "attempts, r, retry_after, expected",
    [
        (1, 0.5, None, timedelta(seconds=5)),
        (2, 0.5, None, timedelta(minutes=5)),
        (3, 0.0, None, timedelta(minutes=24)),
        (3, 1.0, None, timedelta(minutes=36)),
        (8, 0.5, None, timedelta(hours=20)),
        (9, 0.5, None, timedelta(hours=24)),
        (1, 0.5, timedelta(seconds=120), timedelta(seconds=120)),
        (2, 0.5, timedelta(seconds=1), timedelta(minutes=5)),
        (1, 0.5, timedelta(days=9), timedelta(days=1)),
    ],
    ids=["5s", "5m", "30m-low", "30m-high", "20h", "24h", "retry-after-longer", "retry-after-shorter",
         "retry-after-capped"],
)
def test_retry_schedule(attempts: int, r: float, retry_after, expected: timedelta) -> None:  # type: ignore[no-untyped-def]
    assert next_attempt(attempts, NOW, rng=lambda: r, retry_after=retry_after) == NOW + expected


def test_schedule_gives_up_after_the_last_attempt() -> None:
    assert len(DELAYS) == 9 and MAX_ATTEMPTS == 10
    assert next_attempt(MAX_ATTEMPTS, NOW, rng=lambda: 0.5) is None


@pytest.mark.parametrize(
    "header, expected",
    [("120", timedelta(seconds=120)), ("Sun, 05 Jul 2026 00:01:00 GMT", timedelta(minutes=1)), (None, None),
     ("soon", None), ("Sat, 04 Jul 2026 00:00:00 GMT", timedelta(0))],
    ids=["seconds", "http-date", "absent", "garbage", "past-date"],
)
def test_retry_after(header, expected) -> None:  # type: ignore[no-untyped-def]
    assert parse_retry_after(header, NOW) == expected


def test_signature_verifies_with_standardwebhooks_over_the_exact_bytes() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    body = json.dumps({"type": "alert.firing", "data": {"summary": "小米 EV: projected 87%"}}, ensure_ascii=False).encode()
    channel = WebhookChannel(Target("ops", "https://hooks.example.com/x", secret=SECRET),
                             httpx.Client(transport=httpx.MockTransport(handler)), clock=lambda: NOW)
    assert channel.send("msg_1", body, now=NOW - timedelta(hours=1)) == 204  # signed by the clock, as sent
    (request,) = seen
    assert request.content == body
    assert request.headers["webhook-id"] == "msg_1"
    assert request.headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    with freeze_time(NOW):  # the receiver's clock at the time of the attempt
        assert Webhook(SECRET).verify(request.content, dict(request.headers))["data"]["summary"] == "小米 EV: projected 87%"
        with pytest.raises(Exception):
            Webhook(SECRET).verify(request.content + b" ", dict(request.headers))


@pytest.mark.parametrize(
    "status, headers, permanent, retry_after",
    [(410, {}, True, None), (500, {}, False, None), (429, {"retry-after": "60"}, False, timedelta(seconds=60)),
     (503, {"retry-after": "7"}, False, timedelta(seconds=7)), (400, {"retry-after": "60"}, False, None)],
    ids=["gone", "server-error", "too-many", "unavailable", "retry-after-ignored-on-400"],
)
def test_channel_error_says_if_permanent(status, headers, permanent, retry_after) -> None:  # type: ignore[no-untyped-def]
    client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(status, headers=headers)))
    with pytest.raises(DeliveryError) as caught:
        WebhookChannel(Target("ops", "https://h.example.com/secret-path"), client).send("m", b"{}", now=NOW)
    assert (caught.value.permanent, caught.value.status, caught.value.retry_after) == (permanent, status, retry_after)


def test_transport_error_text_hides_the_url_path() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}")

    client = httpx.Client(transport=httpx.MockTransport(refuse))
    with pytest.raises(DeliveryError) as caught:
        WebhookChannel(Target("s", "https://hooks.slack.com/services/T0/B0/token"), client).send("m", b"{}", now=NOW)
    assert "token" not in str(caught.value) and "hooks.slack.com" in str(caught.value)
    assert not caught.value.permanent


class FakeChannel:
    def __init__(self, error: DeliveryError | None = None) -> None:
        self.error, self.calls = error, 0

    def send(self, webhook_id: str, body: bytes, *, now: datetime) -> int:
        self.calls += 1
        if self.error:
            raise self.error
        return 200


def job(**changes) -> Job:  # type: ignore[no-untyped-def]
    return Job(**{**dict(id=5, webhook_id="msg_5", receiver="ops", fingerprint="fp", subject="goal:g", body=b"{}",
                         attempts=0), **changes})


@pytest.mark.parametrize(
    "job_changes, ctx_changes, error, outcome, reason",
    [
        ({}, {}, None, "sent", "delivered"),
        ({}, {"silenced": {"goal:g": NOW + timedelta(hours=1)}}, None, "muted", "silenced until 2026-07-05T01:00:00Z"),
        ({}, {"latest_sent": {("ops", "fp"): 9}}, None, "superseded", "a newer notification was delivered"),
        ({}, {"latest_sent": {("ops", "fp"): 3}}, None, "sent", "delivered"),
        ({}, {"disabled": frozenset({"ops"})}, None, "dead", "receiver is disabled (it answered 410 Gone)"),
        ({"receiver": "gone"}, {}, None, "dead", "receiver is not configured"),
        ({}, {}, DeliveryError("HTTP 500", status=500), "retry", "HTTP 500"),
        ({}, {}, DeliveryError("HTTP 410", status=410, permanent=True), "dead", "HTTP 410"),
        ({"attempts": 9}, {}, DeliveryError("HTTP 500", status=500), "dead", "HTTP 500 (gave up after 10 attempts)"),
    ],
    ids=["send", "mute", "superseded", "older-sent", "disabled", "unknown-receiver", "retry", "gone", "last-attempt"],
)
def test_pipeline_outcomes(job_changes, ctx_changes, error, outcome, reason) -> None:  # type: ignore[no-untyped-def]
    channel = FakeChannel(error)
    ctx = Context(now=NOW, channels={"ops": channel}, rng=lambda: 0.5, **ctx_changes)
    done = run(job(**job_changes), ctx)
    assert (done.outcome, done.reason) == (outcome, reason)
    assert channel.calls == (1 if outcome in ("sent", "retry") or error else 0)
    if outcome == "retry":
        assert done.next_attempt_at == NOW + timedelta(seconds=5) and done.attempts == 1
    assert done.disable is (error is not None and error.status == 410)

"""Channels: one method, `send`, and one error type that says whether retrying can help.

A webhook channel signs the exact bytes it posts (Standard Webhooks: `webhook-id`,
`webhook-timestamp`, `webhook-signature` over "{id}.{timestamp}.{body}"), at the moment it
posts them: the timestamp is the channel's clock when the request goes out, never when its
pass began, and each secret of a rotation adds its own `v1,` signature. Credentials (the
URL, header values, the secret, PagerDuty's routing key) are resolved from their `${NAME}`
references for each request. The log channel, used when no receiver is configured, writes
the notification to the log instead; email has its own channel (tracker.delivery.mail).
Error texts never carry a receiver's URL path or query (Slack's carry the token) or secret.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx
import structlog
from standardwebhooks import Webhook

from tracker.catalog.receivers import Ref
from tracker.catalog.routing import Target
from tracker.core.urls import redact_url
from tracker.delivery.failure import DeliveryError, resolve
from tracker.delivery.http import deadline, read_capped
from tracker.delivery.schedule import parse_retry_after

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Channel(Protocol):
    def send(self, webhook_id: str, body: bytes, *, now: datetime) -> int: ...


def sign(secrets: str, webhook_id: str, at: datetime, body: bytes) -> str:
    """`v1,<sig>` for each space-separated secret, space-separated (the specification's form
    while secrets rotate: a receiver that knows any one of them verifies)."""
    text = body.decode("utf-8")
    return " ".join(Webhook(secret).sign(webhook_id, at, text) for secret in secrets.split())


def requests_of(target: Target, body: bytes, environ: Mapping[str, str]) -> list[tuple[bytes, dict[str, str]]]:
    """The request(s) one queued body becomes: (bytes to post, headers of the format)."""
    if target.format == "template":
        envelope = json.loads(body)
        if "error" in envelope:
            raise DeliveryError(f"template failed: {envelope['error']}", permanent=True)
        headers = {name: _resolved(f"header {name}", text, environ) for name, text in envelope["headers"].items()}
        return [(envelope["body"].encode("utf-8"), {"content-type": "application/json", **headers})]
    if target.format == "pagerduty":
        assert target.routing_key is not None
        key = resolve("routing_key", lambda: target.routing_key.value(environ))  # type: ignore[union-attr]
        events = [{"routing_key": key, **event} for event in json.loads(body)]
        return [(json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode(),
                 {"content-type": "application/json"}) for event in events]
    return [(body, {"content-type": "application/json"})]


def _resolved(what: str, text: str, environ: Mapping[str, str]) -> str:
    return resolve(what, lambda: Ref(text).value(environ))


class WebhookChannel:
    """Posts to one receiver. Each attempt has a whole-request deadline (`timeout`: connect,
    headers and body together); at most MAX_BODY bytes of the answer are read, and only its
    status and Retry-After are kept: nothing a receiver sends is stored or shown, and nothing
    it sends can raise anything but a DeliveryError."""

    def __init__(self, target: Target, client: httpx.Client, *, timeout: float = 15.0, clock: Clock = utc_now,
                 environ: Mapping[str, str] | None = None) -> None:
        assert target.url is not None
        self.target = target
        self.client = client
        self.timeout = timeout
        self.clock = clock
        self.environ = os.environ if environ is None else environ

    def headers(self, webhook_id: str, body: bytes, at: datetime, extra: Mapping[str, str]) -> dict[str, str]:
        own = {} if self.target.format == "template" else resolve(
            "headers", lambda: self.target.header_values(self.environ))
        headers = {**extra, **own, "webhook-id": webhook_id, "webhook-timestamp": str(int(at.timestamp()))}
        if self.target.secret is not None:
            secrets = resolve("secret", lambda: self.target.secret.value(self.environ))  # type: ignore[union-attr]
            headers["webhook-signature"] = sign(secrets, webhook_id, at, body)
        return headers

    def send(self, webhook_id: str, body: bytes, *, now: datetime) -> int:
        status = 0
        for content, extra in requests_of(self.target, body, self.environ):
            status = self._send_one(webhook_id, content, extra, now)
        return status

    def _send_one(self, webhook_id: str, content: bytes, extra: Mapping[str, str], now: datetime) -> int:
        url = resolve("url", lambda: self.target.url.value(self.environ))  # type: ignore[union-attr]
        try:
            status, retry_after = self._post(url, webhook_id, content, extra, now)
        except DeliveryError:
            raise
        except httpx.TimeoutException as error:
            raise DeliveryError(f"{type(error).__name__}: no complete answer within {self.timeout:g} s") from None
        except httpx.HTTPError as error:
            # httpx messages can quote the URL, and the URL can carry a token: the type is enough
            raise DeliveryError(f"{type(error).__name__}: {_brief(error)} ({redact_url(url)})") from None
        except Exception as error:  # noqa: BLE001 (whatever else a receiver provokes is a failed attempt)
            raise DeliveryError(f"unexpected {type(error).__name__} while sending") from None
        if 200 <= status < 300:
            return status
        raise DeliveryError(f"HTTP {status}", permanent=status == 410, status=status, retry_after=retry_after)

    def _post(self, url: str, webhook_id: str, body: bytes, extra: Mapping[str, str],
              now: datetime) -> tuple[int, timedelta | None]:
        with deadline(self.timeout):
            headers = self.headers(webhook_id, body, self.clock(), extra)  # signed as it goes out
            with self.client.stream("POST", url, content=body, headers=headers, timeout=self.timeout) as response:
                read_capped(response)  # a body is read (keep-alive) up to a cap, never kept
                status = response.status_code
                after = response.headers.get("retry-after") if status in (429, 503) else None
        return status, parse_retry_after(after, now)


def _brief(error: Exception) -> str:
    """The error's own words when they quote no URL, else only that it failed."""
    text = str(error)
    return "request failed" if ("://" in text or "/" in text or not text) else text[:200]


class LogChannel:
    """Writes notifications to the log: with no receiver configured, a first run shows them."""

    def __init__(self, name: str) -> None:
        self.log = structlog.get_logger("tracker.notifications").bind(receiver=name)

    def send(self, webhook_id: str, body: bytes, *, now: datetime) -> int:
        payload = json.loads(body)
        data = payload.get("data", {})
        alerts = data.get("alerts", [])
        self.log.warning(
            "alert notification",
            webhook_id=webhook_id,
            type=payload.get("type"),
            group=data.get("group_key"),
            reason=alerts[0].get("reason") if alerts else None,
            alerts=[f"{a.get('state')} {a.get('rule')} {a.get('goal') or a.get('labels', {}).get('source')}: "
                    f"{a.get('summary')}" for a in alerts],
        )
        return 200


def make_channel(target: Target, client: httpx.Client, *, timeout: float = 15.0, clock: Clock = utc_now) -> Channel:
    if target.format == "email":
        from tracker.delivery.mail import EmailChannel  # only for email

        return EmailChannel(target, timeout=timeout)
    if target.is_log:
        return LogChannel(target.name)
    return WebhookChannel(target, client, timeout=timeout, clock=clock)

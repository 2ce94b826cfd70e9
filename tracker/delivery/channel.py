"""Channels: one method, `send`, and one error type that says whether retrying can help.

A webhook channel signs the exact bytes it posts (Standard Webhooks: `webhook-id`,
`webhook-timestamp`, `webhook-signature` over "{id}.{timestamp}.{body}"). The log channel,
used when no receiver is configured, writes the notification to the log instead.
Error texts never carry a receiver's URL path or query (Slack's carry the token) or secret.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Protocol

import httpx
import structlog
from standardwebhooks import Webhook

from tracker.catalog.routing import Target
from tracker.core.urls import redact_url
from tracker.delivery.http import deadline, read_capped
from tracker.delivery.schedule import parse_retry_after


class DeliveryError(Exception):
    """A failed send. `permanent`: retrying cannot help (410 Gone); `retry_after`: the
    receiver asked for a pause (429, 503)."""

    def __init__(
        self, message: str, *, permanent: bool = False, status: int | None = None, retry_after: timedelta | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status = status
        self.retry_after = retry_after


class Channel(Protocol):
    def send(self, webhook_id: str, body: bytes, *, now: datetime) -> int: ...


class WebhookChannel:
    """Posts to one receiver. Each attempt has a whole-request deadline (`timeout`: connect,
    headers and body together); at most MAX_BODY bytes of the answer are read, and only its
    status and Retry-After are kept: nothing a receiver sends is stored or shown, and nothing
    it sends can raise anything but a DeliveryError."""

    def __init__(self, target: Target, client: httpx.Client, *, timeout: float = 15.0) -> None:
        assert target.url is not None
        self.target = target
        self.client = client
        self.timeout = timeout
        self._signer = Webhook(target.secret) if target.secret else None
        self._headers = {"content-type": "application/json", **dict(target.headers)}

    def headers(self, webhook_id: str, body: bytes, now: datetime) -> dict[str, str]:
        headers = {**self._headers, "webhook-id": webhook_id, "webhook-timestamp": str(int(now.timestamp()))}
        if self._signer is not None:
            headers["webhook-signature"] = self._signer.sign(webhook_id, now, body.decode("utf-8"))
        return headers

    def send(self, webhook_id: str, body: bytes, *, now: datetime) -> int:
        try:
            status, retry_after = self._post(webhook_id, body, now)
        except httpx.TimeoutException as error:
            raise DeliveryError(f"{type(error).__name__}: no complete answer within {self.timeout:g} s") from None
        except httpx.HTTPError as error:
            # httpx messages can quote the URL, and the URL can carry a token: the type is enough
            raise DeliveryError(f"{type(error).__name__}: {_brief(error)} ({redact_url(self.target.url)})") from None
        except Exception as error:  # whatever else a receiver can provoke is a failed attempt
            raise DeliveryError(f"unexpected {type(error).__name__} while sending") from None
        if 200 <= status < 300:
            return status
        raise DeliveryError(f"HTTP {status}", permanent=status == 410, status=status, retry_after=retry_after)

    def _post(self, webhook_id: str, body: bytes, now: datetime) -> tuple[int, timedelta | None]:
        assert self.target.url is not None
        with deadline(self.timeout):
            headers = self.headers(webhook_id, body, now)
            with self.client.stream("POST", self.target.url, content=body, headers=headers,
                                    timeout=self.timeout) as response:
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


def make_channel(target: Target, client: httpx.Client, *, timeout: float = 15.0) -> Channel:
    return LogChannel(target.name) if target.url is None else WebhookChannel(target, client, timeout=timeout)

"""`pagerduty`: PagerDuty Events API v2, one event per alert of the group: `trigger` while it
fires, `resolve` when it ends, `dedup_key` the alert's fingerprint, so PagerDuty keeps one
incident per alert. The body is the list of events without `routing_key`: the key is a
secret, added by the channel when it sends (tracker.delivery.services), never stored.

Limits (developer.pagerduty.com, Send an Alert Event): `summary` at most 1,024 characters,
`dedup_key` at most 255, severity one of critical, error, warning, info.
"""

from __future__ import annotations

from typing import Any

from tracker.delivery.formats.notice import (
    Notice,
    NoticeAlert,
    annotations,
    cut,
    dump,
    utc_text,
)

URL = "https://events.pagerduty.com/v2/enqueue"
SUMMARY = 1024
DEDUP_KEY = 255
SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}  # anything else: error


def render(notice: Notice) -> bytes:
    return dump([event(alert, notice) for alert in notice.alerts])


def event(alert: NoticeAlert, notice: Notice) -> dict[str, Any]:
    key = cut(alert.fingerprint, DEDUP_KEY)
    if alert.state == "resolved":
        return {"event_action": "resolve", "dedup_key": key}
    found: dict[str, Any] = {
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {
            "summary": cut(alert.summary, SUMMARY),
            "source": alert.goal or alert.subject,
            "severity": SEVERITY.get(alert.severity, "error"),
            "timestamp": utc_text(alert.starts_at or notice.timestamp),
            "component": alert.labels.get("business", "kpi-tracker"),
            "group": notice.group_key[:255],
            "class": alert.rule,
            "custom_details": {**annotations(alert), "labels": alert.labels, "reason": alert.reason},
        },
        "client": "kpi-tracker",
    }
    url = notice.alert_url(alert)
    if url:
        found["client_url"] = url
        found["links"] = [{"href": url, "text": cut(alert.title or alert.subject, 100)}]
    return found

"""Payload formats: the exact bytes a receiver gets for one notification.

`native` is CONTRACT.md's body; `alertmanager` is Alertmanager's webhook v4 body, so existing
Alertmanager webhook receivers work unchanged; `slack` is an incoming-webhook message with
text (for notifications and old clients) and blocks; `alertmanager_api` is the list of
alerts that Alertmanager's POST /api/v2/alerts takes. Bodies are rendered once, when the
notification is queued, and the same bytes are signed and sent on every attempt.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

_ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt for an alert that has not ended


@dataclass(frozen=True)
class Notice:
    """Everything any format needs to say about one alert notification."""

    event: str  # alert.firing or alert.resolved
    timestamp: datetime
    receiver: str
    fingerprint: str
    rule: str
    severity: str
    subject: str
    title: str
    state: str
    reason: str
    summary: str
    labels: dict[str, str] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    expires_at: datetime | None = None  # alertmanager_api: firing until then unless re-sent
    generator_url: str = ""

    @property
    def goal(self) -> str | None:
        return self.subject.removeprefix("goal:") if self.subject.startswith("goal:") else None


def utc_text(value: datetime | None) -> str | None:
    """`2026-07-05T00:00:00Z`: seconds precision, Z for UTC, as the contract shows."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=False).encode()


def native(notice: Notice) -> bytes:
    return _dump(
        {
            "type": notice.event,
            "timestamp": utc_text(notice.timestamp),
            "data": {
                "fingerprint": notice.fingerprint,
                "rule": notice.rule,
                "severity": notice.severity,
                "goal": notice.goal,
                "goal_title": notice.title,
                "state": notice.state,
                "reason": notice.reason,
                "summary": notice.summary,
                "evaluation": notice.evaluation,
                "labels": notice.labels,
                "starts_at": utc_text(notice.starts_at),
                "ends_at": utc_text(notice.ends_at),
            },
        }
    )


def _am_alert(notice: Notice) -> dict[str, Any]:
    return {
        "status": notice.state,
        "labels": notice.labels,
        "annotations": {"summary": notice.summary, "title": notice.title, "reason": notice.reason},
        "startsAt": utc_text(notice.starts_at) or _ZERO_TIME,
        "endsAt": utc_text(notice.ends_at) or _ZERO_TIME,
        "generatorURL": "",
        "fingerprint": notice.fingerprint,
    }


def alertmanager(notice: Notice) -> bytes:
    """Alertmanager webhook v4, one alert per message (each alert is its own group)."""
    alert = _am_alert(notice)
    group = {"alertname": notice.rule, "subject": notice.subject}
    key = "{}:{" + ", ".join(f'{k}="{v}"' for k, v in group.items()) + "}"
    return _dump(
        {
            "version": "4",
            "groupKey": key,
            "truncatedAlerts": 0,
            "status": notice.state,
            "receiver": notice.receiver,
            "groupLabels": group,
            "commonLabels": notice.labels,
            "commonAnnotations": alert["annotations"],
            "externalURL": "",
            "alerts": [alert],
        }
    )


def alertmanager_api(notice: Notice) -> bytes:
    """One alert for POST /api/v2/alerts, as Prometheus pushes it: while firing, endsAt lies
    a few evaluation intervals ahead and the alert is re-sent every cycle (Alertmanager
    resolves an alert whose endsAt has passed); on resolve, endsAt is the resolve time."""
    ends = notice.ends_at if notice.state == "resolved" else notice.expires_at
    alert = {
        "labels": {"alertname": notice.rule, **notice.labels, "severity": notice.severity},
        "annotations": {"summary": notice.summary, "description": f"{notice.title}: {notice.summary}"},
        "startsAt": utc_text(notice.starts_at or notice.timestamp),
    }
    if ends is not None:  # without it, Alertmanager applies its resolve_timeout
        alert["endsAt"] = utc_text(ends)
    if notice.generator_url:  # Alertmanager wants a URL or nothing
        alert["generatorURL"] = notice.generator_url
    return _dump([alert])


_ICON = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}


def slack(notice: Notice) -> bytes:
    icon = ":white_check_mark:" if notice.state == "resolved" else _ICON.get(notice.severity, "")
    head = f"{icon} [{notice.state.upper()}] {notice.title}".strip()
    return _dump(
        {
            "text": f"{head}: {notice.summary}",
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": f"*{head}*\n{notice.summary}"}},
                {
                    "type": "context",
                    "elements": [
                        {"type": "mrkdwn", "text": f"{notice.rule} · {notice.severity} · {notice.reason}"}
                    ],
                },
            ],
        }
    )


FORMATS: dict[str, Callable[[Notice], bytes]] = {
    "native": native,
    "alertmanager": alertmanager,
    "alertmanager_api": alertmanager_api,
    "slack": slack,
}


def render(format_name: str, notice: Notice) -> bytes:
    return FORMATS[format_name](notice)

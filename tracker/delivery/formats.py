"""Payload formats: the exact bytes a receiver gets for one notification, which carries one
group of alerts (tracker.core.grouping).

`native` is CONTRACT.md's body; `alertmanager` is Alertmanager's webhook v4 body, so existing
Alertmanager webhook receivers work unchanged; `slack` is an incoming-webhook message
listing the group, with text (for notifications and old clients) and blocks;
`alertmanager_api` is the list of alerts that Alertmanager's POST /api/v2/alerts takes.
Bodies are rendered once, when the notification is queued, and the same bytes are signed and
sent on every attempt.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

_ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt for an alert that has not ended


@dataclass(frozen=True)
class NoticeAlert:
    """One alert of a group notification, as every format needs it."""

    fingerprint: str
    rule: str
    severity: str
    subject: str
    title: str
    state: str  # firing or resolved
    reason: str
    summary: str
    labels: dict[str, str] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    @property
    def goal(self) -> str | None:
        return self.subject.removeprefix("goal:") if self.subject.startswith("goal:") else None


@dataclass(frozen=True)
class Notice:
    """One notification: a group of alerts (firing and resolved) for one receiver."""

    event: str  # alert.firing while any alert of the group fires, else alert.resolved
    timestamp: datetime
    receiver: str
    group_key: str
    group_labels: dict[str, str]
    alerts: tuple[NoticeAlert, ...]
    reason: str = ""
    expires_at: datetime | None = None  # alertmanager_api: firing until then unless re-sent
    generator_url: str = ""

    @property
    def status(self) -> str:
        return "resolved" if self.event == "alert.resolved" else "firing"

    @property
    def common_labels(self) -> dict[str, str]:
        return _common([a.labels for a in self.alerts])


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    """The pairs every map has (Alertmanager's commonLabels and commonAnnotations)."""
    if not maps:
        return {}
    first, rest = maps[0], maps[1:]
    return {k: v for k, v in sorted(first.items()) if all(m.get(k) == v for m in rest)}


def utc_text(value: datetime | None) -> str | None:
    """`2026-07-05T00:00:00Z`: seconds precision, Z for UTC, as the contract shows."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=False).encode()


def native(notice: Notice) -> bytes:
    """CONTRACT.md's body: the group, each alert the object of one alert."""
    return _dump(
        {
            "type": notice.event,
            "timestamp": utc_text(notice.timestamp),
            "data": {
                "group_key": notice.group_key,
                "group_labels": notice.group_labels,
                "common_labels": notice.common_labels,
                "alerts": [_native_alert(alert) for alert in notice.alerts],
            },
        }
    )


def _native_alert(alert: NoticeAlert) -> dict[str, Any]:
    return {
        "fingerprint": alert.fingerprint,
        "rule": alert.rule,
        "severity": alert.severity,
        "goal": alert.goal,
        "goal_title": alert.title,
        "state": alert.state,
        "reason": alert.reason,
        "summary": alert.summary,
        "evaluation": alert.evaluation,
        "labels": alert.labels,
        "starts_at": utc_text(alert.starts_at),
        "ends_at": utc_text(alert.ends_at),
    }


def _labels(alert: NoticeAlert) -> dict[str, str]:
    """The labels Alertmanager sees, the same in its webhook body and in what we push."""
    return {"alertname": alert.rule, **alert.labels, "severity": alert.severity}


def _annotations(alert: NoticeAlert) -> dict[str, str]:
    return {"summary": alert.summary, "description": f"{alert.title}: {alert.summary}"}


def _am_alert(alert: NoticeAlert, generator_url: str) -> dict[str, Any]:
    return {
        "status": alert.state,
        "labels": _labels(alert),
        "annotations": _annotations(alert),
        "startsAt": utc_text(alert.starts_at) or _ZERO_TIME,
        "endsAt": utc_text(alert.ends_at) or _ZERO_TIME,
        "generatorURL": generator_url,
        "fingerprint": alert.fingerprint,
    }


def alertmanager(notice: Notice) -> bytes:
    """Alertmanager's webhook v4 body for the group, key for key as Alertmanager sends it."""
    alerts = [_am_alert(alert, notice.generator_url) for alert in notice.alerts]
    return _dump(
        {
            "receiver": notice.receiver,
            "status": notice.status,
            "alerts": alerts,
            "groupLabels": notice.group_labels,
            "commonLabels": _common([a["labels"] for a in alerts]),
            "commonAnnotations": _common([a["annotations"] for a in alerts]),
            "externalURL": "",
            "version": "4",
            "groupKey": notice.group_key,
            "truncatedAlerts": 0,
        }
    )


def alertmanager_api(notice: Notice) -> bytes:
    """The group's alerts for POST /api/v2/alerts, as Prometheus pushes them: while firing,
    endsAt lies a few evaluation intervals ahead and the alert is re-sent every cycle
    (Alertmanager resolves an alert whose endsAt has passed); on resolve, endsAt is the
    resolve time."""
    return _dump([_pushed(alert, notice) for alert in notice.alerts])


def _pushed(alert: NoticeAlert, notice: Notice) -> dict[str, Any]:
    ends = alert.ends_at if alert.state == "resolved" else notice.expires_at
    pushed = {
        "labels": _labels(alert),
        "annotations": _annotations(alert),
        "startsAt": utc_text(alert.starts_at or notice.timestamp),
    }
    if ends is not None:  # without it, Alertmanager applies its resolve_timeout
        pushed["endsAt"] = utc_text(ends)
    if notice.generator_url:  # Alertmanager wants a URL or nothing
        pushed["generatorURL"] = notice.generator_url
    return pushed


_ICON = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}


def slack(notice: Notice) -> bytes:
    """One message for the group: a head line, then one line per alert."""
    firing = sum(1 for a in notice.alerts if a.state == "firing")
    named = ", ".join(f"{k}={v}" for k, v in notice.group_labels.items()) or "all alerts"
    head = f"[{notice.status.upper()}:{firing or len(notice.alerts)}] {named}"
    lines = [_slack_line(alert) for alert in notice.alerts]
    return _dump(
        {
            "text": head + "\n" + "\n".join(lines),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": f"*{head}*\n" + "\n".join(lines)}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": notice.reason or notice.status}]},
            ],
        }
    )


def _slack_line(alert: NoticeAlert) -> str:
    icon = ":white_check_mark:" if alert.state == "resolved" else _ICON.get(alert.severity, "")
    return f"{icon} [{alert.state.upper()}] {alert.summary} ({alert.rule} · {alert.severity})".strip()


FORMATS: dict[str, Callable[[Notice], bytes]] = {
    "native": native,
    "alertmanager": alertmanager,
    "alertmanager_api": alertmanager_api,
    "slack": slack,
}


def render(format_name: str, notice: Notice) -> bytes:
    return FORMATS[format_name](notice)

"""`native`: CONTRACT.md's body, the group with each alert's own object."""

from __future__ import annotations

from typing import Any

from tracker.delivery.formats.notice import Notice, NoticeAlert, dump, utc_text


def render(notice: Notice) -> bytes:
    return dump(
        {
            "type": notice.event,
            "timestamp": utc_text(notice.timestamp),
            "data": {
                "group_key": notice.group_key,
                "group_labels": notice.group_labels,
                "common_labels": notice.common_labels,
                "alerts": [_alert(alert) for alert in notice.alerts],
            },
        }
    )


def _alert(alert: NoticeAlert) -> dict[str, Any]:
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

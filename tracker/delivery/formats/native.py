"""`native`: CONTRACT.md's body, the group with each alert's own object."""

from __future__ import annotations

from typing import Any

from tracker.delivery.formats.notice import Notice, NoticeAlert, dump, plain, utc_text

_OPEN_LIST = b'"alerts":[]}}'  # how the body without its alerts ends


def render(notice: Notice) -> bytes:
    """One `dump` per alert, joined into the group's body: the same bytes as one `dump` of
    the whole (compact separators), without every alert's status object decoded at once."""
    head = dump(
        {
            "type": notice.event,
            "timestamp": utc_text(notice.timestamp),
            "data": {
                "group_key": notice.group_key,
                "group_labels": notice.group_labels,
                "common_labels": notice.common_labels,
                "alerts": [],  # last in the body: the alerts go where it closes
            },
        }
    )
    assert head.endswith(_OPEN_LIST)
    alerts = b",".join(dump(_alert(alert)) for alert in notice.alerts)
    return head[: -len(b"]}}")] + alerts + b"]}}"


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
        "evaluation": plain(alert.evaluation),
        "labels": alert.labels,
        "starts_at": utc_text(alert.starts_at),
        "ends_at": utc_text(alert.ends_at),
    }

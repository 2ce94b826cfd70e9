"""`alertmanager`: Alertmanager's webhook v4 body, key for key as Alertmanager sends it, and
`alertmanager_api`: the alerts Alertmanager's POST /api/v2/alerts takes, as Prometheus
pushes them. Both carry the same labels and annotations; fingerprints are Alertmanager's own
for the label set, and URLs come from TRACKER_EXTERNAL_URL."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tracker.delivery.formats.notice import (
    ZERO_TIME,
    Notice,
    NoticeAlert,
    am_labels,
    annotations,
    common,
    dump,
    fingerprint,
    utc_text,
)


def render_webhook(notice: Notice) -> bytes:
    alerts = [_webhook_alert(alert, notice) for alert in notice.alerts]
    return dump(
        {
            "receiver": notice.receiver,
            "status": notice.status,
            "alerts": alerts,
            "groupLabels": real_group_labels(notice),
            "commonLabels": common([a["labels"] for a in alerts]),
            "commonAnnotations": common([a["annotations"] for a in alerts]),
            "externalURL": notice.external_url.rstrip("/") + "/" if notice.external_url else "",
            "version": "4",
            "groupKey": notice.group_key,
            "truncatedAlerts": 0,
        }
    )


def real_group_labels(notice: Notice) -> dict[str, str]:
    """The group's labels that every alert of it carries with that value: never a name that
    is not an Alertmanager label of the alerts."""
    labelled = [am_labels(alert) for alert in notice.alerts]
    return {k: v for k, v in notice.group_labels.items() if labelled and all(m.get(k) == v for m in labelled)}


def _webhook_alert(alert: NoticeAlert, notice: Notice) -> dict[str, Any]:
    labels = am_labels(alert)
    return {
        "status": alert.state,
        "labels": labels,
        "annotations": annotations(alert),
        "startsAt": utc_text(alert.starts_at) or ZERO_TIME,
        "endsAt": utc_text(alert.ends_at) or ZERO_TIME,
        "generatorURL": notice.alert_url(alert),
        "fingerprint": fingerprint(labels),
    }


def render_api(notice: Notice) -> bytes:
    """While firing, endsAt lies a few evaluation intervals ahead and the alert is pushed
    again every cycle (Alertmanager resolves an alert whose endsAt has passed); on resolve,
    endsAt is the resolve time."""
    return dump(pushed(notice.alerts, notice))


def pushed(alerts: Iterable[NoticeAlert], notice: Notice) -> list[dict[str, Any]]:
    return [_pushed(alert, notice) for alert in alerts]


def _pushed(alert: NoticeAlert, notice: Notice) -> dict[str, Any]:
    ends = alert.ends_at if alert.state == "resolved" else notice.expires_at
    item = {
        "labels": am_labels(alert),
        "annotations": annotations(alert),
        "startsAt": utc_text(alert.starts_at or notice.timestamp),
    }
    if ends is not None:  # without it, Alertmanager applies its resolve_timeout
        item["endsAt"] = utc_text(ends)
    url = notice.alert_url(alert)
    if url:  # Alertmanager wants a URL or nothing
        item["generatorURL"] = url
    return item

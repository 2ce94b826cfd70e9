"""Every format renders a group: native is CONTRACT.md's body, alertmanager is the webhook v4
body key for key, alertmanager_api the list Alertmanager's API takes, slack one message."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tracker.delivery.formats import Notice, NoticeAlert, fingerprint, render

NOW = datetime(2026, 7, 5, tzinfo=timezone.utc)
LATER = NOW + timedelta(hours=4)
SUMMARY = "EV deliveries 2026: projected 481,200 of 550,000 (87%)"
DESCRIPTION = "projected 481,200 of 550,000 (87%) (rule off-track, severity critical)"


def alert(**changes) -> NoticeAlert:  # type: ignore[no-untyped-def]
    base = dict(
        fingerprint="abc123", rule="off-track", severity="critical", subject="goal:ev-deliveries-2026",
        title="EV deliveries 2026", state="firing", reason="first notification", summary=SUMMARY,
        labels={"business": "ev", "goal": "ev-deliveries-2026", "alertname": "off-track", "severity": "critical"},
        evaluation={"goal": "ev-deliveries-2026"}, starts_at=NOW, ends_at=None,
    )
    return NoticeAlert(**{**base, **changes})


STALE = alert(fingerprint="def456", rule="stale-metric", severity="warning", reason="resolved", state="resolved",
              summary="EV deliveries 2026: ev_deliveries is late", ends_at=NOW + timedelta(minutes=5),
              labels={"business": "ev", "goal": "ev-deliveries-2026", "alertname": "stale-metric",
                      "severity": "warning", "metric": "ev_deliveries"})


def notice(*alerts: NoticeAlert, **changes) -> Notice:  # type: ignore[no-untyped-def]
    base = dict(event="alert.firing", timestamp=NOW, receiver="ops", group_key='{}:{business="ev"}',
                group_labels={"business": "ev"}, alerts=alerts or (alert(),), reason="first notification")
    return Notice(**{**base, **changes})


def test_native_body_is_the_contract() -> None:
    body = json.loads(render("native", notice(alert(), STALE)))
    assert body["type"] == "alert.firing" and body["timestamp"] == "2026-07-05T00:00:00Z"
    assert set(body["data"]) == {"group_key", "group_labels", "common_labels", "alerts"}
    assert body["data"]["group_key"] == '{}:{business="ev"}' and body["data"]["group_labels"] == {"business": "ev"}
    assert body["data"]["common_labels"] == {"business": "ev", "goal": "ev-deliveries-2026"}
    first, second = body["data"]["alerts"]
    assert first == {
        "fingerprint": "abc123", "rule": "off-track", "severity": "critical", "goal": "ev-deliveries-2026",
        "goal_title": "EV deliveries 2026", "state": "firing", "reason": "first notification", "summary": SUMMARY,
        "evaluation": {"goal": "ev-deliveries-2026"}, "labels": alert().labels,
        "starts_at": "2026-07-05T00:00:00Z", "ends_at": None,
    }
    assert (second["state"], second["ends_at"]) == ("resolved", "2026-07-05T00:05:00Z")


# How many alerts a native body carries: none (a resolved group emptied), one, several.
@pytest.mark.parametrize("count", [0, 1, 3])
def test_native_body_written_an_alert_at_a_time_is_one_dump_of_the_whole(count: int) -> None:
    """Byte for byte what one compact dump of the body gives, whether the alerts' status
    objects are objects or their stored text (StoredObject, moved to the instant held)."""
    from tracker.delivery.formats.notice import StoredObject, dump, utc_text

    held = NOW + timedelta(hours=1)
    stored = {"goal": "ev-deliveries-2026", "evaluated_at": NOW.isoformat(), "détail": [1.5, None]}
    as_objects = tuple(alert(fingerprint=f"f{k}", evaluation={**stored, "evaluated_at": held.isoformat()})
                       for k in range(count))
    as_text = tuple(alert(fingerprint=f"f{k}", evaluation=StoredObject(json.dumps(stored), held))
                    for k in range(count))
    whole = dump({"type": "alert.firing", "timestamp": utc_text(NOW), "data": {
        "group_key": '{}:{business="ev"}', "group_labels": {"business": "ev"},
        "common_labels": notice(*as_objects).common_labels if count else {},
        "alerts": [json.loads(render("native", notice(a)))["data"]["alerts"][0] for a in as_objects]}})
    assert render("native", notice(*as_objects) if count else notice(alerts=())) == whole
    assert render("native", notice(*as_text) if count else notice(alerts=())) == whole


def test_alertmanager_v4_body_key_for_key() -> None:
    body = json.loads(render("alertmanager", notice(alert(), STALE)))
    assert set(body) == {"receiver", "status", "alerts", "groupLabels", "commonLabels", "commonAnnotations",
                         "externalURL", "version", "groupKey", "truncatedAlerts"}
    assert (body["version"], body["status"], body["receiver"]) == ("4", "firing", "ops")
    assert body["groupKey"] == '{}:{business="ev"}' and body["groupLabels"] == {"business": "ev"}
    assert body["commonLabels"] == {"business": "ev", "goal": "ev-deliveries-2026"}
    assert body["commonAnnotations"] == {}
    firing, resolved = body["alerts"]
    assert set(firing) == {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}
    assert firing["endsAt"] == "0001-01-01T00:00:00Z" and resolved["endsAt"] == "2026-07-05T00:05:00Z"
    assert firing["annotations"] == {"summary": SUMMARY, "description": DESCRIPTION}  # the title once
    assert firing["fingerprint"] == fingerprint(firing["labels"]) and len(firing["fingerprint"]) == 16
    one = json.loads(render("alertmanager", notice(alert(state="resolved", ends_at=NOW), event="alert.resolved")))
    assert one["status"] == "resolved" and one["commonAnnotations"] == one["alerts"][0]["annotations"]


@pytest.mark.parametrize(
    ("changes", "notice_changes", "ends_at", "generator"),
    [
        ({}, {"expires_at": LATER, "external_url": "http://t:9464"}, "2026-07-05T04:00:00Z",
         "http://t:9464/api/goals/ev-deliveries-2026"),
        ({"state": "resolved", "ends_at": NOW + timedelta(minutes=5)}, {"expires_at": LATER},
         "2026-07-05T00:05:00Z", None),
        ({}, {}, None, None),
    ],
    ids=["firing-ends-ahead", "resolved-ends-at-resolve-time", "firing-without-expiry-leaves-endsAt-out"],
)
def test_alertmanager_api_body_lists_the_group_as_prometheus_pushes_it(changes, notice_changes, ends_at, generator):  # type: ignore[no-untyped-def]
    (pushed,) = json.loads(render("alertmanager_api", notice(alert(**changes), **notice_changes)))
    assert pushed["labels"] == {"alertname": "off-track", "business": "ev", "goal": "ev-deliveries-2026",
                                "severity": "critical"}
    assert pushed["annotations"] == {"summary": SUMMARY, "description": DESCRIPTION}
    assert pushed["startsAt"] == "2026-07-05T00:00:00Z"
    assert pushed.get("endsAt") == ends_at and pushed.get("generatorURL") == generator
    assert set(pushed) <= {"labels", "annotations", "startsAt", "endsAt", "generatorURL"}
    assert len(json.loads(render("alertmanager_api", notice(alert(), STALE)))) == 2


def test_slack_lists_the_group_in_one_message() -> None:
    body = json.loads(render("slack", notice(alert(), STALE)))
    head, *lines = body["text"].split("\n")
    assert head == "[FIRING:1] business=ev"
    assert lines == [f":red_circle: [FIRING] {SUMMARY} (off-track · critical)",
                     ":white_check_mark: [RESOLVED] EV deliveries 2026: ev_deliveries is late (stale-metric · warning)"]
    assert [b["type"] for b in body["blocks"]] == ["section", "section", "section", "context"]
    assert body["blocks"][-1]["elements"][0]["text"] == "first notification"

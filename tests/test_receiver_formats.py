"""Each receiver format's body against the service's documented schema and limits: Slack
through slack_sdk's block models, PagerDuty Events API v2, a Teams Adaptive Card, Discord's
limits, email parts, sandboxed templates, and Alertmanager's fingerprint and annotations."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from tests.test_formats import NOW, STALE, SUMMARY, alert, notice
from tracker.catalog.receivers import Target
from tracker.delivery.formats import fingerprint, render, render_for
from tracker.delivery.formats.notice import annotations
from tracker.delivery.formats.slack import escape

LONG_TITLE = "R&D <2026> " * 300  # 3,300 characters, three escapes in each repeat


# -- Alertmanager ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("labels", "expected"),
    [({}, "cbf29ce484222325"),  # FNV-1a 64's offset basis: Alertmanager's fingerprint of no labels
     ({"a": "bc"}, None), ({"ab": "c"}, None)],
    ids=["empty", "a=bc", "ab=c"],
)
def test_fingerprint_is_alertmanagers_fnv1a_over_sorted_labels(labels, expected) -> None:  # type: ignore[no-untyped-def]
    found = fingerprint(labels)
    assert len(found) == 16 and int(found, 16) >= 0
    if expected is not None:
        assert found == expected
    # the 0xff separator tells a=bc from ab=c, and label order never matters
    assert fingerprint({"a": "bc"}) != fingerprint({"ab": "c"})
    assert fingerprint({"x": "1", "y": "2"}) == fingerprint({"y": "2", "x": "1"})


@pytest.mark.parametrize(
    ("title", "summary"),
    [("EV deliveries 2026", SUMMARY), ("", "source feed failed 3 times in a row"),
     ("Phone ASP", "something else entirely")],
    ids=["summary-names-the-goal", "no-title", "summary-without-title"],
)
def test_description_never_repeats_the_title(title, summary) -> None:  # type: ignore[no-untyped-def]
    found = annotations(alert(title=title, summary=summary))
    assert found["summary"] == summary
    if title:
        assert title not in found["description"]
        assert (found["summary"] + found["description"]).count(title) <= 1


def test_group_labels_are_only_labels_the_alerts_carry() -> None:
    body = json.loads(render("alertmanager", notice(alert(), group_labels={"business": "ev", "subject": "goal:x"})))
    assert body["groupLabels"] == {"business": "ev"}


def test_external_url_and_generator_url_come_from_the_setting() -> None:
    body = json.loads(render("alertmanager", notice(alert(), external_url="https://kpi.example.com/")))
    assert body["externalURL"] == "https://kpi.example.com/"
    assert body["alerts"][0]["generatorURL"] == "https://kpi.example.com/api/goals/ev-deliveries-2026"


def test_webhook_and_api_formats_carry_the_same_labels_and_annotations() -> None:
    webhook = json.loads(render("alertmanager", notice(alert(), STALE)))["alerts"]
    pushed = json.loads(render("alertmanager_api", notice(alert(), STALE)))
    assert [(a["labels"], a["annotations"]) for a in webhook] == [(a["labels"], a["annotations"]) for a in pushed]


# -- Slack -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [("R&D <2026>", 100, "R&amp;D &lt;2026&gt;"), ("a&b", 5, "a…"), ("abc", 3, "abc"),
     ("abcd", 3, "ab…"), ("<<", 8, "&lt;&lt;"), ("<<", 7, "&lt;…")],
    ids=["escapes", "never-splits-an-entity", "fits", "cut", "two-entities-fit", "second-entity-cut"],
)
def test_slack_escape_and_cut(text, limit, expected) -> None:  # type: ignore[no-untyped-def]
    assert escape(text, limit) == expected
    assert len(escape(text, limit)) <= limit


def _slack_blocks(body: dict) -> list[Block]:
    blocks = [Block.parse(block) for block in body["blocks"]]
    for block in blocks:
        block.validate_json()  # raises SlackObjectFormationError past Slack's limits
    return blocks


@pytest.mark.parametrize("count", [1, 2, 60], ids=["one", "two", "more-than-fifty-blocks"])
def test_slack_body_passes_slack_sdk_models_and_limits(count) -> None:  # type: ignore[no-untyped-def]
    alerts = [alert(fingerprint=f"f{n}", title=LONG_TITLE, summary=f"{LONG_TITLE}: behind") for n in range(count)]
    body = json.loads(render("slack", notice(*alerts, group_labels={"business": "R&D <x>"})))
    blocks = _slack_blocks(body)
    assert len(blocks) <= 50 and len(body["text"]) <= 4000
    assert all(len(b["text"]["text"]) <= 3000 for b in body["blocks"] if b["type"] == "section")
    assert "R&amp;D &lt;2026&gt;" in body["blocks"][1]["text"]["text"]
    assert "<2026>" not in json.dumps(body) and "R&D" not in json.dumps(body)
    if count == 60:
        assert body["blocks"][-2]["elements"][0]["text"] == "and 13 more alerts"


# -- PagerDuty ---------------------------------------------------------------------------
def test_pagerduty_events_v2_trigger_and_resolve() -> None:
    firing, resolved = json.loads(render("pagerduty", notice(alert(summary="x" * 2000), STALE,
                                                             external_url="http://kpi:9464")))
    assert firing["event_action"] == "trigger" and firing["dedup_key"] == "abc123"
    payload = firing["payload"]
    assert {"summary", "source", "severity"} <= set(payload) and len(payload["summary"]) == 1024
    assert payload["severity"] == "critical" and payload["source"] == "ev-deliveries-2026"
    assert datetime.fromisoformat(payload["timestamp"]) == NOW
    assert firing["links"] == [{"href": "http://kpi:9464/api/goals/ev-deliveries-2026", "text": "EV deliveries 2026"}]
    assert resolved == {"event_action": "resolve", "dedup_key": "def456"}
    assert "routing_key" not in firing  # the secret is added when sending, never stored


@pytest.mark.parametrize(("ours", "theirs"), [("critical", "critical"), ("warning", "warning"), ("info", "info"),
                                              ("odd", "error")])
def test_pagerduty_severity_mapping(ours, theirs) -> None:  # type: ignore[no-untyped-def]
    (event,) = json.loads(render("pagerduty", notice(alert(severity=ours))))
    assert event["payload"]["severity"] == theirs


# -- Teams, Discord, email ---------------------------------------------------------------
def test_msteams_adaptive_card_within_28_kb() -> None:
    many = [alert(fingerprint=f"f{n}", summary=LONG_TITLE) for n in range(40)]
    raw = render("msteams", notice(*many, external_url="http://kpi:9464"))
    body = json.loads(raw)
    assert len(raw) <= 28 * 1024 and body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4" and card["$schema"].startswith("http")
    assert all(block["type"] == "TextBlock" and block["text"] for block in card["body"])
    assert card["body"][-1]["text"].startswith("and ") and card["actions"][0]["url"] == "http://kpi:9464"


@pytest.mark.parametrize("count", [1, 12], ids=["one", "more-than-ten"])
def test_discord_within_its_limits(count) -> None:  # type: ignore[no-untyped-def]
    alerts = [alert(fingerprint=f"f{n}", title=LONG_TITLE, summary=LONG_TITLE * 3) for n in range(count)]
    body = json.loads(render("discord", notice(*alerts)))
    assert len(body["content"]) <= 2000 and len(body["embeds"]) == min(count, 10)
    total = 0
    for embed in body["embeds"]:
        assert len(embed["title"]) <= 256 and len(embed["description"]) <= 4096
        total += len(embed["title"]) + len(embed["description"]) + len(embed["footer"]["text"])
    assert total <= 6000 and body["allowed_mentions"] == {"parse": []}


def test_email_parts_escape_html_and_keep_one_subject_line() -> None:
    parts = json.loads(render("email", notice(alert(summary="R&D <b>late</b>"), group_labels={"business": "a\nb"})))
    assert "\n" not in parts["subject"] and len(parts["subject"]) <= 200
    assert "R&D <b>late</b>" in parts["text"]
    assert "R&amp;D &lt;b&gt;late&lt;/b&gt;" in parts["html"] and "<b>late" not in parts["html"]


# -- template ----------------------------------------------------------------------------
def _template(body: str, **headers: str) -> Target:
    return Target("t", "http://h/x", "template", tuple(headers.items()), body_template=body)


def test_template_renders_body_and_headers_over_the_notification() -> None:
    target = _template('{"n": {{ alerts | length }}, "goal": {{ alerts[0].goal | tojson }}, "s": "{{ status }}"}',
                       **{"X-Group": "{{ group_labels.business }}", "Authorization": "Bearer ${TOKEN}"})
    envelope = json.loads(render_for(target, notice(alert(), STALE)))
    assert json.loads(envelope["body"]) == {"n": 2, "goal": "ev-deliveries-2026", "s": "firing"}
    assert envelope["headers"] == {"X-Group": "ev", "Authorization": "Bearer ${TOKEN}"}  # resolved when sent


@pytest.mark.parametrize(
    ("body", "why"),
    [("{{ nothing.here }}", "UndefinedError"),
     ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "SecurityError")],
    ids=["undefined", "sandbox"],
)
def test_template_failure_is_recorded_not_sent(body, why) -> None:  # type: ignore[no-untyped-def]
    envelope = json.loads(render_for(_template(body), notice(alert())))
    assert set(envelope) == {"error"} and why in envelope["error"]


def test_resolved_times_are_utc_text() -> None:
    body = json.loads(render("discord", notice(alert(state="resolved", ends_at=NOW + timedelta(minutes=5)),
                                               event="alert.resolved")))
    assert body["embeds"][0]["timestamp"] == "2026-07-05T00:05:00Z"
    assert datetime.fromisoformat(body["embeds"][0]["timestamp"]).tzinfo == UTC


@given(st.text(alphabet=st.sampled_from("ab&<>é 😀"), max_size=60), st.integers(min_value=1, max_value=40))
def test_slack_escape_never_passes_the_limit_nor_splits_an_entity(text: str, limit: int) -> None:
    found = escape(text, limit)
    assert len(found) <= limit
    shown = found.removesuffix("…")  # the alphabet has no ellipsis of its own
    plain = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert text.startswith(plain) and "<" not in found and ">" not in found
    assert all(part.startswith(("amp;", "lt;", "gt;")) for part in found.split("&")[1:])

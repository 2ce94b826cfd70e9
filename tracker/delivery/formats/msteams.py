"""`msteams`: a message for a Teams Workflows webhook ("Post to a channel when a webhook
request is received") carrying one Adaptive Card: the group's head line, one text block
per alert, a link to the daemon. Teams refuses messages over 28 KB: alerts that would pass
it are left out and counted in a last line."""

from __future__ import annotations

from typing import Any

from tracker.delivery.formats.notice import Notice, NoticeAlert, cut, dump, headline

MAX_BYTES = 28 * 1024
ALERT_TEXT = 2000
_COLOUR = {"critical": "Attention", "warning": "Warning", "info": "Accent"}


def render(notice: Notice) -> bytes:
    blocks = [_text(headline(notice), weight="Bolder", size="Medium")]
    body = _message(notice, blocks)
    for index, alert in enumerate(notice.alerts):
        trial = _message(notice, [*blocks, _alert(alert)])
        if len(trial) > MAX_BYTES - 200:  # room for the closing line
            blocks.append(_text(f"and {len(notice.alerts) - index} more alerts", isSubtle=True))
            return _message(notice, blocks)
        blocks.append(_alert(alert))
        body = trial
    return body


def _alert(alert: NoticeAlert) -> dict[str, Any]:
    colour = "Good" if alert.state == "resolved" else _COLOUR.get(alert.severity, "Default")
    text = f"[{alert.state.upper()}] {alert.summary} ({alert.rule} · {alert.severity})"
    return _text(cut(text, ALERT_TEXT), color=colour)


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _message(notice: Notice, blocks: list[dict[str, Any]]) -> bytes:
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": blocks,
    }
    if notice.external_url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open kpi-tracker", "url": notice.external_url}]
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
    return dump({"type": "message", "attachments": [attachment]})

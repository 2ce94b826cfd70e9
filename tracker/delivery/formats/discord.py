"""`discord`: a Discord webhook message: `content` is the group's head line, one embed per
alert. Within Discord's documented limits: content 2,000 characters, 10 embeds, an embed's
title 256 and description 4,096, all embeds together 6,000; mentions are switched off, so
no title can ping @everyone."""

from __future__ import annotations

from typing import Any

from tracker.delivery.formats.notice import (
    Notice,
    NoticeAlert,
    cut,
    dump,
    headline,
    utc_text,
)

CONTENT, EMBEDS, TITLE, DESCRIPTION, FOOTER, TOTAL = 2000, 10, 256, 4096, 2048, 6000
_COLOUR = {"critical": 0xE01E5A, "warning": 0xECB22E, "info": 0x36C5F0}
_RESOLVED = 0x2EB67D


def render(notice: Notice) -> bytes:
    alerts = notice.alerts[:EMBEDS]
    # each embed gets an even share of the 6,000 characters all of them may hold
    share = TOTAL // max(len(alerts), 1)
    content = headline(notice)
    if len(notice.alerts) > EMBEDS:
        content += f" (first {EMBEDS} of {len(notice.alerts)} alerts)"
    embeds = [_embed(alert, notice, share) for alert in alerts]
    return dump({"content": cut(content, CONTENT), "embeds": embeds, "allowed_mentions": {"parse": []}})


def _embed(alert: NoticeAlert, notice: Notice, share: int) -> dict[str, Any]:
    title = cut(f"[{alert.state.upper()}] {alert.title or alert.subject}", min(TITLE, share // 3))
    footer = cut(f"{alert.rule} · {alert.severity}", min(FOOTER, 100))
    room = share - len(title) - len(footer)
    embed: dict[str, Any] = {
        "title": title,
        "description": cut(alert.summary, max(min(DESCRIPTION, room), 1)),
        "color": _RESOLVED if alert.state == "resolved" else _COLOUR.get(alert.severity, 0x888888),
        "footer": {"text": footer},
        "timestamp": utc_text(alert.ends_at if alert.state == "resolved" else alert.starts_at or notice.timestamp),
    }
    url = notice.alert_url(alert)
    if url:
        embed["url"] = url
    return embed

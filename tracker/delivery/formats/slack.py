"""`slack`: an incoming-webhook message for the group: `text` (for notifications and old
clients) and blocks, a head section, one section per alert, the reason as context.

Text is escaped as Slack asks (`&`, `<`, `>` become entities, so a title cannot make a link
or a mention) and cut to Slack's documented limits: 3,000 characters in a section's text,
50 blocks in a message, 4,000 characters recommended for `text`.
"""

from __future__ import annotations

from tracker.delivery.formats.notice import (
    ELLIPSIS,
    Notice,
    NoticeAlert,
    dump,
    headline,
)

SECTION_TEXT = 3000
MAX_BLOCKS = 50
TEXT = 4000
_ICON = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape(text: str, limit: int) -> str:
    """`text` escaped, in at most `limit` characters: a cut never splits an entity."""
    pieces = [_ENTITIES.get(char, char) for char in text]
    if sum(map(len, pieces)) <= limit:
        return "".join(pieces)
    kept, used = [], 0
    for piece in pieces:
        if used + len(piece) > limit - len(ELLIPSIS):
            break
        kept.append(piece)
        used += len(piece)
    return "".join(kept) + ELLIPSIS


def render(notice: Notice) -> bytes:
    head = headline(notice)
    room = MAX_BLOCKS - 2  # the head and the closing context
    shown = notice.alerts if len(notice.alerts) <= room else notice.alerts[: room - 1]
    blocks = [_section(f"*{escape(head, SECTION_TEXT - 2)}*")]
    blocks += [_section(escape(line(alert), SECTION_TEXT)) for alert in shown]
    if len(shown) < len(notice.alerts):
        blocks.append(_context(f"and {len(notice.alerts) - len(shown)} more alerts"))
    blocks.append(_context(escape(notice.reason or notice.status, SECTION_TEXT)))
    text = escape(head + "\n" + "\n".join(line(alert) for alert in notice.alerts), TEXT)
    return dump({"text": text, "blocks": blocks})


def line(alert: NoticeAlert) -> str:
    icon = ":white_check_mark:" if alert.state == "resolved" else _ICON.get(alert.severity, "")
    return f"{icon} [{alert.state.upper()}] {alert.summary} ({alert.rule} · {alert.severity})".strip()


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}

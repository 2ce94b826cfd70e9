"""`email`: the parts of a message for the group, kept as JSON in the outbox
(`{"subject", "text", "html"}`); the email channel (tracker.delivery.mail) builds the MIME
message from them, with the receiver's From and To, when it sends. The subject is one line
of at most 200 characters; the HTML part escapes every text it shows."""

from __future__ import annotations

from html import escape

from tracker.delivery.formats.notice import (
    Notice,
    NoticeAlert,
    cut,
    dump,
    headline,
    utc_text,
)

SUBJECT = 200


def render(notice: Notice) -> bytes:
    subject = cut(" ".join(headline(notice).split()), SUBJECT)
    return dump({"subject": subject, "text": _text(notice), "html": _html(notice)})


def _line(alert: NoticeAlert) -> str:
    return f"[{alert.state.upper()}] {alert.summary} ({alert.rule}, {alert.severity})"


def _since(alert: NoticeAlert) -> str:
    return f"since {utc_text(alert.starts_at)}" if alert.starts_at else ""


def _text(notice: Notice) -> str:
    lines = [headline(notice), ""]
    for alert in notice.alerts:
        lines += [_line(alert), f"  {_since(alert)}".rstrip()]
        if notice.alert_url(alert):
            lines.append(f"  {notice.alert_url(alert)}")
    lines += ["", notice.reason or notice.status]
    return "\n".join(lines) + "\n"


def _html(notice: Notice) -> str:
    items = []
    for alert in notice.alerts:
        url = notice.alert_url(alert)
        link = f' <a href="{escape(url)}">open</a>' if url else ""
        items.append(f"<li>{escape(_line(alert))} <small>{escape(_since(alert))}</small>{link}</li>")
    return (
        f"<html><body><h3>{escape(headline(notice))}</h3><ul>{''.join(items)}</ul>"
        f"<p><small>{escape(notice.reason or notice.status)}</small></p></body></html>"
    )

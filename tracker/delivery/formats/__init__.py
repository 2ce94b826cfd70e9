"""Payload formats: the exact bytes a receiver's channel gets for one notification, which
carries one group of alerts (tracker.core.grouping). One small module per format.

Bodies are rendered once, when the notification is queued, and the same bytes are signed and
sent on every attempt. No body holds a secret: a receiver's credentials (URL tokens,
PagerDuty's routing key, SMTP passwords, header values) are added by its channel at send
time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tracker.delivery.formats import (
    alertmanager,
    discord,
    email,
    msteams,
    native,
    pagerduty,
    slack,
    template,
)
from tracker.delivery.formats.notice import Notice, NoticeAlert, fingerprint, utc_text

if TYPE_CHECKING:
    from tracker.catalog.receivers import Target

FORMATS: dict[str, Callable[[Notice], bytes]] = {
    "native": native.render,
    "alertmanager": alertmanager.render_webhook,
    "alertmanager_api": alertmanager.render_api,
    "slack": slack.render,
    "pagerduty": pagerduty.render,
    "msteams": msteams.render,
    "discord": discord.render,
    "email": email.render,
}

__all__ = ["FORMATS", "Notice", "NoticeAlert", "fingerprint", "render", "render_for", "utc_text"]


def render(format_name: str, notice: Notice) -> bytes:
    return FORMATS[format_name](notice)


def render_for(target: Target, notice: Notice) -> bytes:
    """The body for `target`, whose format may need its own settings (templates)."""
    if target.format == "template":
        return template.render(notice, target.body_template or "", dict(target.headers))
    return render(target.format, notice)

"""Instants as people read them: in the catalog's time zone, with its offset, to the minute
(to the second when there are seconds), in a form `--at` and `--until` accept back."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo


def format_instant(moment: datetime, zone: tzinfo) -> str:
    """`2026-07-05 00:00+08:00`; `2026-07-05 00:00:30+08:00` when the seconds are not zero."""
    if moment.tzinfo is None:  # the database's naive times are UTC
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(zone)
    text = local.strftime("%Y-%m-%d %H:%M:%S" if local.second or local.microsecond else "%Y-%m-%d %H:%M")
    offset = local.strftime("%z")  # +0800
    return f"{text}{offset[:3]}:{offset[3:]}" if offset else text

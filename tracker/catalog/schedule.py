"""When things run: crontab expressions in the catalog's time zone and the evaluation
schedule from the settings. Here, below the daemon, so that `check-config` and the routing
plan read the same schedule the daemon will run."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from tracker.core.errors import ConfigError


def cron(expression: str, tz: ZoneInfo, what: str):  # type: ignore[no-untyped-def]
    """A crontab trigger in the catalog's time zone; a bad expression names its setting."""
    from apscheduler.triggers.cron import CronTrigger  # start-up speed

    try:
        return CronTrigger.from_crontab(expression, timezone=tz)
    except ValueError as problem:
        raise ConfigError(f"{what}: {expression!r} is not a crontab expression ({problem})") from None


def evaluation_trigger(settings: Any, tz: ZoneInfo):  # type: ignore[no-untyped-def]
    """When the daemon evaluates: every TRACKER_EVALUATE__INTERVAL_SECONDS when set, else
    on the TRACKER_EVALUATE__CRON schedule."""
    from apscheduler.triggers.interval import IntervalTrigger  # start-up speed

    if settings.evaluate.interval_seconds is not None:
        return IntervalTrigger(seconds=settings.evaluate.interval_seconds)
    return cron(settings.evaluate.cron, tz, "setting TRACKER_EVALUATE__CRON")


def evaluation_interval(settings: Any, tz: ZoneInfo) -> timedelta:
    """The longest gap between evaluations: the interval setting, or the widest gap between
    the cron schedule's fire times over a week from a fixed Monday (at most 2,000 of them)."""
    if settings.evaluate.interval_seconds is not None:
        return timedelta(seconds=settings.evaluate.interval_seconds)
    trigger = evaluation_trigger(settings, tz)
    start = datetime(2026, 1, 5, tzinfo=timezone.utc)
    fires = [trigger.get_next_fire_time(None, start)]
    while fires[-1] is not None and fires[-1] < start + timedelta(days=8) and len(fires) < 2000:
        fires.append(trigger.get_next_fire_time(fires[-1], fires[-1] + timedelta(microseconds=1)))
    gaps = [b - a for a, b in zip(fires, fires[1:]) if b is not None]
    return max(gaps, default=timedelta(days=1))

"""When to try a failed notification again: the Standard Webhooks schedule, jittered.

Attempt 1 is immediate; after it fails the next ones follow about 5 s, 5 m, 30 m, 2 h, 5 h,
10 h, 14 h, 20 h and 24 h later. Each delay is spread by +/-20% so that a receiver coming
back is not hit by every queued row at once. A Retry-After from a 429 or 503 is honoured
(never sooner than it asks, capped at a day). After the last attempt the row is dead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

DELAYS = tuple(
    timedelta(seconds=s) for s in (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600, 20 * 3600, 24 * 3600)
)
MAX_ATTEMPTS = len(DELAYS) + 1
JITTER = 0.2
MAX_RETRY_AFTER = timedelta(days=1)
_SECONDS = re.compile(r"[0-9]+")  # ASCII digits only: str.isdigit() takes '\u00b2'


def next_attempt(
    attempts: int, now: datetime, *, rng: Callable[[], float], retry_after: timedelta | None = None
) -> datetime | None:
    """The time of the next attempt after `attempts` failed ones, or None: give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    delay = DELAYS[attempts - 1] * (1 - JITTER + 2 * JITTER * rng())
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return now + delay


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Retry-After as seconds or as an HTTP date, capped at MAX_RETRY_AFTER; None when
    absent or unreadable. It comes from outside: no value, however long or odd, raises."""
    if not value or len(value) > 100:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        # Compare as text length first: int("9" * 10**6) is slow and timedelta overflows.
        seconds = int(value) if len(value) <= 9 else MAX_RETRY_AFTER.total_seconds()
        return min(timedelta(seconds=seconds), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            return None
        return min(max(when - now, timedelta(0)), MAX_RETRY_AFTER)
    except Exception:  # any malformed or out-of-range date is simply not a Retry-After
        return None

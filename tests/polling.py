"""Waiting for something another thread or process does: poll with a deadline, never sleep
for luck."""

from __future__ import annotations

import time


def wait_for(condition, what: str, deadline: float = 10.0, interval: float = 0.02):
    """Returns the first truthy value of `condition()`; fails after `deadline` seconds."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {deadline:.0f} s waiting for {what}")

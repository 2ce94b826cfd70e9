"""A failed send, as every channel reports it: one error type that says whether retrying
can help; and credentials resolved so that a missing variable is a failed attempt."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from tracker.catalog.receivers import Unresolved


class DeliveryError(Exception):
    """A failed send. `permanent`: retrying cannot help (410 Gone); `retry_after`: the
    receiver asked for a pause (429, 503)."""

    def __init__(
        self, message: str, *, permanent: bool = False, status: int | None = None, retry_after: timedelta | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status = status
        self.retry_after = retry_after


def resolve(what: str, get: Callable[[], str]) -> str:
    """A credential's value now; an unset variable fails this attempt (set it, and the next
    one goes out). The message names the variable, never a value."""
    try:
        return get()
    except Unresolved as problem:
        raise DeliveryError(f"{what}: {problem}") from None

"""Pausing Python's cyclic garbage collector while a step builds many objects that live on.

The collector runs when allocations outnumber deallocations, and a full collection walks
every tracked object: a step that builds a large, lasting structure (a catalog's models,
every goal's verdict) sets it off again and again over a heap that is all still in use.
Memory is unaffected by pausing: such steps make little cyclic garbage, and whatever is
not cyclic is freed by reference counting as ever."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disables the cyclic collector inside; re-enables it after only if it was enabled
    before (nested pauses, and callers that disabled it themselves, keep theirs)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()

"""Giving the memory of a big step back to the system once it is garbage.

A cycle at 10,000 goals, a full dispatch (every alert row read) and a page render allocate
hundreds of megabytes that are garbage a moment later. glibc keeps freed memory for reuse
(each thread in its own arena) unless asked to return it, so an idle daemon would sit near
its peak; `malloc_trim(0)` returns the free pages of every arena. Elsewhere than glibc there
is no malloc_trim, and nothing to do.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import cache
from typing import Any


def give_back() -> None:
    """Collects cyclic garbage, then returns the free pages to the system (glibc only)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Any:
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None

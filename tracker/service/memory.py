"""Giving the memory of a big step back to the system once it is garbage, and keeping
the allocator from spreading it over many arenas.

A cycle at 10,000 goals, a full dispatch (every alert row read) and a page render allocate
hundreds of megabytes that are garbage a moment later. glibc keeps freed memory for reuse
(each thread in its own arena) unless asked to return it, so an idle daemon would sit near
its peak; `malloc_trim(0)` returns the free pages of every arena. Elsewhere than glibc there
is no malloc_trim, and nothing to do.

Arenas: glibc gives each thread that allocates while another holds a lock an arena of its
own, up to 8 per core. The daemon's HTTP threads each kept megabytes of a 10 MB /api/status
body or a 5 MB page in their own arena (10,000 goals: 314 MB at idle became 421 MB after 20
scrapes of each of /metrics and /api/status and 10 of /, which malloc_trim did not return).
The GIL lets one thread allocate at a time anyway, so two arenas cost no speed: 313 MB at
idle, 324 MB after the same requests.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Mapping
from functools import cache
from typing import Any


def give_back() -> None:
    """Collects cyclic garbage, then returns the free pages to the system (glibc only)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_arenas(environ: Mapping[str, str]) -> bool:
    """Caps glibc's arenas at ARENAS, before the daemon starts its threads (arenas made
    earlier stay); an operator's MALLOC_ARENA_MAX wins. True when the cap was set."""
    mallopt = _libc("mallopt")
    if mallopt is None or "MALLOC_ARENA_MAX" in environ:
        return False
    return bool(mallopt(_M_ARENA_MAX, ARENAS))


def _malloc_trim() -> Any:
    return _libc("malloc_trim")


@cache
def _libc(function: str) -> Any:
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), function, None) if name else None
    except OSError:
        return None

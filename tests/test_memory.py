"""tracker.service.memory: the arena cap is set unless the operator set MALLOC_ARENA_MAX
(and never where glibc is not)."""

from __future__ import annotations

import pytest

from tracker.service import memory

GLIBC = memory._libc("mallopt") is not None and memory._libc("malloc_trim") is not None


@pytest.mark.parametrize(("environ", "capped"), [({}, GLIBC), ({"MALLOC_ARENA_MAX": "4"}, False)])
def test_the_arena_cap_defers_to_the_operators_setting(environ: dict[str, str], capped: bool) -> None:
    assert memory.limit_arenas(environ) is capped


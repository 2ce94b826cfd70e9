"""Line numbers of a TOML document's tables and keys, which tomllib does not give.

A line that looks like a table header (`[[test.goal]]`) or a key (`status = ...`) is one only
where a statement can begin: outside strings and arrays. That is decided by tomllib itself:
the text from the previous statement up to the line must parse as TOML on its own (a line
inside an unclosed string or array makes it fail). Where that piece fails for another
reason, the whole prefix of the document is parsed instead, so the answer never rests on a
guess. Header and key paths are read by tomllib too (quoted keys, dotted keys, spaces).

Paths are concrete: `("test", 2, "goal", 0, "status")` is the `status` key of the first
`[[test.goal]]` of the third `[[test]]`. `line_of` answers with the nearest enclosing entry
that has a line of its own (a value inside an inline table has its key's line).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from typing import Any

_HEADER = re.compile(r"^\s*\[")
_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_KEY = re.compile(rf"^\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")

Path = tuple[Any, ...]


def _parses(text: str) -> bool:
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return False
    return True


def _key_path(node: Any) -> tuple[str, ...]:
    """The single path of a one-statement document such as `{"test": {"goal": [{}]}}`."""
    path: list[str] = []
    while isinstance(node, (dict, list)) and node:
        if isinstance(node, list):
            node = node[-1]
            continue
        name, node = next(iter(node.items()))
        path.append(name)
    return tuple(path)


def _statements(text: str) -> Iterator[tuple[int, str, tuple[str, ...]]]:
    """(line, kind, names) of every real statement: kind is `array`, `table` or `key`."""
    lines = text.splitlines(keepends=True)
    offset, boundary = 0, 0
    for number, line in enumerate(lines, start=1):
        start, offset = offset, offset + len(line)
        header = _HEADER.match(line)
        key = None if header else _KEY.match(line)
        if not header and not key:
            continue
        if not (_parses(text[boundary:start]) or _parses(text[:start])):
            continue  # inside a multi-line string or array
        boundary = start
        if header:
            kind = "array" if line.lstrip().startswith("[[") else "table"
            yield number, kind, _key_path(tomllib.loads(line))  # a header line is a document
        else:
            assert key is not None
            yield number, "key", _key_path(tomllib.loads(key.group(1) + " = 0"))


def statement_lines(text: str) -> dict[Path, int]:
    """The line of every table, array-of-tables element and key, by concrete path. `text`
    must be valid TOML (parse it with tomllib first)."""
    found: dict[Path, int] = {}
    counts: dict[tuple[str, ...], int] = {}  # arrays of tables: the index of the latest element
    current: Path = ()
    for number, kind, names in _statements(text):
        if kind == "key":
            found.setdefault(current + names, number)
            continue
        parents = _concrete(names[:-1], counts)
        if kind == "array":
            counts[names] = counts.get(names, -1) + 1
            for deeper in [n for n in counts if len(n) > len(names) and n[: len(names)] == names]:
                del counts[deeper]  # a new element starts its own sub-arrays from 0
            current = parents + (names[-1], counts[names])
        else:
            current = parents + (names[-1],)
        found.setdefault(current, number)
    return found


def _concrete(names: tuple[str, ...], counts: dict[tuple[str, ...], int]) -> Path:
    path: list[Any] = []
    for depth, name in enumerate(names, start=1):
        path.append(name)
        if names[:depth] in counts:
            path.append(counts[names[:depth]])
    return tuple(path)


def line_of(lines: dict[Path, int], path: Path, default: int = 1) -> int:
    """The line of `path`, or of the nearest enclosing entry that has one."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return default

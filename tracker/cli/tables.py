"""Tables for the terminal, laid out in one pass over the rows and written line by line.

rich lays a table out cell by cell through its renderables (about 1 ms a row: 10 s for
10,000 goals); this keeps rich's look (heavy header, light body) at the cost of a string
join per row. Fitting a width never cuts a word: columns first give up their wide form
(the progress bar), then the least important columns go, then text wraps at spaces. Goal
ids and dates have no spaces, so they are never cut.
"""

from __future__ import annotations

import os
import shutil
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TextIO

Segment = tuple[str, str | None]  # text and a style name from _SGR (None: plain)

_SGR = {"bold": "1", "dim": "2", "italic": "3", "green": "32", "yellow": "33", "red": "31",
        "bold green": "1;32", "bold red": "1;31"}


@dataclass(frozen=True)
class Column:
    name: str
    right: bool = False  # right-justified (numbers)
    drop: int | None = None  # dropped when the width is short, lowest first; None: always kept
    narrow: int | None = None  # rank at which cells switch to their narrow form (Choice)


@dataclass(frozen=True)
class Choice:
    """A cell with a wide form and a narrow one: the bar with its percentage, or the percentage."""

    wide: tuple[Segment, ...]
    narrow: tuple[Segment, ...]


Cell = str | tuple[Segment, ...] | Choice


def terminal_width() -> int:
    """COLUMNS when set, else the terminal's width, else 80 (as rich decides)."""
    return shutil.get_terminal_size((80, 24)).columns


def wants_color(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def print_table(title: str, columns: Sequence[Column], rows: Iterable[Sequence[Cell]], *,
                out: TextIO | None = None, width: int | None = None) -> None:
    out = out or sys.stdout
    write_table(out, title, columns, list(rows), width=width or terminal_width(), color=wants_color(out))


def write_table(out: TextIO, title: str, columns: Sequence[Column], rows: list[Sequence[Cell]], *,
                width: int, color: bool) -> None:
    shown, widths, narrowed = layout(columns, rows, width)
    style = _styler(color)
    out.write(style(title, "italic") + "\n")
    out.write("┏" + "┳".join("━" * (widths[c] + 2) for c in shown) + "┓\n")
    headers = [_wrap(((columns[c].name, "bold"),), widths[c]) for c in shown]
    out.writelines(_lines(headers, [widths[c] for c in shown], [False] * len(shown), style, "┃"))
    out.write("┡" + "╇".join("━" * (widths[c] + 2) for c in shown) + "┩\n")
    sizes, rights = [widths[c] for c in shown], [columns[c].right for c in shown]
    for row in rows:
        cells = [_wrap(_form(row[c], c in narrowed), widths[c]) for c in shown]
        out.writelines(_lines(cells, sizes, rights, style, "│"))
    out.write("└" + "┴".join("─" * (widths[c] + 2) for c in shown) + "┘\n")


def layout(columns: Sequence[Column], rows: Sequence[Sequence[Cell]], width: int
           ) -> tuple[list[int], dict[int, int], set[int]]:
    """Which columns to show, how wide, and which in their narrow form, for `width`.

    The first state (in the order of the columns' ranks) whose cells fit unwrapped wins; if
    none does, the last state with its text wrapped at words; if even that is too wide, the
    lines are longer than `width` rather than any word cut."""
    texts = {c: [_text(_form(r[c], False)) for r in rows] for c in range(len(columns))}
    slims = {c: [_text(_form(r[c], True)) for r in rows] for c in range(len(columns)) if columns[c].narrow is not None}
    steps = sorted([(col.narrow, "narrow", c) for c, col in enumerate(columns) if col.narrow is not None]
                   + [(col.drop, "drop", c) for c, col in enumerate(columns) if col.drop is not None])
    states, shown, narrowed = [], list(range(len(columns))), set()
    states.append((list(shown), set(narrowed)))
    for _rank, action, c in steps:
        if action == "drop":
            shown.remove(c)
        else:
            narrowed.add(c)
        states.append((list(shown), set(narrowed)))

    def sizes(state, measure) -> dict[int, int]:  # type: ignore[no-untyped-def]
        return {c: measure(columns[c].name, (slims if c in state[1] else texts)[c]) for c in state[0]}

    for state in states:
        natural = sizes(state, _natural)
        if sum(natural.values()) + _frame(len(natural)) <= width:
            return state[0], _headroom(natural, columns, width - _frame(len(natural))), state[1]
    state = states[-1]
    return state[0], _shrink(sizes(state, _natural), sizes(state, _least), width - _frame(len(state[0]))), state[1]


def _headroom(widths: dict[int, int], columns: Sequence[Column], budget: int) -> dict[int, int]:
    """Spare width goes to headers that would wrap, left to right, so they stay on one line."""
    spare = budget - sum(widths.values())
    for c in list(widths):
        grow = min(spare, max(0, _width(columns[c].name) - widths[c]))
        widths[c] += grow
        spare -= grow
    return widths


def _frame(count: int) -> int:
    return 3 * count + 1  # "│ " before each column, " │" after the last, " " between


def _natural(header: str, texts: Iterable[str]) -> int:
    """The widest cell unwrapped. A header wraps for free (one more header line), so only its
    longest word counts."""
    return max(max(_width(w) for w in header.split(" ")), max(map(_width, texts), default=0))


def _least(header: str, texts: Iterable[str]) -> int:
    """The longest word, header included: narrower would cut one."""
    return max(_width(w) for text in (header, *texts) for w in text.split(" "))


def _text(cell: tuple[Segment, ...]) -> str:
    return cell[0][0] if len(cell) == 1 else "".join(part for part, _ in cell)


def _shrink(natural: dict[int, int], least: dict[int, int], budget: int) -> dict[int, int]:
    """Narrows the widest column that can give, one cell at a time, down to its least, so
    that long text (a title) wraps before short text does."""
    widths = dict(natural)
    excess = sum(widths.values()) - budget
    while excess > 0:
        give = [c for c in widths if widths[c] > least[c]]
        if not give:
            break
        widest = max(give, key=lambda c: widths[c])
        widths[widest] -= 1
        excess -= 1
    return widths


def _form(cell: Cell, narrow: bool) -> tuple[Segment, ...]:
    if isinstance(cell, str):
        return ((cell, None),)
    if isinstance(cell, Choice):
        return cell.narrow if narrow else cell.wide
    return cell


def _wrap(cell: tuple[Segment, ...], width: int) -> list[list[Segment]]:
    """The cell's lines, broken at spaces; a word wider than the column stays whole."""
    if _width(_text(cell)) <= width:
        return [list(cell)]
    lines: list[list[Segment]] = [[]]
    used, space = 0, False
    for text, style in cell:
        for index, word in enumerate(text.split(" ")):
            space = space or index > 0
            if not word:
                continue
            size = _width(word)
            if used and space and used + 1 + size > width:
                lines.append([])
                used = 0
            elif used and space:
                lines[-1].append((" ", None))
                used += 1
            lines[-1].append((word, style))
            used, space = used + size, False
    return lines


def _lines(cells: list[list[list[Segment]]], widths: list[int], rights: list[bool], style, bar: str) -> Iterable[str]:  # type: ignore[no-untyped-def]
    height = max(len(cell) for cell in cells)
    for number in range(height):
        parts = []
        for cell, size, right in zip(cells, widths, rights):
            segments = cell[number] if number < len(cell) else []
            pad = " " * max(0, size - sum(_width(text) for text, _ in segments))
            text = "".join(style(text, name) for text, name in segments)
            parts.append(pad + text if right else text + pad)
        yield f"{bar} " + f" {bar} ".join(parts) + f" {bar}\n"


def _styler(color: bool):  # type: ignore[no-untyped-def]
    def plain(text: str, _name: str | None) -> str:
        return text

    def ansi(text: str, name: str | None) -> str:
        return f"\x1b[{_SGR[name]}m{text}\x1b[0m" if name and text.strip() else text

    return ansi if color else plain


def _width(text: str) -> int:
    return len(text) if text.isascii() else _wide_width(text)


@lru_cache(maxsize=4096)  # bars and titles repeat across rows
def _wide_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)

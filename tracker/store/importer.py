"""Reading actuals from CSV (header `metric,period,value[,known_since,source,note]`), one row
at a time: a file of any size is read in the memory of one batch (tracker.store.staging)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.core.errors import BadInput
from tracker.store.actuals import RowInput
from tracker.store.direct import record_direct
from tracker.store.staging import Imported, Progress, record_rows

if TYPE_CHECKING:
    from sqlmodel import Session

    from tracker.catalog.model import Catalog

HEADER = ["metric", "period", "value"]
OPTIONAL = ["known_since", "source", "note"]
_FORM = "metric,period,value[,known_since,source,note]"
_SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
_SAVE_AS = "save it as CSV with commas (in Excel: 'CSV UTF-8 (Comma delimited)')"


def import_file(
    db: Session,
    *,
    catalog: Catalog,
    path: Path,
    now: datetime,
    force: bool = False,
    default_source: str | None = None,
    progress: Progress | None = None,
) -> Imported:
    """Records every row of a CSV file in the caller's transaction, or none; rows equal to
    the current value are left out and counted."""
    total = count_rows(path) if progress else None  # a read of the whole file: only for the bar
    if db.connection().dialect.name == "postgresql":
        if progress:
            progress.phase("reading", total)
        done = record_direct(
            db, catalog=catalog, rows=read_csv(path), now=now, label=str(path), force=force,
            default_source=default_source, progress=progress,
        )
        if done is not None:
            return done
    # SQLite, or a file the direct path leaves to staging: read again from the start.
    if progress:
        progress.phase("reading", total)
    return record_rows(
        db, catalog=catalog, rows=read_csv(path), now=now, label=str(path), force=force,
        default_source=default_source, skip_unchanged=True, progress=progress,
    )


def count_rows(path: Path) -> int | None:
    """Lines after the header, for the progress bar's total (a quick pass over the bytes;
    a quoted field with a line break makes it a little high)."""
    lines = 0
    try:
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                lines += block.count(b"\n")
                last = block
    except OSError:
        return None
    if lines and not last.endswith(b"\n"):
        lines += 1
    return max(lines - 1, 0)


def read_csv(path: Path) -> Iterator[RowInput]:
    """The file's rows, read as they are used; a BadInput names the file and line of the
    first problem. Rows with nothing in them (Excel's `,,` filler) are skipped."""
    _check_readable(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            yield from _rows(handle, path)
    except UnicodeDecodeError as error:
        raise BadInput(f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8") from None
    except csv.Error as error:
        raise BadInput(f"{path}: not valid CSV ({error})") from None


def _check_readable(path: Path) -> None:
    if path.is_dir():
        raise BadInput(f"{path}: is a directory, not a CSV file")
    if not path.exists():
        raise BadInput(f"{path}: file not found")


def _separator(text: str) -> str | None:
    """The name of another separator the text seems to use."""
    for mark, name in _SEPARATORS.items():
        if mark in text:
            return name
    return None


def _rows(handle, path: Path) -> Iterator[RowInput]:  # type: ignore[no-untyped-def]
    reader = csv.reader(handle)
    header = next(reader, None)
    if header and ",".join(header).lower().startswith("sep="):
        mark = ",".join(header)[4:]  # Excel's own line naming the separator (`sep=,` reads as two fields)
        if mark != ",":
            raise BadInput(f"{path} line 1: the file says its separator is {mark!r}, not a comma; {_SAVE_AS}")
        header = next(reader, None)
    if header is None:
        raise BadInput(f"{path}: empty file; the first line must be the header {_FORM}")
    names = [h.strip().lower() for h in header]
    while len(names) > 3 and not names[-1]:
        names.pop()  # empty columns Excel keeps after the last one used
    if len(names) == 1 and (other := _separator(header[0])):
        raise BadInput(f"{path} line 1: the header is separated by {other}, not commas; {_SAVE_AS}")
    if names[:3] != HEADER or any(n not in OPTIONAL for n in names[3:]) or len(set(names)) != len(names):
        raise BadInput(f"{path} line 1: header {','.join(header)!r} is not {_FORM}")
    width = len(names)
    source_at = names.index("source") if "source" in names else None
    note_at = names.index("note") if "note" in names else None
    known_at = names.index("known_since") if "known_since" in names else None
    for fields in reader:
        if not any(field.strip() for field in fields):
            continue  # a blank line, or Excel's filler row of separators only
        line = reader.line_num
        if len(fields) != width:
            fields = _fit(fields, width, path, line)
        yield RowInput(
            line=line,
            metric=fields[0].strip(),
            period=fields[1].strip(),
            value=fields[2],
            source=fields[source_at].strip() if source_at is not None else None,
            note=fields[note_at].strip() if note_at is not None else None,
            known_since=fields[known_at].strip() or None if known_at is not None else None,
        )


def _fit(fields: list[str], width: int, path: Path, line: int) -> list[str]:
    """A row with empty fields past the header's columns is Excel's padding; anything else
    that does not match the header is refused."""
    if len(fields) > width and not any(field.strip() for field in fields[width:]):
        return fields[:width]
    other = _separator(",".join(fields)) if len(fields) < width else None
    hint = f" (it seems separated by {other}; {_SAVE_AS})" if other else ""
    raise BadInput(f"{path} line {line}: {len(fields)} fields where the header has {width}{hint}")

"""Reading actuals from CSV (header `metric,period,value[,known_since,source,note]`)."""

from __future__ import annotations

import csv
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.core.errors import BadInput
from tracker.store.actuals import RowInput, import_rows

if TYPE_CHECKING:
    from sqlmodel import Session

    from tracker.catalog.model import Catalog

HEADER = ["metric", "period", "value"]
OPTIONAL = ["known_since", "source", "note"]


def import_file(
    db: Session,
    *,
    catalog: Catalog,
    path: Path,
    now: datetime,
    force: bool = False,
    default_source: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Reads a CSV file and records all its rows in the caller's transaction, or none."""
    with _collector_paused():
        rows = read_csv(path)
        return import_rows(
            db, catalog=catalog, rows=rows, now=now, label=str(path), force=force,
            default_source=default_source, progress=progress,
        )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A million-row import makes millions of small tuples and no reference cycles; the
    cyclic collector would rescan them again and again and take three quarters of the time
    (bench/import_bench.py)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_csv(path: Path) -> list[RowInput]:
    """Every row of the file, or a BadInput naming the file and line of the first problem."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return list(_rows(handle, path))
    except FileNotFoundError:
        raise BadInput(f"{path}: file not found") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a directory, not a CSV file") from None
    except UnicodeDecodeError as error:
        raise BadInput(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except csv.Error as error:
        raise BadInput(f"{path}: not valid CSV ({error})") from None


def _rows(handle, path: Path) -> Iterator[RowInput]:  # type: ignore[no-untyped-def]
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        raise BadInput(f"{path}: empty file; the first line must be the header metric,period,value[,known_since,source,note]")
    names = [h.strip().lower() for h in header]
    if names[:3] != HEADER or any(n not in OPTIONAL for n in names[3:]) or len(set(names)) != len(names):
        raise BadInput(f"{path} line 1: header {','.join(header)!r} is not metric,period,value[,known_since,source,note]")
    width = len(names)
    source_at = names.index("source") if "source" in names else None
    note_at = names.index("note") if "note" in names else None
    known_at = names.index("known_since") if "known_since" in names else None
    for fields in reader:
        line = reader.line_num
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        if len(fields) != width:
            raise BadInput(f"{path} line {line}: {len(fields)} fields where the header has {width}")
        yield RowInput(
            line=line,
            metric=fields[0].strip(),
            period=fields[1].strip(),
            value=fields[2],
            source=fields[source_at].strip() if source_at is not None else None,
            note=fields[note_at].strip() if note_at is not None else None,
            known_since=fields[known_at].strip() or None if known_at is not None else None,
        )

"""The csv_dir kind: CSV files dropped in a folder, each imported once, all rows or none.

A file is read only when its name ends in .csv, so a writer that writes `x.csv.part` and
renames it when complete is never read half-written. After the commit a good file moves to
done/; a bad one moves to quarantine/ with `<name>.reason.txt` beside it saying why. If the
process stops between the commit and the move, the file is read again next time and records
nothing new, because unchanged values are skipped.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from tracker.catalog.sources import SourceConfig
from tracker.collectors.outcome import CollectionResult, failed, finish
from tracker.core.errors import BadInput
from tracker.store import actuals as store
from tracker.store.importer import read_csv
from tracker.store.runtime import Runtime

DONE = "done"
QUARANTINE = "quarantine"
_SOURCE_LENGTH = 200


def collect(runtime: Runtime, source: SourceConfig, *, now: datetime, log: Any) -> CollectionResult:
    directory = folder(source, runtime.catalog.path)
    if not directory.is_dir():
        return finish(runtime, source, now, failed(f"directory {directory} does not exist"))
    imported: list[Path] = []

    def apply(session: Session) -> tuple[int, str | None]:
        recorded, problems = 0, []
        for path in inbox(directory):
            try:
                with session.begin_nested():
                    recorded += _import(session, runtime, source, path, now)
            except BadInput as problem:
                move_aside(path, directory / QUARANTINE, now, reason=str(problem))
                log.warning("file quarantined", file=path.name, reason=str(problem))
                problems.append(f"{path.name}: {problem}")
                continue
            imported.append(path)
        error = f"{len(problems)} file(s) quarantined: " + "; ".join(problems) if problems else None
        return recorded, error

    result = finish(runtime, source, now, apply)
    for path in imported:
        try:
            move_aside(path, directory / DONE, now)
        except OSError as problem:  # imported already; read again next time, it records nothing new
            log.error("cannot move imported file aside", file=path.name, error=str(problem))
    return result


def folder(source: SourceConfig, catalog_path: Path) -> Path:
    """The directory; a relative one is read from the catalog file's folder, not the cwd."""
    assert source.directory is not None
    return source.directory if source.directory.is_absolute() else catalog_path.parent / source.directory


def inbox(directory: Path) -> list[Path]:
    return sorted(path for path in directory.glob("*.csv") if path.is_file())


def _import(session: Session, runtime: Runtime, source: SourceConfig, path: Path, now: datetime) -> int:
    tag = f"collector:{source.name}"
    rows = [row._replace(source=_source(tag, row.source)) for row in read_csv(path)]
    return store.import_rows(
        session, catalog=runtime.catalog, rows=rows, now=now, label=str(path), skip_unchanged=True
    )


def _source(tag: str, given: str | None) -> str:
    """The collector, then the file's own source column if it has one."""
    return f"{tag}: {given}"[:_SOURCE_LENGTH] if given else tag


def move_aside(path: Path, into: Path, now: datetime, *, reason: str | None = None) -> Path:
    """Moves the file into `into`, never over an earlier file of the same name."""
    into.mkdir(exist_ok=True)
    target = into / path.name
    if target.exists():
        target = into / f"{path.stem}.{now:%Y%m%dT%H%M%S}{path.suffix}"
        count = 1
        while target.exists():
            count += 1
            target = into / f"{path.stem}.{now:%Y%m%dT%H%M%S}-{count}{path.suffix}"
    if reason is not None:
        target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    path.rename(target)
    return target

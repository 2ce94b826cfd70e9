"""`tracker report`: the goals as one self-contained HTML page of charts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from tracker.store.runtime import Runtime


def report(
    at: Annotated[str | None, typer.Option("--at", metavar="TIME", help="judge as of TIME (ISO 8601) instead of now")] = None,
    out: Annotated[Path | None, typer.Option("--out", metavar="FILE.html", help="write the page here instead of to stdout")] = None,
    known_at: Annotated[
        str | None, typer.Option("--known-at", metavar="TIME", help="use only what was known at TIME (and judge as of it)")
    ] = None,
) -> None:
    """Write an HTML report: each goal's chart, status, attainment and required rate."""
    from tracker.core.periods import parse_instant  # start-up speed
    from tracker.store import db  # start-up speed
    from tracker.views.report import render_from_db  # start-up speed

    runtime = Runtime.from_env()
    catalog = runtime.catalog
    known = parse_instant(known_at, catalog.timezone) if known_at else None
    now = parse_instant(at, catalog.timezone) if at else known or runtime.now()
    target = _writable(out) if out else None
    with db.session(runtime.engine) as session:
        page = render_from_db(session, catalog=catalog, now=now, known_at=known)
    if target is None:
        typer.echo(page, nl=False)
        return
    _write_atomically(target, page)
    print(f"wrote {target} ({len(catalog.goals)} goals as of {now.astimezone(catalog.timezone):%Y-%m-%d %H:%M} {catalog.timezone})")


def _writable(path: Path) -> Path:
    """Refuses, before any work, a path whose folder is missing or that names a folder."""
    from tracker.core.errors import BadInput  # start-up speed

    if path.is_dir():
        raise BadInput(f"--out {path}: is a directory; give a file name such as report.html")
    if not path.parent.is_dir():
        raise BadInput(f"--out {path}: folder {path.parent} does not exist")
    return path


def _write_atomically(path: Path, text: str) -> None:
    """A reader (a browser reloading the file) never sees half a page. The page is for
    sharing, so it gets the mode any new file gets (mkstemp's own is 0600)."""
    import tempfile  # start-up speed

    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

"""An import written straight into `actuals` on PostgreSQL, as the file is read.

The staging path (tracker.store.staging) writes every row twice: into a staging table, then,
once the checks that span rows have passed, into `actuals`. When no metric of the catalog
that the file names has a current row on record, those checks have almost nothing to look
up: there is no current value to compare or supersede, every row is revision 1, and the
previous period of a row can only be in the file. Then each row is `COPY`ed into `actuals` as
soon as it passed its own checks, inside a savepoint of the import's transaction, so that
PostgreSQL writes it (on its own core) while Python reads and checks the next ones:

- a row's own checks are the staging path's (RowChecker); its refusal ends the COPY and the
  caller's transaction rolls back;
- two rows for one metric and period: the partial unique index `uq_actuals_current` refuses
  the second, or the window below sees it first;
- tenfold jumps: each row is paired with its metric's previous and next period when one of
  them came earlier in the file (a window of recent rows, plus the rows that left the window
  before meeting both neighbours); the first refused line is reported after the COPY, and the
  caller's transaction rolls back what was written.

What this path cannot decide exactly as the staging path does -- a metric with rows on
record, a duplicate (whose message names both lines), too many rows kept aside -- rolls back
to the savepoint and returns None: the caller then runs the staging path on the file read
again, which gives today's answer and message.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from tracker.core.errors import BadInput
from tracker.core.validation import check_jump
from tracker.store.dbtypes import utc_to_db, value_parts
from tracker.store.staging import _COLUMNS, BATCH, Checked, Imported, Progress, RowChecker, RowInput

if TYPE_CHECKING:
    from sqlmodel import Session

    from tracker.catalog.model import Catalog

_WINDOW = 20_000  # recent rows held for pairing with their neighbours
_LOOSE = 50_000  # rows that left the window still waiting for a neighbour; beyond: the staging path
_SAVEPOINT = "tracker_import_direct"
_TINY, _HUGE = 1e-300, 1e300  # where floats stop telling tenfold apart
_BLOCK = 1_000  # rows a write to the COPY
_CACHE = 10_000  # formatted periods and texts held
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})  # COPY's text format


class _Undecided(Exception):
    """The file needs the staging path to be decided as it always was."""


def record_direct(
    db: Session,
    *,
    catalog: Catalog,
    rows: Iterable[RowInput],
    now: datetime,
    label: str,
    force: bool = False,
    default_source: str | None = None,
    progress: Progress | None = None,
) -> Imported | None:
    """Records the rows straight into `actuals` in the caller's transaction, or refuses as the
    staging path would; None (nothing written) when the staging path must decide."""
    from psycopg.errors import UniqueViolation  # PostgreSQL only

    cursor = db.connection().connection.driver_connection.cursor()
    try:
        on_record = _metrics_on_record(cursor, catalog)
        checker = RowChecker(catalog, label, now, default_source, "postgresql")
        jumps = None if force else _Jumps(label)
        cursor.execute(f"SAVEPOINT {_SAVEPOINT}")
        try:
            written = _copy(cursor, checker, rows, on_record, jumps, utc_to_db(now, "postgresql"), progress)
        except (_Undecided, UniqueViolation):
            cursor.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
            return None
        cursor.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
    finally:
        cursor.close()
    if jumps is not None and jumps.first is not None:
        raise jumps.first[1]  # the caller's rollback takes back what was written
    return Imported(written, 0)


def _metrics_on_record(cursor, catalog: Catalog) -> set[str]:  # type: ignore[no-untyped-def]
    """The catalog's metrics with a current row: one index probe each."""
    cursor.execute(
        "SELECT m FROM unnest(%s::text[]) AS m WHERE EXISTS "
        "(SELECT 1 FROM actuals a WHERE a.metric = m AND a.is_current)",
        (list(catalog.metrics),),
    )
    return {metric for (metric,) in cursor}


def _copy(  # type: ignore[no-untyped-def]
    cursor,
    checker: RowChecker,
    rows: Iterable[RowInput],
    on_record: set[str],
    jumps: _Jumps | None,
    recorded: datetime,
    progress: Progress | None,
) -> int:
    """Checks and COPYs the rows one by one; raising inside the block makes psycopg end the
    COPY with a failure, so the server keeps none of it."""
    lines = _Lines(recorded)
    written = 0
    with cursor.copy(f"COPY actuals ({_COLUMNS}) FROM STDIN") as copy:
        for row in rows:
            ok = checker.check(row)
            if ok.metric.name in on_record:
                raise _Undecided
            if jumps is not None:
                jumps.see(ok)
            lines.add(ok)
            written += 1
            if written % _BLOCK == 0:
                copy.write(lines.take())
                if progress and written % BATCH == 0:
                    progress.advance(BATCH)
        copy.write(lines.take())
    if progress:
        progress.advance(written % BATCH)
    return written


class _Lines:
    """Rows as lines of COPY's text format, sent a block at a time. psycopg's `write_row`
    took as long dumping each row's Decimal and datetimes as reading and checking the row;
    here what depends on the period, the metric or the instant is formatted once. The text is
    what psycopg's dumpers send: `str()` of the Decimal, ISO 8601 of the aware UTC instants."""

    def __init__(self, recorded: datetime) -> None:
        self.recorded = recorded.isoformat(" ")
        self.tail = f"\t{self.recorded}\t1\tt\t"
        self.periods: dict[str, str] = {}
        self.texts: dict[str | None, str] = {}
        self.block: list[str] = []

    def add(self, ok: Checked) -> None:
        period = self.periods.get(ok.period.label) or self._period(ok)
        whole, nanos = value_parts(ok.value)
        known = self.recorded if ok.known_since is None else ok.known_since.isoformat(" ")  # type: ignore[attr-defined]
        parts = "\\N\t\\N" if whole is None else f"{whole}\t{nanos}"
        note = "\\N" if ok.note is None else ok.note.translate(_ESCAPES)  # notes rarely repeat: not remembered
        self.block.append(
            f"{self._text(ok.metric.name)}\t{period}\t{ok.value}\t{self._text(ok.source)}\t{note}"
            f"{self.tail}{parts}\t{known}\n"
        )

    def take(self) -> str:
        text = "".join(self.block)
        self.block.clear()
        return text

    def _period(self, ok: Checked) -> str:
        if len(self.periods) >= _CACHE:
            self.periods.clear()
        info = ok.period
        text = self.periods[info.label] = f"{self._text(info.label)}\t{info.start.isoformat(' ')}\t{info.end.isoformat(' ')}"  # type: ignore[attr-defined]
        return text

    def _text(self, value: str | None) -> str:
        """A field in COPY's text format; metric names and sources repeat, so remembered."""
        text = self.texts.get(value)
        if text is None:
            if len(self.texts) >= _CACHE:
                self.texts.clear()
            text = self.texts[value] = "\\N" if value is None else value.translate(_ESCAPES)
        return text


class _Jumps:
    """Tenfold jumps between rows of the file, judged as the rows arrive. A pair of periods is
    judged when its second row comes: the first is then still in the window, or was kept
    aside because it left the window before meeting both its neighbours. Only the first
    refused line counts, as in the staging path's ORDER BY line."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.window: OrderedDict[tuple[str, str], list] = OrderedDict()  # O(1) to drop the oldest; (metric, label) -> [row, met previous, met next, |value|]
        self.loose: dict[tuple[str, str], list] = {}
        self.first: tuple[int, BadInput] | None = None

    def see(self, ok: Checked) -> None:
        metric = ok.metric.name
        key = (metric, ok.period.label)
        if key in self.window or key in self.loose:
            raise _Undecided  # a duplicate: the staging path names both of its lines
        entry = [ok, False, False, abs(float(ok.value))]
        before = self._find((metric, ok.period.previous))
        if before is not None:
            self._pair(entry, before)
            entry[1] = before[2] = True
        after = self._find((metric, ok.period.following))
        if after is not None:
            self._pair(after, entry)
            entry[2] = after[1] = True
        if len(self.window) >= _WINDOW:
            self._evict()
        self.window[key] = entry

    def _find(self, key: tuple[str, str]) -> list | None:
        return self.window.get(key) or self.loose.get(key)

    def _evict(self) -> None:
        key, entry = self.window.popitem(last=False)  # the oldest
        if not (entry[1] and entry[2]):
            self.loose[key] = entry
            if len(self.loose) > _LOOSE:
                raise _Undecided  # memory would grow with the file

    def _pair(self, later: list, earlier: list) -> None:
        """Judged exactly only when floating point says it is near or past tenfold (the
        staging path's SQL uses the same margin): a Decimal division per row cost a second
        at 300,000 rows. Values that floating point rounds to 0 or infinity are judged exactly."""
        value, previous = later[3], earlier[3]
        if value > 9.99 * previous or 9.99 * value < previous or not (_TINY < value < _HUGE and _TINY < previous < _HUGE):
            self._judge(later[0], earlier[0])

    def _judge(self, later: Checked, earlier: Checked) -> None:
        if self.first is not None and self.first[0] < later.line:
            return
        try:
            check_jump(later.metric, later.period.period, later.value, earlier.value, False)
        except BadInput as error:
            self.first = (later.line, BadInput(f"{self.label} line {later.line}: {error}"))

"""The one place evaluation touches the database: read the readings every goal judged as of
`now` may look at (its windows, the ones before for baselines and the forecast's history)
and judge them. The alert cycle, the daemon, /metrics and `tracker status` call it; the
report reads the same readings to draw, so its charts show exactly what its verdicts saw.

A long-lived process passes a `Remembered`: then a goal whose inputs have not changed since
it was last judged is not read or judged again. Its inputs are its metrics' stored rows
(fingerprinted in SQL by one aggregate per metric over exactly the rows the reading query
would return), the local day, and for each metric the last period due by now (what makes a
figure late). Nothing else of `now` reaches a verdict except `evaluated_at`, which is set
anew on the remembered one. On SQLite the aggregate itself is skipped while migration 0011's
change marker says no actual was written and no stored period has come into view since it
last ran: a steady cycle then reads no actual at all. Milestones are judged every time (their warning window moves by
the instant) and cost next to nothing. Across processes, the same key (with the goal's
definition and the code's digest) finds a verdict in the verdicts table (tracker.store.verdicts),
and a new Remembered starts from the fingerprints stored with them (`_held`): while the
change marker says they still hold, a command beside a daemon, or a restarted daemon, runs
no aggregate either.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import Engine
from sqlmodel import Session

from tracker.catalog.model import Catalog
from tracker.core.evaluation import earliest_start, evaluate_goals
from tracker.core.gaps import last_due
from tracker.core.goals import Goal, Kind
from tracker.core.heap import collector_paused
from tracker.core.readings import Reading
from tracker.core.verdict import Evaluation, at_instant
from tracker.store import verdicts
from tracker.store.actuals import change_marker, fingerprints, readings_until
from tracker.store.dbtypes import utc_to_db


def readings_for(
    session: Session, *, catalog: Catalog, now: datetime, known_at: datetime | None = None
) -> dict[str, list[Reading]]:
    metrics = {name for goal in catalog.goals for name in goal.metrics}
    return readings_until(session, metrics=metrics, until=now, since=earliest_start(catalog, now), known_at=known_at)


class _Judged(NamedTuple):
    key: tuple
    evaluation: Evaluation


class _Prints(NamedTuple):
    """The last aggregate's fingerprints, with what they were read under: they are the
    aggregate as of `until` over the rows up to the marker's id, and no row in scope starts
    in (until, upcoming)."""

    marker: tuple[int, int]
    since: date
    until: datetime
    upcoming: object | None
    by_metric: dict[str, tuple]
    edits: dict[str, int]


class Remembered:
    """The verdicts of the last cycle with the inputs they came from, for one catalog (a
    reload starts afresh). Used by one cycle at a time.

    A remembered verdict is handed out as a copy with the new `evaluated_at`; `verdict`
    gives the object it was copied from, the same object for as long as the verdict is
    reused, so that what a cycle derives from a verdict (its alerts' matches) can be kept
    with it. `alerting` is the alert cycle's own memory of its last write
    (tracker.alerting.cycle owns its form), forgotten with the verdicts.

    A goal not remembered here is looked up in the verdicts table (tracker.store.verdicts)
    under a digest of its inputs; the verdicts judged afresh wait in `unsaved` until the
    caller stores them (`save`: the daemon after its cycle; a command need not)."""

    def __init__(self) -> None:
        self.catalog: Catalog | None = None
        self.judged: dict[str, _Judged] = {}
        self.reused = 0  # goals taken from the last cycle by the last call (for benchmarks and logs)
        self.loaded = 0  # of those, taken from the verdicts table
        self.built = 0  # verdicts the last call judged or decoded, milestones (judged every time, cheaply) aside
        self.unsaved: list[tuple[str, str, Evaluation]] = []
        self.saved_for: Catalog | None = None  # the catalog whose goals' rows the table holds
        self.alerting: object | None = None
        self.prints: _Prints | None = None
        self.keys: tuple | None = None  # (day, periods due, each goal's key): the last call's
        self.dues: set[tuple] | None = None  # per catalog: its metrics' (granularity, grace)
        self._users: dict[str, list[Goal]] | None = None  # per catalog: the goals of each metric
        self.prints_saved: _Prints | None = None  # the prints the verdict_prints table holds

    def forget(self) -> None:
        self.catalog, self.judged, self.unsaved, self.alerting = None, {}, [], None
        self.prints, self.keys, self.dues, self._users, self.prints_saved = None, None, None, None, None

    def users(self, metric: str) -> list[Goal]:
        """The goals of `catalog` that read this metric."""
        if self._users is None:
            assert self.catalog is not None
            self._users = {}
            for goal in self.catalog.goals:
                for name in goal.metrics:
                    self._users.setdefault(name, []).append(goal)
        return self._users.get(metric, [])

    def verdict(self, goal: str) -> Evaluation | None:
        """The verdict as judged from its inputs (its `evaluated_at` is that cycle's), or None."""
        found = self.judged.get(goal)
        return None if found is None else found.evaluation

    def digest(self, goal: Goal, key: tuple) -> str:
        assert self.catalog is not None
        return verdicts.inputs_digest(self.catalog.definition(goal), key)

    def save(self, engine: Engine) -> int:
        """Stores the verdicts judged afresh since the last save; the first save for a
        catalog also drops the rows of goals it no longer has."""
        rows, self.unsaved = self.unsaved, []
        keep = None
        if self.catalog is not None and self.saved_for is not self.catalog:
            keep, self.saved_for = [goal.id for goal in self.catalog.goals], self.catalog
        saved = verdicts.save(engine, rows, keep=keep)
        if self.catalog is not None and self.prints is not None and self.prints is not self.prints_saved:
            if (text := _prints_text(self.prints, self.catalog)) is not None:
                verdicts.save_prints(engine, text)
            self.prints_saved = self.prints
        return saved


# Every verdict built here outlives the call: a first cycle at 10,000 goals spent a quarter
# of its 12 s in full collections of that growing heap (9.3 s with them paused, same peak RSS).
@collector_paused()
def evaluate_from_db(
    session: Session,
    *,
    catalog: Catalog,
    now: datetime,
    known_at: datetime | None = None,
    remembered: Remembered | None = None,
) -> list[Evaluation]:
    since = earliest_start(catalog, now)
    if remembered is None or known_at is not None:
        return _judge(session, catalog, catalog.goals, now, since, known_at)
    if remembered.catalog is not catalog:
        _begin(session, remembered, catalog)
    keys, todo, digests = _unknown(session, remembered, catalog, now, since)
    judged = remembered.judged
    stored = verdicts.load(session, digests) if digests else {}
    for goal_id, evaluation in stored.items():
        judged[goal_id] = _Judged(keys[goal_id], evaluation)
    todo = [goal for goal in todo if goal.id not in stored]
    fresh = {e.goal: e for e in _judge(session, catalog, todo, now, since, None)}
    out = []
    for goal in catalog.goals:
        evaluation = fresh.get(goal.id)
        if evaluation is None:
            evaluation = at_instant(judged[goal.id].evaluation, now)
        else:
            judged[goal.id] = _Judged(keys[goal.id], evaluation)
            if goal.id in digests:
                remembered.unsaved.append((goal.id, digests[goal.id], evaluation))
        out.append(evaluation)
    remembered.reused, remembered.loaded, remembered.built = len(catalog.goals) - len(todo), len(stored), len(digests)
    return out


@collector_paused()
def views_from_db(session: Session, *, catalog: Catalog, now: datetime, known_at: datetime | None = None) -> list[str]:
    """Each goal's object in `tracker status --json` as its text (verdicts.view_text), as
    evaluate_from_db judges it: a verdict stored for the same inputs is its stored text
    with `now` as its evaluated_at, never decoded and encoded again (100,000 goals beside a
    daemon: 2.5 s of 9.5 s)."""
    since = earliest_start(catalog, now)
    if known_at is not None:
        return [verdicts.view_text(e) for e in _judge(session, catalog, catalog.goals, now, since, known_at)]
    remembered = Remembered()
    _begin(session, remembered, catalog)
    _, todo, digests = _unknown(session, remembered, catalog, now, since)
    stored = verdicts.load_views(session, digests) if digests else {}
    fresh = {e.goal: e for e in _judge(session, catalog, [g for g in todo if g.id not in stored], now, since, None)}
    stamp, dated, text = json.dumps(now.isoformat()), verdicts.dated, verdicts.view_text
    return [dated(view, stamp) if (view := stored.get(goal.id)) is not None else text(fresh[goal.id])
            for goal in catalog.goals]


def _begin(session: Session, remembered: Remembered, catalog: Catalog) -> None:
    """`remembered` afresh for `catalog`, with the fingerprints stored for the same metrics."""
    remembered.forget()
    remembered.catalog = catalog
    text = verdicts.held_prints(session)
    remembered.prints = remembered.prints_saved = None if text is None else _held(text, catalog)


def _prints_text(prints: _Prints, catalog: Catalog) -> str | None:
    """The prints as stored, with a digest of the metrics they cover; None for a form JSON
    cannot hold exactly (an `upcoming` that is not the text SQLite keeps)."""
    if not isinstance(prints.upcoming, str | None):
        return None
    return json.dumps({"metrics": _names_digest(catalog), "marker": prints.marker, "since": prints.since.isoformat(),
                       "until": prints.until.isoformat(), "upcoming": prints.upcoming, "by_metric": prints.by_metric,
                       "edits": prints.edits}, separators=(",", ":"))


def _held(text: str, catalog: Catalog) -> _Prints | None:
    """_prints_text's prints if they cover the catalog's metrics; a row this code cannot
    read is none (the aggregate runs). Every part is checked for its type here: a print of
    another shape, or an `upcoming` that is not text, would raise later, in `_added` or in
    the comparison with `now`."""
    try:
        values = json.loads(text)
        if values["metrics"] != _names_digest(catalog):
            return None
        top, changes = values["marker"]
        upcoming, edits = values["upcoming"], dict(values["edits"])
        by_metric = {}
        for metric, (count, total, last, edited) in values["by_metric"].items():
            if not type(count) is type(total) is type(last) is type(edited) is int:
                return None
            by_metric[metric] = (count, total, last, edited)
        if not (type(top) is type(changes) is int and isinstance(upcoming, str | None)
                and all(type(n) is int for n in edits.values())):
            return None
        return _Prints((top, changes), date.fromisoformat(values["since"]), datetime.fromisoformat(values["until"]),
                       upcoming, by_metric, edits)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _names_digest(catalog: Catalog) -> str:
    return hashlib.blake2b("\0".join(sorted(_metrics(catalog.goals))).encode(), digest_size=16).hexdigest()


def _unknown(session: Session, remembered: Remembered, catalog: Catalog, now: datetime,
             since: date) -> tuple[dict[str, tuple | None], list[Goal], dict[str, str]]:
    """Each goal's key, the goals `remembered` holds no verdict of for their key, and of
    those the inputs digest of each that has a key (the others are judged every time)."""
    prints, moved = _fingerprints(session, remembered, catalog.goals, now, since)
    keys = _keys(remembered, catalog, prints, moved, now)
    judged = remembered.judged
    todo = [goal for goal in catalog.goals if keys[goal.id] is None or judged.get(goal.id, _MISS).key != keys[goal.id]]
    return keys, todo, {goal.id: remembered.digest(goal, key) for goal in todo if (key := keys[goal.id]) is not None}


_MISS = _Judged((), None)  # type: ignore[arg-type]
# Goals are judged a batch of metrics at a time, so that memory holds one batch's readings
# (100 readings a metric take ~20 KB; 100,000 metrics' would take 2 GB).
_BATCH_METRICS = 1_000


def _judge(session: Session, catalog: Catalog, goals: Sequence[Goal], now: datetime, since: date,
           known_at: datetime | None) -> list[Evaluation]:
    out: list[Evaluation] = []
    for batch in _batches(goals):
        readings = readings_until(session, metrics=_metrics(batch), until=now, since=since, known_at=known_at)
        out += evaluate_goals(catalog, batch, readings, now, known_at=known_at)
    return out


def _batches(goals: Sequence[Goal]) -> Iterable[list[Goal]]:
    batch: list[Goal] = []
    names: set[str] = set()
    for goal in goals:
        if batch and len(names | set(goal.metrics)) > _BATCH_METRICS:
            yield batch
            batch, names = [], set()
        batch.append(goal)
        names.update(goal.metrics)
    if batch:
        yield batch


def _fingerprints(session: Session, remembered: Remembered, goals: Sequence[Goal], now: datetime,
                  since: date) -> tuple[dict[str, tuple], set[str] | None]:
    """The last aggregate's prints while no actual has been written since (the change
    marker, read first: a write committed before the aggregate only costs one more) and
    time has brought no stored period into view; with only rows inserted since, those
    prints with the new rows' added (an aggregate over them alone); else a new aggregate.
    With them, the metrics whose prints may differ from the last call's (None: any)."""
    marker = change_marker(session)
    held = remembered.prints
    if (marker is not None and held is not None and held.since == since and held.marker[1] == marker[1]
            and held.marker[0] <= marker[0] and held.until <= now
            and (held.upcoming is None or utc_to_db(now, "sqlite") < held.upcoming)):
        if held.marker == marker:
            return held.by_metric, set()
        new = fingerprints(session, metrics=_metrics(goals), until=now, since=since, after=held.marker[0])
        prints = _added(held.by_metric, new.by_metric, held.edits)
        upcoming = min((at for at in (held.upcoming, new.upcoming) if at is not None), default=None)
        remembered.prints = _Prints(marker, since, now, upcoming, prints, held.edits)
        return prints, set(new.by_metric)
    found = fingerprints(session, metrics=_metrics(goals), until=now, since=since)
    remembered.prints = None if marker is None else _Prints(marker, since, now, found.upcoming, found.by_metric,
                                                            found.edits)
    return found.by_metric, None


def _added(prints: dict[str, tuple], new: dict[str, tuple], edits: dict[str, int]) -> dict[str, tuple]:
    """The prints of the rows behind `prints` and `new` together: what one aggregate over
    both gives (counts and sums add, the largest id is the new rows')."""
    out = dict(prints)
    for metric, (count, total, top, _) in new.items():
        before = out.get(metric)
        out[metric] = ((count, total, top, edits.get(metric, 0)) if before is None
                       else (before[0] + count, before[1] + total, top, before[3]))
    return out


def _metrics(goals: Iterable[Goal]) -> set[str]:
    return {name for goal in goals for name in goal.metrics}


def _keys(remembered: Remembered, catalog: Catalog, prints: dict[str, tuple], moved: set[str] | None,
          now: datetime) -> dict[str, tuple | None]:
    """Each goal's key; the last call's, on the same day with the same last periods due, but
    for the goals of the metrics whose prints `moved` (None: any may have)."""
    if remembered.dues is None:
        remembered.dues = {(spec.granularity, spec.grace) for spec in catalog.metrics.values() if spec.grace is not None}
    dues = {shape: last_due(*shape, now, catalog.timezone) for shape in remembered.dues}
    today = now.astimezone(catalog.timezone).date()
    held = remembered.keys
    if held is not None and moved is not None and held[0] == today and held[1] == dues:
        keys = held[2]
        if moved:
            keys = dict(keys)
            for goal in {goal.id: goal for name in moved for goal in remembered.users(name)}.values():
                keys[goal.id] = _key(goal, catalog, prints, today, dues)
    else:
        keys = {goal.id: _key(goal, catalog, prints, today, dues) for goal in catalog.goals}
    remembered.keys = (today, dues, keys)
    return keys


def _key(goal: Goal, catalog: Catalog, prints: dict[str, tuple], today: date, dues: dict[tuple, object]) -> tuple | None:
    """What the goal's verdict depends on besides the catalog; None: judge it every time."""
    if goal.kind is Kind.MILESTONE:
        return None
    parts: list[object] = [today]
    for name in goal.metrics:
        spec = catalog.metrics[name]
        parts.append(prints.get(name))
        parts.append(None if spec.grace is None else dues[(spec.granularity, spec.grace)])
    return tuple(parts)



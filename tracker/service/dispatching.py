"""When the delivery job must dispatch alert groups, and when a pass can skip it.

The delivery job runs every few seconds and used to dispatch each time: read every alert
row, group and mute them, decide every group (0.7 s of a core at 10,000 goals, 18% of a
core at idle). A dispatch decides from its inputs (the catalog's routes, the alerts, what
each receiver was told, the silences) and the clock; with the inputs unchanged, its answer
changes only when the clock reaches a group's due time (group_wait, group_interval,
repeat_interval) or a silence's start or end. So each dispatch leaves a `Schedule`: the
inputs as read just before it and the earliest such moment. A later pass that finds the same
inputs, read cheaply (one counter, one aggregate, the silences), before that moment skips.

Reading the inputs before the dispatch keeps this conservative: whatever changes after the
read (a cycle on another thread, `tracker silence` in another process) differs from the
schedule at the next pass, which then dispatches. A new leader (another term) and a reloaded
catalog have no schedule yet: their first pass dispatches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from tracker.alerting.cycle import alerts_version
from tracker.store import db
from tracker.store.alert_tables import AlertGroup, Silence

if TYPE_CHECKING:
    from sqlmodel import Session

    from tracker.alerting.dispatch import DispatchResult
    from tracker.store.runtime import Runtime


@dataclass(frozen=True, eq=False)  # compared with `same`: the catalog by identity, never field by field
class Inputs:
    """What a dispatch reads besides the clock, in a form that is cheap to read and compare."""

    catalog: Any  # compared by identity: a reload swaps the object
    term: int  # the leader's term: another replica may have dispatched in between
    alerts: int  # alerts_version, bumped by every cycle that writes alerts
    told: tuple[int, datetime | None]  # alert groups: how many, the latest notification
    silences: frozenset[tuple[str, datetime, datetime]]  # (id, start, end) of those ending after `since`

    def same(self, other: Inputs) -> bool:
        return self.catalog is other.catalog and (self.term, self.alerts, self.told, self.silences) == (
            other.term, other.alerts, other.told, other.silences)


@dataclass(frozen=True)
class Schedule:
    """The inputs a dispatch at `at` decided from, and the earliest its answer can change."""

    inputs: Inputs
    at: datetime
    due: datetime | None  # None: never, with these inputs


def read_inputs(session: Session, *, catalog: Any, term: int, since: datetime) -> Inputs:
    told = session.execute(select(func.count(), func.max(AlertGroup.notified_at))).one()
    silences = session.execute(select(Silence.id, Silence.starts_at, Silence.ends_at).where(Silence.ends_at > since))
    return Inputs(catalog, term, alerts_version(session), (told[0], told[1]), frozenset(map(tuple, silences)))


def schedule_after(inputs: Inputs, result: DispatchResult, *, at: datetime) -> Schedule:
    """What a dispatch at `at` from `inputs` leaves. One that queued anything is followed
    by a full pass: the groups it notified repeat from now, which it did not work out."""
    if result.queued:
        return Schedule(inputs, at, at)
    moments = [result.next_due, result.next_repeat]
    moments += [when for _, start, end in inputs.silences for when in (start, end) if when > at]
    found = [when for when in moments if when is not None]
    return Schedule(inputs, at, min(found, default=None))


class DispatchGate:
    """Runs a dispatch only when the last one's schedule says it may find something new.
    Passes overlap (tracker.service.jobs): one dispatch at a time, so two never decide
    the same group from the same rows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.schedule: Schedule | None = None
        self.skipped = 0  # passes that found nothing could be due (for tests and logs)

    def run(self, runtime: Runtime, *, term: int, now: datetime,
            dispatch: Callable[[], DispatchResult]) -> DispatchResult | None:
        """`dispatch()`'s result, or None when nothing can be due at `now`."""
        with self._lock:
            catalog, last = runtime.catalog, self.schedule
            with db.session(runtime.engine) as session:
                if last is not None and last.inputs.catalog is catalog and last.inputs.term == term \
                        and (last.due is None or now < last.due):
                    if read_inputs(session, catalog=catalog, term=term, since=last.at).same(last.inputs):
                        self.skipped += 1
                        return None
                inputs = read_inputs(session, catalog=catalog, term=term, since=now)
            self.schedule = None  # a failed dispatch leaves no schedule: the next pass tries again
            result = dispatch()
            self.schedule = schedule_after(inputs, result, at=now)
            return result

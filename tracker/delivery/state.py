"""What every lane of one delivery pass shares: the pass's clock, its receivers' deadlines,
limits and leases, a short-lived reading of silences, and the queue for SQLite's writer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from tracker.delivery import receivers
from tracker.delivery.pipeline import SENT, Job
from tracker.store import db, silences

if TYPE_CHECKING:
    from tracker.catalog.routing import Target
    from tracker.store.runtime import Runtime

MUTES_FRESH = 1.0  # seconds a pass trusts its reading of silences and disabled receivers


@dataclass(frozen=True)
class PassState:
    """What every lane of one pass shares."""

    runtime: Runtime
    now: datetime
    started: float
    channels: dict[str, Any]
    targets: dict[str, Target]
    rng: Callable[[], float]
    # SQLite takes one writer at a time; threads that queue for it here wait for a lock
    # handed over at once, instead of in SQLite's busy handler, which sleeps in steps of up
    # to 100 ms (measured: 59 rows/s with four threads unserialised). PostgreSQL needs none.
    writes: Any = field(default_factory=threading.Lock)
    mutes_lock: Any = field(default_factory=threading.Lock)
    mutes_read: list[Any] = field(default_factory=lambda: [0.0, None])
    successes: dict[str, float] = field(default_factory=dict)  # receiver -> when a success was last noted
    own_clock: Callable[[], datetime] | None = None

    def mutes(self, session: Session, at: datetime) -> tuple[dict[str, datetime], frozenset[str]]:
        """Silences and disabled receivers, read again once a second at most: a silence set
        during a pass holds back what the pass sends from a second later on."""
        with self.mutes_lock:
            read_at, found = self.mutes_read
            if found is None or time.monotonic() - read_at >= MUTES_FRESH:
                found = (silences.active(session, now=at), receivers.disabled(session))
                self.mutes_read[:] = [time.monotonic(), found]
            return found

    def note_success(self, job: Job) -> bool:
        """Whether a success must be written to the receiver's health: the first of a pass,
        the first after a failure, and then once a second (for `last_success_at`)."""
        with self.mutes_lock:
            if job.error is not None or job.outcome != SENT:
                if job.error is not None:  # the next success must be written: it ends a run of failures
                    self.successes.pop(job.receiver, None)
                return False
            last = self.successes.get(job.receiver)
            if last is not None and time.monotonic() - last < MUTES_FRESH:
                return False
            self.successes[job.receiver] = time.monotonic()
            return True

    def write(self) -> Any:
        """A write transaction, queued in-process first on SQLite."""
        if self.runtime.engine.dialect.name == "postgresql":
            return db.session(self.runtime.engine, write=True)
        return _serialised(self.writes, self.runtime.engine)

    def clock(self) -> datetime:
        if self.own_clock is not None:
            return self.own_clock()
        return self.now + timedelta(seconds=time.monotonic() - self.started)

    def timeout(self, receiver: str) -> float:
        target = self.targets.get(receiver)
        own = target.timeout_seconds if target is not None else None
        return own or self.runtime.settings.deliver.timeout_seconds

    def limit(self, receiver: str) -> int:
        target = self.targets.get(receiver)
        own = target.concurrency if target is not None else None
        return own or self.runtime.settings.deliver.concurrency

    def lease(self, receiver: str) -> timedelta:
        # The request's deadline twice over plus time to record: a live worker's claim is
        # never taken over unless it stalls far beyond its deadline.
        return timedelta(seconds=2 * self.timeout(receiver) + 5)


@contextmanager
def _serialised(lock: threading.Lock, engine: Any) -> Iterator[Session]:
    with lock, db.session(engine, write=True) as session:
        yield session



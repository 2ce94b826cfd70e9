"""This process's part among replicas: whether it may evaluate now, and under which fence.

On PostgreSQL any number of `tracker run` processes share one database; the one holding the
evaluation lease (tracker.store.leadership) evaluates and dispatches alert groups, and every one delivers (claims are row by
row, `FOR UPDATE SKIP LOCKED`). The lease is taken or renewed before each evaluation and by
a renew job every third of its TTL, and given up on a clean shutdown. On SQLite there is one
process per database file (tracker.service.lock), so it always evaluates and takes no lease.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from tracker.service import logs
from tracker.store import db, leadership
from tracker.store.leadership import EVALUATOR, Fence

if TYPE_CHECKING:
    from tracker.service.metrics import DaemonMetrics
    from tracker.store.runtime import Runtime


def default_holder() -> str:
    """Names this process in the lease row: host and pid for people, a nonce for uniqueness."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def is_shared(database_url: str) -> bool:
    """Whether replicas may share this database (and so must coordinate)."""
    return make_url(database_url).get_backend_name() == "postgresql"


class Leadership:
    """Takes, renews and gives up the evaluation lease; reports it in /metrics and the log."""

    def __init__(self, runtime: Runtime, metrics: DaemonMetrics, *, holder: str | None = None) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self.holder = holder or default_holder()
        self.shared = is_shared(runtime.settings.database_url)
        self.term: int | None = None
        self._lock = threading.Lock()  # the renew job and the evaluation run on two threads
        self.log = logs.get("tracker.leadership")

    @property
    def ttl(self) -> timedelta:
        return timedelta(seconds=self.runtime.settings.leadership.ttl_seconds)

    def acquire(self, now: datetime) -> Fence | None:
        """Takes or renews the lease. Returns the fence to evaluate under, or None when another
        replica leads. On SQLite, a fence that never fails is not needed: returns SOLO."""
        if not self.shared:
            self._note(0)
            return SOLO

        with db.session(self.runtime.engine, write=True) as session:
            term = leadership.acquire(session, name=EVALUATOR, holder=self.holder, ttl=self.ttl, now=now)
        self._note(term)
        return None if term is None else Fence(EVALUATOR, self.holder, term)

    def fence(self) -> Fence | None:
        """The fence this replica leads under now, without touching the lease; None while
        another replica leads (or before the first evaluation took the lease)."""
        with self._lock:
            term = self.term
        if not self.shared:
            return SOLO
        return None if term is None else Fence(EVALUATOR, self.holder, term)

    def renew(self, now: datetime) -> dict[str, int]:
        """The renew job's unit of work: says something only when leadership changed hands."""
        before = self.term
        fence = self.acquire(now)
        return {} if self.term == before else {"leader": int(fence is not None)}

    def lost(self, reason: str) -> None:
        """The fence failed mid-cycle: another replica took over."""
        self.log.warning("leadership lost mid-cycle; the cycle was abandoned, nothing written", reason=reason)
        self._note(None)

    def release(self) -> None:
        """Gives the lease up at once on a clean shutdown, so a successor need not wait the TTL."""
        if not self.shared or self.term is None:
            return

        with db.session(self.runtime.engine, write=True) as session:
            leadership.release(session, name=EVALUATOR, holder=self.holder)
        self.log.info("leadership released", term=self.term, holder=self.holder)
        with self._lock:
            self.term = None
        self.metrics.leader.set(0)

    def _note(self, term: int | None) -> None:
        with self._lock:
            before, self.term = self.term, term
        self.metrics.leader.set(0 if term is None else 1)
        if term is not None and before != term and self.shared:
            self.log.info("leadership acquired", term=term, holder=self.holder)
        elif term is None and before is not None:
            self.log.info("leadership passed to another replica", term=before, holder=self.holder)


class _Solo(Fence):
    """SQLite: one process per file, nothing to fence against."""

    def check(self, session, *, now):  # type: ignore[no-untyped-def]
        return None


SOLO = _Solo(EVALUATOR, "solo", 0)

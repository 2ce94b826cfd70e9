"""Receivers' lanes: each receiver has its own few delivery threads, so a slow or hanging
receiver holds up only itself.

A lane thread claims its receiver's earliest due row (one row, just before sending it: the
lease starts when the request does), runs it through the pipeline and records the outcome
under the claim token, then takes the next. `Slots` bounds the requests in flight per
receiver across every pass of a process, so overlapping passes never exceed it either.
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog

from tracker.delivery.pipeline import Job

log = structlog.get_logger("tracker.delivery")


class Slots:
    """Requests in flight per receiver, bounded; shared by the passes of one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taken: dict[str, int] = defaultdict(int)

    @contextmanager
    def hold(self, receiver: str, limit: int) -> Iterator[bool]:
        """Yields True with a slot taken, False (at once) when the receiver has none free."""
        with self._lock:
            free = self._taken[receiver] < limit
            if free:
                self._taken[receiver] += 1
        try:
            yield free
        finally:
            if free:
                with self._lock:
                    self._taken[receiver] -= 1


@dataclass
class InFlight:
    """Rows claimed and not yet recorded, by id: what a drain that runs out gives back."""

    rows: dict[int, str] = field(default_factory=dict)  # row id -> claim token
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, row_id: int, token: str) -> None:
        with self.lock:
            self.rows[row_id] = token

    def remove(self, row_id: int) -> None:
        with self.lock:
            self.rows.pop(row_id, None)

    def snapshot(self) -> dict[int, str]:
        with self.lock:
            return dict(self.rows)


@dataclass
class Lane:
    """One receiver's work in one pass. `claim(receiver, token)` returns a Job and its
    pipeline context or None; `deliver(job, ctx)` runs the pipeline; `record(job, token,
    next_token)` writes the outcome, says whether the database accepted it, and (with a
    next token) claims the next row in the same transaction; `accepted(job)` counts it."""

    receiver: str
    limit: int
    claim: Callable[[str, str], tuple[Job, Any] | None]
    deliver: Callable[[Job, Any], Job]
    record: Callable[[Job, str, str | None], tuple[bool, tuple[Job, Any] | None]]
    accepted: Callable[[Job], None]
    stop: threading.Event
    slots: Slots
    in_flight: InFlight
    errors: list[BaseException]

    def run(self) -> None:
        """Takes rows until none is due, a stop is asked for, or the database fails. The
        thread holds one of the receiver's slots throughout: one request at a time."""
        try:
            with self.slots.hold(self.receiver, self.limit) as free:
                if free and not self.stop.is_set():
                    self._loop()
        except Exception as error:  # the database failed: this lane stops, the pass reports it
            self.errors.append(error)
            log.error("delivery lane stopped", receiver=self.receiver, error=f"{type(error).__name__}: {error}"[:300])

    def _loop(self) -> None:
        token = uuid.uuid4().hex
        claimed = self.claim(self.receiver, token)
        while claimed is not None:
            job, ctx = claimed
            self.in_flight.add(job.id, token)
            upcoming = None
            try:
                done = self.deliver(job, ctx)
                upcoming = None if self.stop.is_set() else uuid.uuid4().hex  # asked now, after the send
                ok, claimed = self.record(done, token, upcoming)
            finally:
                self.in_flight.remove(job.id)
            if ok:
                self.accepted(done)
            token = upcoming or token


def start(lanes: list[Lane], threads_per_lane: Callable[[Lane], int]) -> list[threading.Thread]:
    """Daemon threads: a drain that runs out can leave a hung request behind and exit."""
    threads = [
        threading.Thread(target=lane.run, name=f"deliver:{lane.receiver}:{n}", daemon=True)
        for lane in lanes
        for n in range(threads_per_lane(lane))
    ]
    for thread in threads:
        thread.start()
    return threads

"""One delivery pass: claim due notifications in batches, run each through the pipeline on a
small thread pool, and record the outcomes. Claims are committed before anything is sent,
so another replica never sends the same row at the same time, and a crash loses nothing."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

import httpx
import structlog
from sqlalchemy import delete, select, update
from sqlmodel import Session

from tracker.catalog.model import plan_for
from tracker.delivery import outbox
from tracker.delivery.channel import make_channel
from tracker.delivery.pipeline import DEAD, MUTED, RETRY, SENT, SUPERSEDED, Context, Job, run
from tracker.store import db, silences
from tracker.store.alert_tables import NotifyLog, OutboxRow, ReceiverState

if TYPE_CHECKING:
    from tracker.store.runtime import Runtime

log = structlog.get_logger("tracker.delivery")
FAILING_AFTER = 3  # failures in a row before a receiver is reported as failing


@dataclass
class ReceiverCounts:
    sent: int = 0
    failed: int = 0  # failed and will be retried
    dead: int = 0
    muted: int = 0
    superseded: int = 0

    def add(self, outcome: str) -> None:
        name = _COUNTER[outcome]
        setattr(self, name, getattr(self, name) + 1)


@dataclass
class PassResult:
    receivers: dict[str, ReceiverCounts] = field(default_factory=lambda: defaultdict(ReceiverCounts))

    def total(self, outcome: str) -> int:
        return sum(getattr(counts, outcome) for counts in self.receivers.values())


_COUNTER = {SENT: "sent", RETRY: "failed", DEAD: "dead", MUTED: "muted", SUPERSEDED: "superseded"}


def deliver_pass(
    runtime: Runtime,
    *,
    now: datetime,
    client: httpx.Client | None = None,
    rng: Callable[[], float] | None = None,
) -> PassResult:
    """Delivers every notification due at `now`; failed ones are rescheduled."""
    settings = runtime.settings.deliver
    own = client is None
    client = client or httpx.Client(timeout=settings.timeout_seconds)
    channels = {name: make_channel(t, client) for name, t in plan_for(runtime.catalog, runtime.settings).targets.items()}
    # a lease longer than any send can take, so a live worker's rows are never re-claimed
    lease = timedelta(seconds=settings.timeout_seconds * 3 + 30)
    result = PassResult()
    claim = partial(_claim, runtime, channels=channels, now=now, lease=lease, rng=rng or random.random)
    try:
        with ThreadPoolExecutor(settings.concurrency, thread_name_prefix="deliver") as pool:
            _pump(runtime, pool, claim, result, now)
    finally:
        if own:
            client.close()
    return result


@dataclass
class _Batch:
    token: str
    jobs: list[Job]
    ctx: Context
    sending: list[Future[Job]] = field(default_factory=list)


def _pump(runtime: Runtime, pool: ThreadPoolExecutor, claim: Callable[[], _Batch | None], result: PassResult,
          now: datetime) -> None:
    """Claims the next batch while the previous one is on the wire, then records the previous
    one while the next is sent: the database work overlaps the network work."""
    previous = None
    while True:
        current = claim()
        if current is not None:
            current.sending = [pool.submit(run, job, current.ctx) for job in current.jobs]
        if previous is not None:
            done = [future.result() for future in previous.sending]
            with db.session(runtime.engine, write=True) as session:
                record(session, jobs=done, token=previous.token, now=now)
            for job in done:
                result.receivers[job.receiver].add(job.outcome)  # type: ignore[arg-type]
        if current is None:
            return
        previous = current


def _claim(runtime: Runtime, **kw) -> _Batch | None:  # type: ignore[no-untyped-def]
    """Claims up to batch_size due rows; returns them paired with the pipeline to run."""
    now, token = kw["now"], uuid.uuid4().hex
    with db.session(runtime.engine, write=True) as session:
        rows = outbox.claim(session, now=now, lease=kw["lease"], limit=runtime.settings.deliver.batch_size, token=token)
        if not rows:
            return None
        ctx = Context(
            now=now,
            channels=kw["channels"],
            silenced=silences.active(session, now=now),
            latest_sent=outbox.latest_sent(session, rows=rows),
            disabled=disabled_receivers(session),
            rng=kw["rng"],
        )
        jobs = [_job(row) for row in rows]
    return _Batch(token, jobs, ctx)


def _job(row: OutboxRow) -> Job:
    return Job(row.id, row.webhook_id, row.receiver, row.fingerprint, row.subject, row.body, row.attempts)  # type: ignore[arg-type]


def disabled_receivers(session: Session) -> frozenset[str]:
    query = select(ReceiverState.name).where(ReceiverState.disabled_at.is_not(None))
    return frozenset(session.execute(query).scalars())


def _values(job: Job, now: datetime) -> dict[str, object]:
    common = {"attempts": job.attempts, "last_status": job.status}
    if job.outcome == SENT:
        return {**common, "state": outbox.SENT, "sent_at": now, "last_error": None}
    if job.outcome == RETRY:
        return {**common, "state": outbox.QUEUED, "next_attempt_at": job.next_attempt_at, "last_error": job.reason}
    return {**common, "state": job.outcome, "last_error": job.reason}


def record(session: Session, *, jobs: Iterable[Job], token: str, now: datetime) -> None:
    """Writes the outcomes: rows with the same new values in one UPDATE each."""
    groups: dict[tuple, list[Job]] = defaultdict(list)
    for job in jobs:
        groups[tuple(sorted(_values(job, now).items(), key=lambda kv: kv[0]))].append(job)
    for values, members in groups.items():
        outbox.finish(session, ids=[j.id for j in members], token=token, **dict(values))
    jobs = [job for members in groups.values() for job in members]
    muted = [job.id for job in jobs if job.outcome == MUTED]
    if muted:
        _forget_muted(session, muted)
    _note_receivers(session, jobs, now)


def _forget_muted(session: Session, ids: list[int]) -> None:
    """The receiver was not told: put its log back to what it last heard (nothing, or that the
    alert fires), so the first cycle after the silence sends what it missed."""
    events = dict(session.execute(select(OutboxRow.id, OutboxRow.event).where(OutboxRow.id.in_(ids))).all())
    fired = [i for i in ids if events.get(i) == "alert.firing"]
    resolved = [i for i in ids if events.get(i) == "alert.resolved"]
    if fired:
        session.execute(delete(NotifyLog).where(NotifyLog.outbox_id.in_(fired)))
    if resolved:
        session.execute(update(NotifyLog).where(NotifyLog.outbox_id.in_(resolved)).values(state="firing"))


def _note_receivers(session: Session, jobs: list[Job], now: datetime) -> None:
    by_receiver: dict[str, list[Job]] = defaultdict(list)
    for job in jobs:
        if job.error is not None or job.outcome == SENT:
            by_receiver[job.receiver].append(job)
    for name, members in by_receiver.items():
        state = session.get(ReceiverState, name) or ReceiverState(name=name)
        failures = [j for j in members if j.error is not None]
        if len(failures) < len(members):
            state.consecutive_failures, state.last_success_at = 0, now
        if failures:
            state.consecutive_failures += len(failures)
            state.last_error, state.last_failure_at = failures[-1].reason, now
            _log_failures(name, failures, state.consecutive_failures)
        if any(j.disable for j in members):
            state.disabled_at, state.disabled_reason = now, "answered 410 Gone"
            log.error("receiver disabled", receiver=name, reason=state.disabled_reason)
        session.add(state)


def _log_failures(name: str, failures: list[Job], in_a_row: int) -> None:
    for job in failures:
        level = log.error if job.outcome == DEAD else log.warning
        level("delivery failed", receiver=name, webhook_id=job.webhook_id, error=job.reason,
              attempts=job.attempts, outcome=job.outcome)
    if in_a_row >= FAILING_AFTER:
        log.error("receiver failing", receiver=name, failures_in_a_row=in_a_row)

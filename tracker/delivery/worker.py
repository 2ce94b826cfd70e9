"""One delivery pass: every receiver with notifications due gets its own lane of a few
threads (tracker.delivery.lanes); each thread claims one row, sends it and records its outcome
for that row alone, under its claim token, before it takes the next. So a crash or a lost
database re-sends at most the requests in flight, a hanging receiver holds up only its own
lane, and the counts are what the database accepted.

Time: `now` (injected) says what is due; the attempt's own time, its lease and its
timestamps run on from `now` by the monotonic clock, so a long pass never signs with, or
leases from, its start time. A `stop` event (SIGTERM) stops the lanes claiming; requests in
flight get `drain_seconds` to finish, and whatever is still out then is given back, due.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

import httpx
import structlog
from sqlalchemy import delete, select, update
from sqlmodel import Session

from tracker.catalog.model import plan_for
from tracker.delivery import lanes, outbox, receivers
from tracker.delivery.state import PassState
from tracker.delivery.channel import DeliveryError, make_channel
from tracker.delivery.http import deadline_client
from tracker.delivery.pipeline import DEAD, MUTED, RETRY, SENT, SUPERSEDED, Context, Job, retry, run
from tracker.store import db
from tracker.store.alert_tables import NotifyLog, OutboxRow

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
    disabled: bool = False  # the receiver answered 410 Gone in this pass
    dead_reason: str = ""  # why the last notification that went dead did

    def add(self, outcome: str) -> None:
        name = _COUNTER[outcome]
        setattr(self, name, getattr(self, name) + 1)

    def problem(self) -> str | None:
        """One line for stderr when this pass lost something for the receiver, else None."""
        if self.disabled:
            return f"disabled (it answered 410 Gone); {self.dead} notifications dead"
        if self.dead:
            return f"{self.dead} notifications dead (last: {self.dead_reason[:200]})"
        return None


@dataclass
class PassResult:
    receivers: dict[str, ReceiverCounts] = field(default_factory=lambda: defaultdict(ReceiverCounts))
    released: int = 0  # rows still in flight when the drain ran out, given back
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def total(self, outcome: str) -> int:
        return sum(getattr(counts, outcome) for counts in self.receivers.values())

    def add(self, job: Job) -> None:
        with self._lock:
            counts = self.receivers[job.receiver]
            counts.add(job.outcome)  # type: ignore[arg-type]
            counts.disabled = counts.disabled or job.disable
            if job.outcome == DEAD:
                counts.dead_reason = job.reason

    def problems(self) -> dict[str, str]:
        """Receivers that had a notification go dead, or were disabled, in this pass."""
        found = {name: counts.problem() for name, counts in sorted(self.receivers.items())}
        return {name: text for name, text in found.items() if text}


_COUNTER = {SENT: "sent", RETRY: "failed", DEAD: "dead", MUTED: "muted", SUPERSEDED: "superseded"}


def deliver_pass(
    runtime: Runtime,
    *,
    now: datetime,
    client: httpx.Client | None = None,
    rng: Callable[[], float] | None = None,
    stop: threading.Event | None = None,
    slots: lanes.Slots | None = None,
    clock: Callable[[], datetime] | None = None,
) -> PassResult:
    """Delivers every notification due at `now`; failed ones are rescheduled. Raises the
    first database error a lane met, after the other lanes have finished. `clock` (tests):
    the time of each attempt, else `now` run on by the monotonic clock."""
    settings = runtime.settings.deliver
    targets = plan_for(runtime.catalog, runtime.settings).targets
    with db.session(runtime.engine) as session:
        due = outbox.due_counts(session, now=now)
    if not due:
        return PassResult()
    own = client is None
    client = client or deadline_client(settings.timeout_seconds)
    shared = PassState(runtime, now, time.monotonic(), {}, targets, rng or random.random, own_clock=clock)
    shared.channels.update({name: make_channel(t, client, timeout=shared.timeout(name), clock=shared.clock)
                            for name, t in targets.items()})
    result, stop, in_flight, errors = PassResult(), stop or threading.Event(), lanes.InFlight(), []
    work = [_lane(shared, name, result, stop, slots or lanes.Slots(), in_flight, errors) for name in sorted(due)]
    threads = lanes.start(work, lambda lane: min(lane.limit, due[lane.receiver]))
    try:
        if not _wait(threads, stop, settings.drain_seconds):
            result.released = _give_back(runtime, in_flight, shared.clock())
    finally:
        if own and not in_flight.snapshot():
            client.close()  # a hung request left behind keeps the client until it ends
    if errors:
        raise errors[0]
    return result


def _lane(shared: PassState, receiver: str, result: PassResult, stop: threading.Event, slots: lanes.Slots,
          in_flight: lanes.InFlight, errors: list[BaseException]) -> lanes.Lane:
    return lanes.Lane(
        receiver, shared.limit(receiver),
        claim=lambda name, token: _claim(shared, name, token),
        deliver=_deliver, record=lambda job, token, upcoming: _record(shared, job, token, upcoming),
        accepted=result.add, stop=stop, slots=slots, in_flight=in_flight, errors=errors,
    )


def _wait(threads: list[threading.Thread], stop: threading.Event, drain: float) -> bool:
    """Waits for the lanes; once `stop` is set, for `drain` seconds more at most. False when
    the drain ran out with requests still in flight."""
    drain_end = None
    for thread in threads:
        while thread.is_alive():
            if stop.is_set() and drain_end is None:
                drain_end = time.monotonic() + drain
            if drain_end is not None and time.monotonic() >= drain_end:
                return False
            thread.join(0.05)
    return True


def _give_back(runtime: Runtime, in_flight: lanes.InFlight, now: datetime) -> int:
    """Rows whose requests outlived the drain are due again at once (same webhook-id)."""
    by_token = in_flight.snapshot()
    with db.session(runtime.engine, write=True) as session:
        given = sum(outbox.release(session, ids=[row], token=token, now=now) for row, token in by_token.items())
    log.warning("drain ran out: requests in flight given back", rows=given)
    return given


def _claim(shared: PassState, receiver: str, token: str) -> tuple[Job, Context] | None:
    with shared.write() as session:
        return _claim_in(session, shared, receiver, token)


def _claim_in(session: Session, shared: PassState, receiver: str, token: str) -> tuple[Job, Context] | None:
    """Claims the receiver's next due row, with what the pipeline needs to judge it."""
    at = shared.clock()
    row = outbox.claim_next(session, receiver=receiver, now=shared.now, until=at + shared.lease(receiver), token=token)
    if row is None:
        return None
    silenced, disabled = shared.mutes(session, at)
    ctx = Context(
        now=at,
        channels=shared.channels,
        silenced=silenced,
        latest_sent=outbox.latest_sent(session, rows=[row]),
        disabled=disabled,
        rng=shared.rng,
    )
    return _job(row), ctx


def _deliver(job: Job, ctx: Context) -> Job:
    """The pipeline; an error nobody foresaw becomes a failed attempt of this row alone."""
    try:
        return run(job, ctx)
    except Exception as error:
        log.exception("delivery stage failed", receiver=job.receiver, webhook_id=job.webhook_id)
        failed = DeliveryError(f"unexpected {type(error).__name__} in delivery")
        return retry(replace(job, attempts=job.attempts + 1, error=failed, reason=str(failed)), ctx)


def _job(row: outbox.Claimed) -> Job:
    return Job(row.id, row.webhook_id, row.receiver, row.fingerprint, row.subject, row.body, row.attempts)  # type: ignore[arg-type]


def _values(job: Job, now: datetime) -> dict[str, object]:
    common = {"attempts": job.attempts, "last_status": job.status}
    if job.outcome == SENT:
        return {**common, "state": outbox.SENT, "sent_at": now, "last_error": None}
    if job.outcome == RETRY:
        return {**common, "state": outbox.QUEUED, "next_attempt_at": job.next_attempt_at, "last_error": job.reason}
    return {**common, "state": job.outcome, "last_error": job.reason}


def _record(shared: PassState, job: Job, token: str, upcoming: str | None) -> tuple[bool, tuple[Job, Context] | None]:
    """Records `job` and, with an `upcoming` token, claims the lane's next row: one
    transaction for both (on SQLite a write transaction is most of a row's cost)."""
    with shared.write() as session:
        ok = record(session, job=job, token=token, now=shared.clock(), note_success=shared.note_success(job))
        return ok, (_claim_in(session, shared, job.receiver, upcoming) if upcoming else None)


def record(session: Session, *, job: Job, token: str, now: datetime, note_success: bool = True) -> bool:
    """Writes one row's outcome if this worker still holds its claim; False (and nothing
    written) when the claim was taken over."""
    if outbox.finish(session, ids=[job.id], token=token, **_values(job, now)) != 1:
        log.warning("claim was taken over: outcome not recorded", receiver=job.receiver, webhook_id=job.webhook_id)
        return False
    if job.outcome == MUTED:
        _forget_muted(session, [job.id])
    if job.error is not None or (job.outcome == SENT and note_success):
        error = job.reason if job.error is not None else None
        in_a_row = receivers.note(session, name=job.receiver, error=error, now=now, disable=job.disable)
        if error is not None:
            _log_failure(job, in_a_row)
    return True


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


def _log_failure(job: Job, in_a_row: int) -> None:
    level = log.error if job.outcome == DEAD else log.warning
    level("delivery failed", receiver=job.receiver, webhook_id=job.webhook_id, error=job.reason,
          attempts=job.attempts, outcome=job.outcome)
    if job.disable:
        log.error("receiver disabled", receiver=job.receiver, reason="answered 410 Gone")
    if in_a_row >= FAILING_AFTER:
        log.error("receiver failing", receiver=job.receiver, failures_in_a_row=in_a_row)

"""The delivery pipeline: small stages with one signature, `stage(job, context) -> job`.

mute -> dedup -> send -> retry, like alertmanager's notify pipeline. A stage that settles a
job sets its `outcome`; later stages leave a settled job alone. Only `send` touches the
network; the other stages read the context, which holds what the database said when the
batch was claimed. `retry` is the one place the retry policy lives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from tracker.delivery.channel import Channel, DeliveryError
from tracker.delivery.formats import utc_text
from tracker.delivery.outbox import DEAD, MUTED, SENT, SUPERSEDED  # outcomes that are also the row's state
from tracker.delivery.schedule import next_attempt

RETRY = "retry"  # the one outcome that leaves the row queued


@dataclass(frozen=True)
class Job:
    """One claimed notification on its way through the stages."""

    id: int
    webhook_id: str
    receiver: str
    fingerprint: str
    subject: str
    body: bytes
    attempts: int  # attempts made before this one
    outcome: str | None = None
    reason: str = ""
    status: int | None = None
    error: DeliveryError | None = None
    next_attempt_at: datetime | None = None
    disable: bool = False  # the receiver said 410 Gone


@dataclass(frozen=True)
class Context:
    now: datetime
    channels: Mapping[str, Channel]
    silenced: Mapping[str, datetime] = field(default_factory=dict)  # subject -> silence end
    latest_sent: Mapping[tuple[str, str], int] = field(default_factory=dict)
    disabled: frozenset[str] = frozenset()
    rng: Callable[[], float] = lambda: 0.5


Stage = Callable[[Job, Context], Job]


def mute(job: Job, ctx: Context) -> Job:
    """A silence set after the notification was queued still holds it back."""
    if job.outcome is None and job.subject in ctx.silenced:
        return replace(job, outcome=MUTED, reason=f"silenced until {utc_text(ctx.silenced[job.subject])}")
    return job


def dedup(job: Job, ctx: Context) -> Job:
    """A notification older than one already delivered to the same receiver about the same
    alert would tell it something out of date (a firing after the resolve): skip it."""
    newest = ctx.latest_sent.get((job.receiver, job.fingerprint))
    if job.outcome is None and newest is not None and newest > job.id:
        return replace(job, outcome=SUPERSEDED, reason="a newer notification was delivered")
    return job


def send(job: Job, ctx: Context) -> Job:
    if job.outcome is not None:
        return job
    channel = ctx.channels.get(job.receiver)
    if channel is None or job.receiver in ctx.disabled:
        why = "receiver is disabled (it answered 410 Gone)" if channel else "receiver is not configured"
        return replace(job, outcome=DEAD, reason=why)
    try:
        status = channel.send(job.webhook_id, job.body, now=ctx.now)
    except DeliveryError as error:
        return replace(job, attempts=job.attempts + 1, error=error, status=error.status, reason=str(error))
    return replace(job, attempts=job.attempts + 1, outcome=SENT, status=status, reason="delivered")


def retry(job: Job, ctx: Context) -> Job:
    """A failed send: dead when permanent or out of attempts, else due again later."""
    if job.outcome is not None or job.error is None:
        return job
    if job.error.permanent:
        return replace(job, outcome=DEAD, disable=job.status == 410)
    when = next_attempt(job.attempts, ctx.now, rng=ctx.rng, retry_after=job.error.retry_after)
    if when is None:
        return replace(job, outcome=DEAD, reason=f"{job.reason} (gave up after {job.attempts} attempts)")
    return replace(job, outcome=RETRY, next_attempt_at=when)


STAGES: tuple[Stage, ...] = (mute, dedup, send, retry)


def run(job: Job, ctx: Context, stages: tuple[Stage, ...] = STAGES) -> Job:
    for stage in stages:
        job = stage(job, ctx)
    return job

"""Commands for alerts: evaluate, deliver, alerts, silence, unsilence."""

from __future__ import annotations

import signal
import threading
from typing import Annotated, Any

import typer

from tracker.store.runtime import Runtime

JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]


def _instant(runtime: Runtime, text: str | None):  # type: ignore[no-untyped-def]
    from tracker.core.periods import parse_instant  # start-up speed

    return parse_instant(text, runtime.catalog.timezone) if text is not None else runtime.now()


def evaluate(
    at: Annotated[str | None, typer.Option("--at", help="ISO 8601 time to evaluate as of (default: now)")] = None,
) -> None:
    """One evaluation cycle: update alert states and queue notifications, as the daemon does."""
    from tracker.alerting.cycle import evaluate_cycle  # start-up speed
    from tracker.service import logs  # start-up speed

    runtime = Runtime.from_env()
    logs.setup(runtime)  # to stderr, secrets masked: stdout keeps the answer
    now = _instant(runtime, at)
    result = evaluate_cycle(runtime, now=now)
    muted = result.suppressed.get("silenced", 0)
    print(
        f"evaluated {len(result.evaluations)} goals as of {now.isoformat()}: {result.firing} firing, "
        f"{result.pending} pending, {result.resolved} resolved; queued {result.queued} notifications"
        + (f" ({muted} silenced)" if muted else "")
    )


def deliver(
    replay_dead: Annotated[bool, typer.Option("--replay-dead", help="queue dead notifications again first")] = False,
) -> None:
    """One delivery pass over the queued notifications that are due."""
    from tracker.delivery import deliver_pass, outbox  # start-up speed
    from tracker.service import logs  # start-up speed
    from tracker.store import db  # start-up speed

    runtime = Runtime.from_env()
    logs.setup(runtime)  # to stderr, secrets masked: stdout keeps the answer
    now = runtime.now()
    if replay_dead:
        with db.session(runtime.engine, write=True) as session:
            print(f"requeued {outbox.replay_dead(session, now=now)} dead notifications")
    stop = threading.Event()
    # SIGTERM: stop claiming, let requests in flight finish (bounded by drain_seconds), exit 0
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    result = deliver_pass(runtime, now=now, stop=stop)
    for name, counts in sorted(result.receivers.items()):
        print(
            f"{name}: {counts.sent} sent, {counts.failed} failed (will retry), {counts.dead} dead, "
            f"{counts.muted} muted, {counts.superseded} superseded"
        )
    with db.session(runtime.engine) as session:
        print(f"{outbox.depth(session)} notifications still queued")


def alerts(as_json: JsonFlag = False) -> None:
    """List alerts that are pending or firing, with since when, and failing receivers."""
    from tracker.cli.output import print_json  # start-up speed
    from tracker.store import db  # start-up speed
    from tracker.views.alert_view import alert_items, receiver_items, render_text  # start-up speed

    runtime = Runtime.from_env()
    with db.session(runtime.engine) as session:
        report: dict[str, Any] = {
            "alerts": alert_items(session, now=runtime.now()),
            "receivers": receiver_items(session),
        }
    if as_json:
        print_json(report)
    else:
        render_text(report)


def silence(
    goal: Annotated[str, typer.Argument(help="goal id from the catalog")],
    until: Annotated[str, typer.Option("--until", help="ISO 8601 time the silence ends")],
    comment: Annotated[str | None, typer.Option("--comment", help="why, for whoever reads it later")] = None,
) -> None:
    """Mute a goal's notifications until a time."""
    from tracker.store import db, silences  # start-up speed

    runtime = Runtime.from_env()
    ends = _instant(runtime, until)
    with db.session(runtime.engine, write=True) as session:
        made = silences.set_silence(
            session, catalog=runtime.catalog, goal=goal, until=ends, comment=comment, now=runtime.now()
        )
    print(f"silenced {goal} until {made.ends_at.isoformat()}")


def unsilence(goal: Annotated[str, typer.Argument(help="goal id from the catalog")]) -> None:
    """End a goal's silence."""
    from tracker.store import db, silences  # start-up speed

    runtime = Runtime.from_env()
    with db.session(runtime.engine, write=True) as session:
        removed = silences.remove_silence(session, catalog=runtime.catalog, goal=goal)
    print(f"unsilenced {goal}" if removed else f"{goal} was not silenced")

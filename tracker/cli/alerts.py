"""Commands for alerts: evaluate, deliver, alerts, silence, silences, unsilence."""

from __future__ import annotations

import signal
import sys
import threading
from functools import partial
from typing import Annotated, Any

import typer

from tracker.store.runtime import Runtime

JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]
Verbose = Annotated[
    int, typer.Option("--verbose", "-v", count=True, help="log each step (-v info, -vv debug); default: warnings")
]


def _instant(runtime: Runtime, text: str | None):  # type: ignore[no-untyped-def]
    from tracker.core.periods import parse_instant  # start-up speed

    return parse_instant(text, runtime.catalog.timezone) if text is not None else runtime.now()


def evaluate(
    at: Annotated[str | None, typer.Option("--at", help="ISO 8601 time to evaluate as of (default: now)")] = None,
    known_at: Annotated[
        str | None, typer.Option("--known-at", help="judge with only what was known at this time")
    ] = None,
    verbose: Verbose = 0,
) -> None:
    """One evaluation cycle: update alert states and queue notifications, as the daemon does."""
    from tracker.alerting.cycle import evaluate_cycle  # start-up speed
    from tracker.service import logs  # start-up speed
    from tracker.store.judging import evaluate_from_db  # start-up speed

    runtime = Runtime.from_env()
    logs.setup(runtime, command=True, verbose=verbose)  # to stderr, secrets masked
    known = _instant(runtime, known_at) if known_at else None
    now = _instant(runtime, at) if at or not known else known
    result = evaluate_cycle(runtime, now=now, judge=partial(evaluate_from_db, known_at=known) if known else None)
    muted = ", ".join(f"{n} {why}" for why, n in sorted(result.suppressed.items()))
    zone = runtime.catalog.timezone
    _say(
        f"evaluated {len(result.evaluations)} goals as of {_kept(_when(now, zone))}: {result.firing} firing, "
        f"{result.pending} pending, {result.resolved} resolved; queued {result.queued} notifications"
        + (f" ({muted})" if muted else "") + _waiting(result.waiting, result.next_due, zone)
    )


def _say(text: str) -> None:
    """One answer: wrapped at words on a terminal, one line for a script."""
    import sys  # start-up speed

    from tracker.cli.tables import terminal_width  # start-up speed

    print(_fill(text, terminal_width(), indent="  ") if sys.stdout.isatty() else text.replace(_KEEP, " "))


def _when(moment, zone) -> str:  # type: ignore[no-untyped-def]
    from tracker.core.instants import format_instant  # start-up speed

    return format_instant(moment, zone)


def _waiting(groups: int, due, zone) -> str:  # type: ignore[no-untyped-def]
    if not groups:
        return ""
    return f"; {groups} group{'s' * (groups != 1)} waiting (the first due {_kept(_when(due, zone))}: 'tracker deliver' then)"


def deliver(
    replay_dead: Annotated[bool, typer.Option("--replay-dead", help="queue dead notifications again first")] = False,
    verbose: Verbose = 0,
) -> None:
    """One delivery pass over the queued notifications that are due."""
    from tracker.alerting.dispatch import dispatch_pass  # start-up speed
    from tracker.delivery import deliver_pass, outbox  # start-up speed
    from tracker.service import logs  # start-up speed
    from tracker.store import db  # start-up speed

    runtime = Runtime.from_env()
    logs.setup(runtime, command=True, verbose=verbose)  # to stderr, secrets masked
    now = runtime.now()
    if replay_dead:
        with db.session(runtime.engine, write=True) as session:
            print(f"requeued {outbox.replay_dead(session, now=now)} dead notifications")
    dispatched = dispatch_pass(runtime, now=now)
    if dispatched.queued or dispatched.waiting:
        _say(f"queued {dispatched.queued} group notifications"
             + _waiting(dispatched.waiting, dispatched.next_due, runtime.catalog.timezone))
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
    problems = result.problems()
    for name, problem in problems.items():
        print(f"deliver: receiver {name}: {problem}", file=sys.stderr)
    if problems:
        raise typer.Exit(1)


def alerts(as_json: JsonFlag = False) -> None:
    """List alerts that are pending or firing, with since when, and failing receivers."""
    from tracker.cli.output import print_json  # start-up speed
    from tracker.store import db  # start-up speed
    from tracker.views.alert_view import alert_items, receiver_items  # start-up speed

    runtime = Runtime.from_env()
    with db.session(runtime.engine) as session:
        report: dict[str, Any] = {
            "alerts": alert_items(session, now=runtime.now(), catalog=runtime.catalog),
            "receivers": receiver_items(session),
        }
    if as_json:
        print_json(report)
    else:
        _print_alerts(report, runtime.catalog.timezone)


def _print_alerts(report: dict[str, Any], zone) -> None:  # type: ignore[no-untyped-def]
    """Two lines an alert: state, severity, rule, subject and since when; then its summary,
    wrapped at words to the terminal's width under an indent (goal ids never split)."""
    from tracker.cli.tables import terminal_width  # start-up speed

    width = terminal_width()
    alerts, receivers = report["alerts"], report["receivers"]
    if not alerts:
        print("no alerts pending or firing")
    for item in alerts:
        muted = f" ({item['muted']})" if item["muted"] else ""
        since = _kept(_when(item["since"], zone)) if item["since"] else "?"
        print(_fill(f"{item['state']:8} {item['severity']:8} {item['rule']} {item['subject']} since {since}{muted}",
                    width, indent=" " * 9))
        print(_fill(item["summary"], width, indent=" " * 9, first=" " * 9))
    for item in receivers:
        status = "DISABLED: " + item["disabled"] if item["disabled"] else (
            f"FAILING ({item['failures_in_a_row']} in a row: {item['last_error']})" if item["failing"] else "ok"
        )
        print(_fill(f"receiver {item['receiver']}: {status}; {item['queued']} queued, {item['dead']} dead",
                    width, indent=" " * 9))


def _fill(text: str, width: int, *, indent: str, first: str = "") -> str:
    import textwrap  # start-up speed

    # Hyphens are not break points: goal ids and dates are hyphenated and must stay whole.
    return textwrap.fill(text, width=width, initial_indent=first, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False).replace(_KEEP, " ")


_KEEP = "\xa0"  # a space textwrap does not break at: an instant's date and time stay together


def _kept(text: str) -> str:
    return text.replace(" ", _KEEP)


def silence(
    goal: Annotated[str | None, typer.Argument(help="goal id from the catalog (or use --match)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO 8601 time the silence ends")] = None,
    match: Annotated[list[str] | None, typer.Option("--match", help='matcher such as business="ev" (repeatable)')] = None,
    comment: Annotated[str | None, typer.Option("--comment", help="why, for whoever reads it later")] = None,
    author: Annotated[str | None, typer.Option("--author", help="who (default: the login name)")] = None,
) -> None:
    """Mute a goal's notifications, or those of every alert matching --match, until a time."""
    from tracker.core.errors import BadInput  # start-up speed
    from tracker.store import db, silences  # start-up speed

    if until is None:
        raise BadInput("Missing option '--until' (see 'tracker silence --help')")
    if (goal is None) == (not match):
        raise BadInput("give a GOAL or --match matchers, not both and not neither (see 'tracker silence --help')")
    runtime = Runtime.from_env()
    matchers = silences.parse_matchers(match or [])
    ends, now, who = _instant(runtime, until), runtime.now(), author or _login()
    with db.session(runtime.engine, write=True) as session:
        if goal is not None:
            made = silences.set_silence(session, catalog=runtime.catalog, goal=goal, until=ends, comment=comment,
                                        now=now, author=who)
        else:
            made = silences.add_silence(session, matchers=matchers, until=ends, comment=comment, author=who, now=now)
    if goal is not None:
        print(f"silenced {goal} until {_when(made.ends_at, runtime.catalog.timezone)}")
    else:
        print(f"silence {made.id}: {', '.join(made.matchers)} until {_when(made.ends_at, runtime.catalog.timezone)}")


def _login() -> str:
    import getpass  # start-up speed

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return ""


def silences(as_json: JsonFlag = False) -> None:
    """List silences, active and expired, with who made them, why and until when."""
    from tracker.cli.output import print_json  # start-up speed
    from tracker.store import db  # start-up speed
    from tracker.views.alert_view import silence_items  # start-up speed

    runtime = Runtime.from_env()
    with db.session(runtime.engine) as session:
        items = silence_items(session, now=runtime.now())
    if as_json:
        print_json(items)
        return
    if not items:
        print("no silences")
    for item in items:
        who = f" by {item['created_by']}" if item["created_by"] else ""
        why = f": {item['comment']}" if item["comment"] else ""
        print(f"{item['id']} {item['state']:7} until {_when(item['ends_at'], runtime.catalog.timezone)}{who}{why}")
        print(f"         {', '.join(item['matchers'])}")


def unsilence(target: Annotated[str, typer.Argument(metavar="GOAL|ID", help="goal id, or a silence's id")]) -> None:
    """End a goal's silence, or a silence by its id."""
    from tracker.store import db, silences  # start-up speed

    runtime = Runtime.from_env()
    now = runtime.now()
    with db.session(runtime.engine, write=True) as session:
        if _is_goal(runtime, target):
            removed = silences.remove_silence(session, catalog=runtime.catalog, goal=target, now=now)
            print(f"unsilenced {target}" if removed else f"{target} was not silenced")
            return
        ended = silences.expire(session, silence_id=target, now=now)
    print(f"silence {ended.id} ended at {_when(ended.ends_at, runtime.catalog.timezone)}")


def _is_goal(runtime: Runtime, name: str) -> bool:
    return any(goal.id == name for goal in runtime.catalog.goals)

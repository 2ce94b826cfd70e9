"""Alerts and receiver health as `tracker alerts` shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from tracker.alerting.cycle import open_alerts
from tracker.delivery import outbox
from tracker.delivery.worker import FAILING_AFTER
from tracker.store import silences
from tracker.store.alert_tables import ReceiverState


def alert_items(db: Session, *, now: datetime) -> list[dict[str, Any]]:
    muted = silences.active(db, now=now)
    return [
        {
            "fingerprint": row.fingerprint,
            "subject": row.subject,
            "rule": row.rule,
            "severity": row.severity,
            "state": row.state,
            "since": row.starts_at if row.state == "firing" else row.active_since,
            "summary": row.summary,
            "labels": row.labels,
            "last_notified_at": row.last_notified_at,
            "last_notify_reason": row.last_notify_reason,
            "silenced_until": muted.get(row.subject),
        }
        for row in open_alerts(db)
    ]


def receiver_items(db: Session) -> list[dict[str, Any]]:
    """Receivers with queued, dead or failing deliveries (healthy idle ones are left out)."""
    counts = outbox.counts_by_receiver(db)
    states = {s.name: s for s in db.execute(select(ReceiverState)).scalars()}
    items = []
    for name in sorted(counts.keys() | states.keys()):
        state, by_state = states.get(name), counts.get(name, {})
        failures = state.consecutive_failures if state else 0
        item = {
            "receiver": name,
            "queued": by_state.get(outbox.QUEUED, 0),
            "dead": by_state.get(outbox.DEAD, 0),
            "sent": by_state.get(outbox.SENT, 0),
            "failures_in_a_row": failures,
            "failing": failures >= FAILING_AFTER or bool(state and state.disabled_at),
            "last_error": state.last_error if state and failures else None,
            "disabled": state.disabled_reason if state and state.disabled_at else None,
        }
        if item["failing"] or item["queued"] or item["dead"]:
            items.append(item)
    return items


def render_text(report: dict[str, Any]) -> None:
    alerts, receivers = report["alerts"], report["receivers"]
    if not alerts:
        print("no alerts pending or firing")
    for item in alerts:
        muted = f" (silenced until {item['silenced_until']:%Y-%m-%d %H:%M} UTC)" if item["silenced_until"] else ""
        since = f"{item['since']:%Y-%m-%d %H:%M} UTC" if item["since"] else "?"
        print(f"{item['state']:8} {item['severity']:8} {item['rule']} {item['subject']} since {since}{muted}")
        print(f"         {item['summary']}")
    for item in receivers:
        status = "DISABLED: " + item["disabled"] if item["disabled"] else (
            f"FAILING ({item['failures_in_a_row']} in a row: {item['last_error']})" if item["failing"] else "ok"
        )
        print(f"receiver {item['receiver']}: {status}; {item['queued']} queued, {item['dead']} dead")
